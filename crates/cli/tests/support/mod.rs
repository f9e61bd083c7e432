//! Test support: real cargo crates with benchmarks, in temp git repositories, and a way to run
//! the `perf-fixer` binary against them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A git repository in a temp dir, driven through the `git` command line as a user would.
pub struct FixtureRepo {
    pub dir: tempfile::TempDir,
}

impl FixtureRepo {
    pub fn new() -> FixtureRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = FixtureRepo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.email", "dev@example.com"]);
        repo.git(&["config", "user.name", "Dev"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).unwrap()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Commits everything and returns the new commit's SHA.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// Runs the `perf-fixer` binary built for this test run.
pub fn perf_fixer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perf-fixer"))
        .args(args)
        .env("PERF_FIXER_LOG", "warn")
        .output()
        .unwrap()
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn temp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A crate whose `harness = false` bench times a workload itself and writes the
/// github-action-benchmark JSON format. `rounds` scales the work of `sum_squares`.
pub fn json_bench_crate(repo: &FixtureRepo, rounds: u64, comment: &str) {
    repo.write(
        "Cargo.toml",
        r#"[package]
name = "fixture_json"
version = "0.1.0"
edition = "2021"

[[bench]]
name = "speed"
harness = false

[profile.bench]
debug = false
"#,
    );
    repo.write(
        ".perf-fixer.toml",
        r#"[bench]
command = "cargo bench --bench speed"
format = "json"
output = "target/bench.json"

[test]
command = "cargo test --release"

[gate]
threshold_pct = 5
"#,
    );
    repo.write(
        "src/lib.rs",
        &format!(
            r#"//! A small library with one hot function.
// {comment}

/// Sums squares of a pseudo-random sequence, {rounds} rounds over the input.
pub fn sum_squares(input: &[u64]) -> u64 {{
    let mut acc = 0u64;
    for _ in 0..{rounds} {{
        for &x in input {{
            acc = acc.wrapping_add(x.wrapping_mul(x) ^ (acc >> 7));
        }}
    }}
    acc
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn deterministic() {{
        assert_eq!(super::sum_squares(&[1, 2, 3]), super::sum_squares(&[1, 2, 3]));
    }}
}}
"#
        ),
    );
    repo.write(
        "benches/speed.rs",
        r#"use std::hint::black_box;
use std::time::Instant;

fn main() {
    let input: Vec<u64> = (0..20_000u64).map(|i| i.wrapping_mul(2654435761) % 1000).collect();
    let mut times = Vec::new();
    for _ in 0..31 {
        let start = Instant::now();
        black_box(fixture_json::sum_squares(black_box(&input)));
        times.push(start.elapsed().as_nanos() as f64);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    let json = format!(
        "[{{\"name\": \"sum_squares\", \"unit\": \"ns/iter\", \"value\": {median}, \"range\": \"± 0\"}}]"
    );
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    std::fs::write(format!("{target}/bench.json"), json).unwrap();
}
"#,
    );
    repo.write(".gitignore", "/target\n");
}

/// A crate benchmarked with criterion (default features off to keep the build small).
/// `rounds` scales the work of the benchmarked function.
pub fn criterion_bench_crate(repo: &FixtureRepo, rounds: u64) {
    repo.write(
        "Cargo.toml",
        r#"[package]
name = "fixture_criterion"
version = "0.1.0"
edition = "2021"

[dev-dependencies]
criterion = { version = "0.5", default-features = false }

[[bench]]
name = "speed"
harness = false
"#,
    );
    repo.write(
        ".perf-fixer.toml",
        r#"[bench]
command = "cargo bench --bench speed -- --warm-up-time 0.2 --measurement-time 0.6 --sample-size 10 --nresamples 1000 --noplot"
format = "criterion"
output = "target/criterion"
"#,
    );
    repo.write(
        "src/lib.rs",
        &format!(
            r#"pub fn checksum(data: &[u8]) -> u32 {{
    let mut h = 0u32;
    for _ in 0..{rounds} {{
        for &b in data {{
            h = h.rotate_left(5) ^ u32::from(b);
        }}
    }}
    h
}}
"#
        ),
    );
    repo.write(
        "benches/speed.rs",
        r#"use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let data: Vec<u8> = (0..4096u32).map(|i| (i * 31) as u8).collect();
    c.bench_function("checksum", |b| b.iter(|| fixture_criterion::checksum(black_box(&data))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
"#,
    );
    repo.write(".gitignore", "/target\n");
}
pub mod fixtures;
