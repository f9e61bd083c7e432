//! Prometheus metrics in the text exposition format, kept in plain mutex-guarded maps (a few
//! dozen series; a registry crate would add nothing here). The queue depth is read from the
//! database at scrape time, so it is right across every process sharing the queue.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use perf_fixer_store::JobState;

use crate::http::AppState;

/// Upper bounds (seconds) of the webhook latency histogram.
const DELIVERY_BUCKETS: [f64; 8] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1.0];
/// Upper bounds (seconds) of the job stage histogram.
const STAGE_BUCKETS: [f64; 8] = [1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        for (i, bound) in bounds.iter().enumerate() {
            if value <= *bound {
                self.buckets[i] += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, bound) in bounds.iter().enumerate() {
            let n = self.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braced = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braced} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braced} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    deliveries: BTreeMap<(String, String), u64>,
    delivery_latency: Histogram,
    stages: BTreeMap<String, Histogram>,
    fixes_opened: u64,
    rejected: BTreeMap<String, u64>,
    github_calls: BTreeMap<String, u64>,
    github_errors: BTreeMap<String, u64>,
    jobs_finished: BTreeMap<String, u64>,
}

/// The process's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Label values come from our own code or GitHub's event names; quotes and backslashes are
/// escaped anyway so a strange header cannot break the format.
fn escape(value: &str) -> String {
    value
        .chars()
        .take(64)
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            '\n' => vec!['\\', 'n'],
            c => vec![c],
        })
        .collect()
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut inner)
    }

    /// One webhook delivery answered.
    pub fn delivery(&self, event: &str, outcome: &str, latency: Duration) {
        // Unknown event names are folded so an attacker with a valid signature cannot grow the
        // label set without bound.
        let event =
            if event.len() <= 40 && event.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                event
            } else {
                "other"
            };
        self.with(|m| {
            *m.deliveries
                .entry((event.to_owned(), outcome.to_owned()))
                .or_default() += 1;
            m.delivery_latency
                .observe(&DELIVERY_BUCKETS, latency.as_secs_f64());
        });
    }

    /// A job stage took `elapsed`.
    pub fn stage(&self, stage: &str, elapsed: Duration) {
        self.with(|m| {
            m.stages
                .entry(stage.to_owned())
                .or_default()
                .observe(&STAGE_BUCKETS, elapsed.as_secs_f64());
        });
    }

    pub fn fix_opened(&self) {
        self.with(|m| m.fixes_opened += 1);
    }

    /// A job ended without a fix, for `reason` (no_regression, no_fix, inconclusive, refused,
    /// config, error, cancelled).
    pub fn rejected(&self, reason: &str) {
        self.with(|m| *m.rejected.entry(reason.to_owned()).or_default() += 1);
    }

    pub fn job_finished(&self, state: &str) {
        self.with(|m| *m.jobs_finished.entry(state.to_owned()).or_default() += 1);
    }

    /// A GitHub API call (`call` names it) and whether it failed.
    pub fn github_call(&self, call: &str, failed: bool) {
        self.with(|m| {
            *m.github_calls.entry(call.to_owned()).or_default() += 1;
            if failed {
                *m.github_errors.entry(call.to_owned()).or_default() += 1;
            }
        });
    }

    /// The text exposition, with the queue depth given by the caller.
    pub fn render(&self, depth: Option<&perf_fixer_store::QueueDepth>) -> String {
        let mut out = String::new();
        self.with(|m| {
            out.push_str("# HELP perf_fixer_webhook_deliveries_total Webhook deliveries by event and outcome.\n");
            out.push_str("# TYPE perf_fixer_webhook_deliveries_total counter\n");
            for ((event, outcome), n) in &m.deliveries {
                let _ = writeln!(
                    out,
                    "perf_fixer_webhook_deliveries_total{{event=\"{}\",outcome=\"{}\"}} {n}",
                    escape(event),
                    escape(outcome)
                );
            }
            out.push_str("# HELP perf_fixer_webhook_seconds Time to answer a webhook delivery.\n");
            out.push_str("# TYPE perf_fixer_webhook_seconds histogram\n");
            m.delivery_latency
                .render(&mut out, "perf_fixer_webhook_seconds", "", &DELIVERY_BUCKETS);
            out.push_str("# HELP perf_fixer_job_stage_seconds Duration of job stages.\n");
            out.push_str("# TYPE perf_fixer_job_stage_seconds histogram\n");
            for (stage, h) in &m.stages {
                let labels = format!("stage=\"{}\"", escape(stage));
                h.render(&mut out, "perf_fixer_job_stage_seconds", &labels, &STAGE_BUCKETS);
            }
            out.push_str("# HELP perf_fixer_fixes_opened_total Fix pull requests opened (or patch comments for forks).\n");
            out.push_str("# TYPE perf_fixer_fixes_opened_total counter\n");
            let _ = writeln!(out, "perf_fixer_fixes_opened_total {}", m.fixes_opened);
            out.push_str("# HELP perf_fixer_fixes_rejected_total Jobs that ended without a fix, by reason.\n");
            out.push_str("# TYPE perf_fixer_fixes_rejected_total counter\n");
            for (reason, n) in &m.rejected {
                let _ = writeln!(out, "perf_fixer_fixes_rejected_total{{reason=\"{}\"}} {n}", escape(reason));
            }
            out.push_str("# HELP perf_fixer_jobs_finished_total Jobs this process finished, by final state.\n");
            out.push_str("# TYPE perf_fixer_jobs_finished_total counter\n");
            for (state, n) in &m.jobs_finished {
                let _ = writeln!(out, "perf_fixer_jobs_finished_total{{state=\"{}\"}} {n}", escape(state));
            }
            out.push_str("# HELP perf_fixer_github_api_calls_total GitHub API calls by call.\n");
            out.push_str("# TYPE perf_fixer_github_api_calls_total counter\n");
            for (call, n) in &m.github_calls {
                let _ = writeln!(out, "perf_fixer_github_api_calls_total{{call=\"{}\"}} {n}", escape(call));
            }
            out.push_str("# HELP perf_fixer_github_api_errors_total Failed GitHub API calls by call.\n");
            out.push_str("# TYPE perf_fixer_github_api_errors_total counter\n");
            for (call, n) in &m.github_errors {
                let _ = writeln!(out, "perf_fixer_github_api_errors_total{{call=\"{}\"}} {n}", escape(call));
            }
        });
        if let Some(depth) = depth {
            out.push_str("# HELP perf_fixer_jobs Jobs in the queue by state.\n");
            out.push_str("# TYPE perf_fixer_jobs gauge\n");
            for state in JobState::ALL {
                let _ = writeln!(
                    out,
                    "perf_fixer_jobs{{state=\"{state}\"}} {}",
                    depth.get(*state)
                );
            }
        }
        out
    }
}

pub(crate) async fn metrics_handler(State(state): State<AppState>) -> Response {
    let depth = state.store.queue_depth_by_state().await.ok();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(depth.as_ref()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_depth() {
        let m = Metrics::default();
        m.delivery("check_run", "queued", Duration::from_millis(3));
        m.delivery("check_run", "queued", Duration::from_millis(30));
        m.delivery("Evil\"Name", "ignored", Duration::from_millis(1));
        m.fix_opened();
        m.rejected("no_fix");
        m.github_call("create pull request", false);
        m.github_call("create pull request", true);
        m.stage("engine", Duration::from_secs(20));
        let depth = perf_fixer_store::QueueDepth {
            queued: 4,
            ..Default::default()
        };
        let text = m.render(Some(&depth));
        assert!(
            text.contains(
                "perf_fixer_webhook_deliveries_total{event=\"check_run\",outcome=\"queued\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "perf_fixer_webhook_deliveries_total{event=\"other\",outcome=\"ignored\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("perf_fixer_webhook_seconds_bucket{le=\"0.005\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("perf_fixer_webhook_seconds_count 3"),
            "{text}"
        );
        assert!(
            text.contains("perf_fixer_jobs{state=\"queued\"} 4"),
            "{text}"
        );
        assert!(text.contains("perf_fixer_fixes_opened_total 1"), "{text}");
        assert!(
            text.contains("perf_fixer_fixes_rejected_total{reason=\"no_fix\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("perf_fixer_github_api_errors_total{call=\"create pull request\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("perf_fixer_job_stage_seconds_bucket{stage=\"engine\",le=\"60\"} 1"),
            "{text}"
        );
    }
}
