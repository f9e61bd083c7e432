ÿuse regex::Regex;

pub fn count_words(text: &str) -> usize {
    text.split(' ')
        .filter(|w| Regex::new(r"^[a-z]+$").unwrap().is_match(w))
        .count()
}

pub fn run() -> String {
    count_words("abc de F1 gh").to_string()
}
