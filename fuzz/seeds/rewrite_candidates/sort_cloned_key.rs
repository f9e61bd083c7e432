ÿ#[derive(Debug)]
pub struct User {
    pub name: String,
    pub id: u32,
}

pub fn order(users: &mut Vec<User>) {
    users.sort_by_key(|u| u.name.clone());
}

pub fn run() -> String {
    let mut u = vec![
        User { name: "b".into(), id: 1 },
        User { name: "a".into(), id: 2 },
        User { name: "b".into(), id: 0 },
    ];
    order(&mut u);
    format!("{u:?}")
}
