//! The per-delivery work done before a webhook is stored: signature check and event parsing,
//! on GitHub's real example payloads; and the command parser on a typical comment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use perf_fixer_github::webhook::sign;
use perf_fixer_github::{WebhookSecrets, parse_commands, parse_event, verify_signature};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/payloads")
        .join(name);
    std::fs::read(path).unwrap()
}

fn deliveries(c: &mut Criterion) {
    // Two secrets, signed with the second: the worst case during a rotation.
    let secrets = WebhookSecrets::parse("old-secret-0123456789,new-secret-0123456789").unwrap();
    for (event, file) in [
        ("check_run", "check_run.completed.json"),
        (
            "issue_comment",
            "issue_comment.created.with-installation.json",
        ),
        ("pull_request", "pull_request.synchronize.json"),
    ] {
        let body = fixture(file);
        let signature = sign("new-secret-0123456789", &body);
        let mut group = c.benchmark_group(format!("delivery/{event}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("verify_signature", |b| {
            b.iter(|| verify_signature(&secrets, Some(black_box(&signature)), black_box(&body)))
        });
        group.bench_function("parse_event", |b| {
            b.iter(|| parse_event(black_box(event), black_box(&body)).unwrap())
        });
        group.bench_function("verify_and_parse", |b| {
            b.iter(|| {
                verify_signature(&secrets, Some(black_box(&signature)), black_box(&body)).unwrap();
                parse_event(black_box(event), black_box(&body)).unwrap()
            })
        });
        group.finish();
    }
}

fn commands(c: &mut Criterion) {
    let body = "Thanks! The gate failed on `parse_large`, see below.\n\n\
                > /perf-fix was suggested earlier\n\n\
                ```text\n/perf-fix bench=old\n```\n\n\
                /perf-fix bench=parse_large\n\n<!-- /perf-fix -->\n";
    c.bench_function("parse_commands/typical_comment", |b| {
        b.iter(|| parse_commands(black_box(body)))
    });
}

criterion_group!(benches, deliveries, commands);
criterion_main!(benches);
