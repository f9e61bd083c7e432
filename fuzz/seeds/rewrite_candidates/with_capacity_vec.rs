ÿpub fn squares(xs: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for x in xs.iter() {
        out.push(x * x);
    }
    out
}

pub fn run() -> String {
    format!("{:?}", squares(&[1, 2, 3]))
}
