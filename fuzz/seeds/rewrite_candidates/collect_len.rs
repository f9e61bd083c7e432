ÿpub fn count_long(words: &[&str]) -> usize {
    words.iter().filter(|w| w.len() > 3).collect::<Vec<_>>().len()
}

pub fn run() -> String {
    count_long(&["a", "abcd", "hello"]).to_string()
}
