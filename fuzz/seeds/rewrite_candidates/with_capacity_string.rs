ˇpub fn upper(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        out.push(c.to_ascii_uppercase());
    }
    out
}

pub fn run() -> String {
    upper("h√©llo")
}
