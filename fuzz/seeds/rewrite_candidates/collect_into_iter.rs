ÿpub fn sum_sq(xs: &[u64]) -> u64 {
    let s: u64 = xs.iter().map(|x| x * x).collect::<Vec<u64>>().into_iter().sum();
    s
}

pub fn run() -> String {
    sum_sq(&[1, 2, 3]).to_string()
}
