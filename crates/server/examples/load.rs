//! Load generator for the webhook endpoint: sends signed `check_run` deliveries (failing
//! `gate:perf` runs, each for a new head SHA, so each stores a delivery and queues a job) to a
//! perf-fixer server on the loopback interface, and prints throughput and latency percentiles.
//!
//! ```text
//! cargo run --release -p perf-fixer-server --example load -- \
//!     --url http://127.0.0.1:8080/webhooks/github --secret SECRET --count 20000 --concurrency 32
//! ```
//!
//! Bounded: at most `--count` requests and `--max-seconds` of wall time; loopback URLs only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use perf_fixer_github::webhook::sign;

struct Args {
    url: String,
    secret: String,
    count: usize,
    concurrency: usize,
    max_seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: "http://127.0.0.1:8080/webhooks/github".to_owned(),
        secret: std::env::var("GITHUB_WEBHOOK_SECRET").unwrap_or_default(),
        count: 20_000,
        concurrency: 32,
        max_seconds: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => args.url = value,
            "--secret" => args.secret = value,
            "--count" => args.count = value.parse().map_err(|_| "--count: a number")?,
            "--concurrency" => {
                args.concurrency = value.parse().map_err(|_| "--concurrency: a number")?
            }
            "--max-seconds" => {
                args.max_seconds = value.parse().map_err(|_| "--max-seconds: a number")?
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let host_ok = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|p| args.url.starts_with(p));
    if !host_ok {
        return Err("--url must be a loopback http URL (127.0.0.1, localhost, [::1])".to_owned());
    }
    if args.secret.is_empty() {
        return Err("give --secret (or GITHUB_WEBHOOK_SECRET)".to_owned());
    }
    args.count = args.count.min(1_000_000);
    args.concurrency = args.concurrency.clamp(1, 512);
    Ok(args)
}

fn payload(run: &str, i: usize) -> Vec<u8> {
    let sha = format!(
        "{:040x}",
        (u128::from(std::process::id()) << 64) | i as u128
    );
    serde_json::to_vec(&serde_json::json!({
        "action": "completed",
        "installation": {"id": 77},
        "repository": {"id": 101, "name": "speedy", "full_name": "load/speedy",
                       "owner": {"login": "load"}, "default_branch": "main",
                       "clone_url": "https://github.com/load/speedy.git", "private": false},
        "check_run": {"id": i, "name": "gate:perf", "status": "completed", "conclusion": "failure",
                      "head_sha": sha, "check_suite": {"head_branch": format!("load-{run}-{i}")},
                      "app": {"id": 15368}, "pull_requests": []}
    }))
    .unwrap()
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();
    let run = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let args = Arc::new(args);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, next, args, run) = (
            client.clone(),
            Arc::clone(&next),
            Arc::clone(&args),
            run.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.count || Instant::now() > deadline {
                    break;
                }
                let body = payload(&run, i);
                let signature = sign(&args.secret, &body);
                let t = Instant::now();
                let response = client
                    .post(&args.url)
                    .header("content-type", "application/json")
                    .header("x-github-event", "check_run")
                    .header("x-github-delivery", format!("load-{run}-{i}"))
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await;
                let ok = match response {
                    Ok(r) => {
                        let ok = r.status().as_u16() == 202;
                        let _ = r.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                latencies.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{} deliveries in {:.2}s: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, non-202 {}",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        errors
    );
}
