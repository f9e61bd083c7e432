ÿpub fn has_dup(xs: &[u32]) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    for x in xs {
        if !seen.insert(*x) {
            return true;
        }
    }
    false
}

pub fn run() -> String {
    format!("{} {}", has_dup(&[1, 2, 1]), has_dup(&[1, 2]))
}
