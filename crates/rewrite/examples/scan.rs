//! Preview the catalogue on files: `cargo run -p perf-fixer-rewrite --example scan -- FILE...`
//! prints every candidate over whole files as a small -/+ diff.

fn main() {
    for path in std::env::args().skip(1) {
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        let all = perf_fixer_rewrite::Span::new(1, u32::MAX);
        match perf_fixer_rewrite::candidates(&src, &[all]) {
            Ok(found) => {
                for r in found {
                    let old: Vec<&str> = src.lines().collect();
                    let new: Vec<&str> = r.new_source.lines().collect();
                    let s = r.start_line as usize - 1;
                    let tail = old.len() - r.end_line as usize;
                    println!("== {path}:{} {} {:?}", r.start_line, r.rule, r.risk);
                    for l in &old[s..old.len() - tail] {
                        println!("-{l}");
                    }
                    for l in &new[s..new.len() - tail] {
                        println!("+{l}");
                    }
                }
            }
            Err(e) => println!("!! {path}: {e}"),
        }
    }
}
