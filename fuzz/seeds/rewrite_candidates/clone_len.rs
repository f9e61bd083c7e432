ÿpub struct Doc {
    pub words: Vec<String>,
}

pub fn long_enough(d: &Doc) -> bool {
    d.words.clone().len() > 2
}

pub fn run() -> String {
    let d = Doc { words: vec!["a".into(), "b".into(), "c".into()] };
    long_enough(&d).to_string()
}
