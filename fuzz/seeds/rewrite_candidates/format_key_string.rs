ÿuse std::collections::HashMap;

pub fn known(m: &HashMap<String, u32>, key: String) -> bool {
    m.contains_key(&key.to_string())
}

pub fn run() -> String {
    let m: HashMap<String, u32> = [("a".to_string(), 7)].into_iter().collect();
    format!("{} {}", known(&m, "a".into()), known(&m, "b".into()))
}
