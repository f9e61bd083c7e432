ÿpub fn evens(xs: &[i64]) -> i64 {
    let mut acc = 0;
    for x in xs.iter().filter(|x| *x % 2 == 0).collect::<Vec<_>>() {
        acc += x * xs.len() as i64;
    }
    acc
}

pub fn run() -> String {
    evens(&[1, 2, 3, 4]).to_string()
}
