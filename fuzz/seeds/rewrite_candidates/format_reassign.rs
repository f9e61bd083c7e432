ÿpub fn join(parts: &[u32]) -> String {
    let mut s = String::new();
    for p in parts {
        s = format!("{}{}-", s, p);
    }
    s
}

pub fn run() -> String {
    join(&[1, 22, 333])
}
