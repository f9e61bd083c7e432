//! The job page as a person sees it: the real router on loopback over a real database, a
//! finished job whose result is a full report (before/after table, culprit, patches, flame
//! graph stacks from the bench crate's real perf profiles), opened in headless Chromium.
//!
//! Chromium is required (CI installs it through `scripts/setup`): without it this test fails
//! and says how to install it, rather than passing without looking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use perf_fixer_core::report::{
    AfterSummary, BenchVerdict, BenchmarkReport, Culprit, FixReport, Hunk, PatchReport, Report,
    RevInfo, Risk, SideSummary, Verdict,
};
use perf_fixer_store::{JobTrigger, NewJob, PgPool, Store};
use serde_json::json;

/// Longest a Chromium run may take before the test gives up on it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);
const MALICIOUS: &str = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>";

#[sqlx::test(migrations = "../../migrations")]
async fn job_page_renders_in_headless_chromium(pool: PgPool) {
    let chromium = chromium();
    let store = Store::new(pool.clone());
    let job_id = finished_job(&store).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = perf_fixer_server::router(support::state(pool, None));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/jobs/{job_id}");
    let dir = tempfile::tempdir().unwrap();

    // The DOM after Chromium parsed the page.
    let dom = run_chromium(&chromium, dir.path(), "dom", &["--dump-dom", &url]).await;
    assert!(
        dom.contains(&format!("Job #{job_id}")),
        "not the job page:\n{dom}"
    );
    let table = between(&dom, "<table id=\"before-after\">", "</table>");
    for cell in [
        "wordstats/count",
        "1.52 ms/iter",
        "2.28 ms/iter",
        "+49.9%",
        "1.54 ms/iter",
        "regressed",
    ] {
        assert!(
            table.contains(cell),
            "{cell} missing from the table: {table}"
        );
    }
    let flame = between(&dom, "<div class=\"flame\" id=\"flame-graph\">", "</div>");
    assert!(
        flame.contains("<svg"),
        "no SVG in the flame graph:\n{flame}"
    );
    assert!(
        flame.contains("<title>prof::tally ("),
        "the culprit's hot function is not in the flame graph"
    );
    assert!(
        dom.contains("id=\"sandbox-warning\""),
        "no sandbox warning:\n{dom}"
    );
    // Names from the repository stay text: no element was injected.
    assert!(!dom.contains("<script"), "a script element got in:\n{dom}");
    assert!(!dom.contains("<img"), "an img element got in");
    assert!(dom.contains("&lt;script&gt;document.title"), "{dom}");
    assert!(dom.contains("revert_hunks") && dom.contains("Low"), "{dom}");

    // What it looks like: a full-size screenshot with far more in it than a blank page.
    let shot = dir.path().join("job.png");
    let blank = dir.path().join("blank.png");
    for (file, target) in [
        (&shot, url.as_str()),
        (&blank, "data:text/html,<body></body>"),
    ] {
        run_chromium(
            &chromium,
            dir.path(),
            "screenshot",
            &[
                &format!("--screenshot={}", file.display()),
                "--window-size=1280,2000",
                target,
            ],
        )
        .await;
    }
    // To look at it: JOB_PAGE_SCREENSHOT=/tmp/job.png cargo test ... --test job_page_browser
    if let Some(keep) = std::env::var_os("JOB_PAGE_SCREENSHOT") {
        std::fs::copy(&shot, &keep).unwrap();
    }
    let page = png_facts(&shot);
    let empty = png_facts(&blank);
    assert_eq!((page.width, page.height), (1280, 2000));
    assert!(
        page.image_data > 5 * empty.image_data && page.image_data > 50_000,
        "the screenshot looks blank: {} bytes of image data, a blank page has {}",
        page.image_data,
        empty.image_data
    );
    server.abort();
}

/// A job that ran and finished, as the worker stores it.
async fn finished_job(store: &Store) -> i64 {
    let job = NewJob::new(JobTrigger::Comment, "octo/wordstats", "c".repeat(40));
    let job_id = store.enqueue(&job).await.unwrap().job_id;
    store
        .claim("browser-test", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    store
        .add_event(
            job_id,
            "sandbox",
            "sandbox = \"none\": repository code runs WITHOUT isolation",
            Some(&json!({ "sandbox": "none" })),
        )
        .await
        .unwrap();
    let result = json!({ "outcome": "fixed", "report": report(), "sandbox": "none" });
    store
        .complete(job_id, "browser-test", &result)
        .await
        .unwrap();
    job_id
}

fn report() -> Report {
    let side = |median: f64| SideSummary {
        median,
        ci_low: median * 0.99,
        ci_high: median * 1.01,
        samples: 8,
        peak_rss_kib: Some(20_480),
    };
    let bench = |name: &str, base: f64, head: f64, verdict| BenchmarkReport {
        name: name.into(),
        unit: "ns/iter".into(),
        base: Some(side(base)),
        head: Some(side(head)),
        change_pct: Some((head / base - 1.0) * 100.0),
        change_ci_low_pct: None,
        change_ci_high_pct: None,
        p_value: Some(0.0002),
        verdict,
    };
    let mut report = Report::new(
        Verdict::Regression,
        RevInfo {
            rev: "main".into(),
            sha: "a".repeat(40),
        },
        RevInfo {
            rev: "feature".into(),
            sha: "c".repeat(40),
        },
        vec![
            bench(
                "wordstats/count",
                1_523_400.0,
                2_284_100.0,
                BenchVerdict::Regressed,
            ),
            bench(
                "wordstats/load",
                80_100.0,
                80_300.0,
                BenchVerdict::Unchanged,
            ),
        ],
    );
    report.culprit = Some(Culprit {
        commit: "b".repeat(40),
        summary: "count: clone each word before tallying it".into(),
        file: Some("src/main.rs".into()),
        function: Some(MALICIOUS.into()),
        hunks: vec![Hunk {
            file: "src/main.rs".into(),
            start_line: 36,
            end_line: 40,
            share_pct: Some(100.0),
        }],
    });
    report.fix = Some(FixReport {
        branch: "perf-fixer/fix-cccccccc".into(),
        commit: "d".repeat(40),
        recovered_pct: 97.6,
        patches: vec![PatchReport {
            strategy: "revert_hunks".into(),
            description: "revert src/main.rs:36-40".into(),
            files: vec!["src/main.rs".into()],
            risk: Risk::Low,
            risk_notes: "restores the parent's code; tests pass".into(),
            gain_pct: Some(32.5),
            test_coverage: None,
            noise_margin_pct: None,
        }],
        after: vec![AfterSummary {
            name: "wordstats/count".into(),
            median: 1_541_200.0,
            ci_low: 1_530_000.0,
            ci_high: 1_550_000.0,
            peak_rss_kib: Some(20_480),
            change_vs_head_pct: Some(-32.5),
            change_vs_head_ci_low_pct: None,
            change_vs_head_ci_high_pct: None,
        }],
    });
    report.validation_commands = vec!["cargo bench --bench words -- --noplot".into()];
    report.notes = vec![format!("a note naming {MALICIOUS}")];
    let mut flame = perf_fixer_engine::profiling::flame_graph_data(
        &perf_profile("perf.before.txt"),
        &perf_profile("perf.after.txt"),
    )
    .unwrap();
    // A frame named by the repository, in the SVG as text only.
    flame.frames.push(MALICIOUS.into());
    let id = u32::try_from(flame.frames.len() - 1).unwrap();
    flame.after.push(perf_fixer_core::report::FoldedStack {
        frames: vec![0, id],
        cost: 3,
    });
    report.flame_graph = Some(flame);
    report
}

fn perf_profile(name: &str) -> perf_fixer_bench::profile::Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bench/tests/fixtures/profile")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    perf_fixer_bench::profile::parse_perf_script(&text).unwrap()
}

/// The Chromium binary; panics with how to install it when there is none.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "this test needs headless Chromium and found none on PATH: install it with \
                 `apt-get install -y --no-install-recommends chromium` (scripts/setup does), \
                 or point CHROMIUM at the binary"
            )
        })
}

/// Runs Chromium headless on one page with a profile of its own; returns its stdout.
async fn run_chromium(chromium: &Path, dir: &Path, what: &str, args: &[&str]) -> String {
    let profile = dir.join(format!("profile-{what}-{}", args.len()));
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .kill_on_drop(true);
    let output = tokio::time::timeout(CHROMIUM_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium ({what}) took over {CHROMIUM_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("starting {}: {e}", chromium.display()));
    assert!(
        output.status.success(),
        "chromium ({what}) failed with {}:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The part of `text` from `start` to the next `end` (both included).
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` not in the page:\n{text}"));
    let to = text[from..]
        .find(end)
        .map_or(text.len(), |i| from + i + end.len());
    &text[from..to]
}

struct PngFacts {
    width: u32,
    height: u32,
    /// Bytes of compressed image data (IDAT chunks): a page with text, tables and a flame
    /// graph compresses far worse than a blank one of the same size.
    image_data: usize,
}

/// Size and amount of image data of a PNG file, from its chunk headers.
fn png_facts(path: &Path) -> PngFacts {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut facts = PngFacts {
        width: 0,
        height: 0,
        image_data: 0,
    };
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let length = be(at) as usize;
        let kind = &bytes[at + 4..at + 8];
        match kind {
            b"IHDR" => {
                facts.width = be(at + 8);
                facts.height = be(at + 12);
            }
            b"IDAT" => facts.image_data += length,
            _ => {}
        }
        at += 12 + length;
    }
    facts
}
