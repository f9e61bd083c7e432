ÿpub fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort();
    v
}

pub fn run() -> String {
    format!("{:?}", sorted(vec![3, 1, 2, 1]))
}
