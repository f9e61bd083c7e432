ÿpub fn digits(s: &str) -> Result<usize, regex::Error> {
    let re = regex::Regex::new(r"\d")?;
    Ok(re.find_iter(s).count())
}

pub fn run() -> String {
    format!("{:?}", digits("a1b22"))
}
