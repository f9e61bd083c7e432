ÿpub fn total(v: &mut Vec<u64>) -> u64 {
    let mut sum = 0;
    for x in v.clone().iter() {
        sum += x + v.len() as u64;
    }
    v.push(sum);
    sum
}

pub fn run() -> String {
    let mut v = vec![1, 2, 3];
    let t = total(&mut v);
    format!("{t} {v:?}")
}
