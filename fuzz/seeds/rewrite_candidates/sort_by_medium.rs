ÿpub fn by_len(words: &mut [String]) {
    words.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
}

pub fn run() -> String {
    let mut w = vec!["ccc".to_string(), "a".into(), "bb".into(), "b".into()];
    by_len(&mut w);
    format!("{w:?}")
}
