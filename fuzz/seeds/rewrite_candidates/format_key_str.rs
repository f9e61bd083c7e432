ÿuse std::collections::HashMap;

pub fn lookup(m: &HashMap<String, u32>, name: &str) -> u32 {
    *m.get(&format!("{}", name)).unwrap_or(&0)
}

pub fn run() -> String {
    let m: HashMap<String, u32> = [("a".to_string(), 7)].into_iter().collect();
    format!("{} {}", lookup(&m, "a"), lookup(&m, "b"))
}
