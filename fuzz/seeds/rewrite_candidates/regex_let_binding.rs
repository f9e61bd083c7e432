ÿpub struct Parser;

impl Parser {
    pub fn first_number(&self, line: &str) -> Option<u32> {
        let re = regex::Regex::new(r"\d+").expect("valid pattern");
        re.find(line).and_then(|m| m.as_str().parse().ok())
    }
}

pub fn run() -> String {
    format!("{:?}", Parser.first_number("ab 42 c7"))
}
