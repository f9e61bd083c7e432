//! How long the catalogue takes on a large file: once with every function suspect, once
//! with a single suspect function (the usual case).

use criterion::{Criterion, criterion_group, criterion_main};
use perf_fixer_rewrite::{Span, candidates};

/// A ~4,000-line file of 200 functions, each with several catalogue patterns.
fn big_file() -> String {
    let mut src = String::from("use regex::Regex;\nuse std::collections::BTreeMap;\n\n");
    for i in 0..200 {
        src.push_str(&format!(
            r#"pub fn work_{i}(words: &[String], mut ids: Vec<u32>, name: &str) -> usize {{
    let re = Regex::new(r"^a+$").unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for w in words.iter() {{
        out.push(w.len());
    }}
    for w in words.clone().iter() {{
        if re.is_match(w) {{
            *counts.entry(w.clone()).or_insert(0) += 1;
        }}
    }}
    ids.sort();
    let mut s = String::new();
    for id in &ids {{
        s.push_str(&format!("{{id}},"));
    }}
    let n = words.iter().filter(|w| w.len() > 2).collect::<Vec<_>>().len();
    n + out.len() + s.len() + counts.get(&format!("{{}}", name)).copied().unwrap_or(0)
}}

"#
        ));
    }
    src
}

fn bench(c: &mut Criterion) {
    let src = big_file();
    let lines = u32::try_from(src.lines().count()).unwrap_or(u32::MAX);
    c.bench_function("candidates/4k-lines/all-suspect", |b| {
        b.iter(|| candidates(&src, &[Span::new(1, lines)]))
    });
    // work_100 starts at line 3 + 100 * 22.
    let start = 3 + 100 * 22;
    c.bench_function("candidates/4k-lines/one-suspect", |b| {
        b.iter(|| candidates(&src, &[Span::new(start, start + 20)]))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
