ÿpub fn common(a: &[u32], b: Vec<u32>) -> usize {
    let mut n = 0;
    for x in a {
        if b.contains(x) && !b.contains(&(x + 100)) {
            n += 1;
        }
    }
    n
}

pub fn run() -> String {
    common(&[1, 2, 3, 4], vec![2, 4, 104, 9]).to_string()
}
