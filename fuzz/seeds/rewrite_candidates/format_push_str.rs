ÿpub fn csv(rows: &[(u32, f64)]) -> String {
    let mut out = String::new();
    for (id, v) in rows {
        out.push_str(&format!("{id},{:.2}\n", v));
    }
    out
}

pub fn run() -> String {
    csv(&[(1, 0.5), (2, 1.25)])
}
