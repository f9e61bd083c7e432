//! Server-rendered job pages (no JavaScript): `GET /jobs` lists recent jobs, `GET /jobs/{id}`
//! shows one job's state, its progress events, the before/after table, the culprit with a
//! differential flame graph, the patches and their risk, and a loud warning when the job ran
//! without the sandbox. Every string from a job, a report or a repository is escaped.

mod flame;

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use perf_fixer_core::report::Report;
use perf_fixer_core::units::{format_pct, format_value};
use perf_fixer_store::{Job, JobEvent, JobState};

use crate::http::AppState;

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}\
.state-succeeded{color:#1a7f37}.state-failed{color:#cf222e}.state-running{color:#9a6700}\
.warning{background:#cf222e;color:#fff;font-weight:bold;font-size:1.2rem;padding:1rem;border-radius:6px}\
.flame{overflow-x:auto}.flame #search,.flame #unzoom,.flame #matched{display:none}";

/// A whole HTML document: escaped title, inline style, body as given (already escaped).
pub(crate) fn html_document(title: &str, style: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{style}</style></head><body>{body}</body></html>",
        esc(title)
    )
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(html_document(title, STYLE, body))
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
}

pub(crate) async fn jobs_page(State(state): State<AppState>) -> Response {
    let Ok(jobs) = state.store.list_jobs(100, 0).await else {
        return unavailable();
    };
    let mut body = String::from(
        "<h1>perf-fixer jobs</h1><table><tr><th>job</th><th>state</th><th>trigger</th><th>repository</th><th>pull request</th><th>head</th><th>created</th></tr>",
    );
    for job in &jobs {
        let _ = write!(
            body,
            "<tr><td><a href=\"jobs/{id}\">#{id}</a></td><td class=\"state-{state}\">{state}</td><td>{trigger}</td><td>{repo}</td><td>{pr}</td><td><code>{head}</code></td><td>{created}</td></tr>",
            id = job.id,
            state = job.state,
            trigger = job.trigger,
            repo = esc(&job.repo),
            pr = job.pr_number.map(|n| format!("#{n}")).unwrap_or_default(),
            head = esc(&job.head_sha),
            created = job.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        );
    }
    body.push_str("</table>");
    if jobs.is_empty() {
        body.push_str("<p>No jobs yet.</p>");
    }
    page("perf-fixer jobs", &body).into_response()
}

pub(crate) async fn job_page(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    let job = match state.store.job(id).await {
        Ok(Some(job)) => job,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                page("not found", "<h1>No such job</h1>"),
            )
                .into_response();
        }
        Err(_) => return unavailable(),
    };
    let Ok(events) = state.store.events(id).await else {
        return unavailable();
    };
    let mut body = String::new();
    if ran_without_sandbox(job.result.as_ref(), &events) {
        body.push_str(SANDBOX_WARNING);
    }
    body.push_str(&job_header(&job));
    body.push_str("<h2>Progress</h2><table><tr><th>at</th><th>stage</th><th>message</th></tr>");
    for event in &events {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            event.at.format("%H:%M:%S"),
            esc(&event.stage),
            esc(&event.message)
        );
    }
    body.push_str("</table>");
    match job
        .result
        .as_ref()
        .and_then(|r| r.get("report").cloned().or_else(|| Some(r.clone())))
        .and_then(|r| serde_json::from_value::<Report>(r).ok())
    {
        Some(report) => body.push_str(&report_html(&report)),
        None => {
            let why = match job.state {
                JobState::Queued | JobState::Running => "the job has not finished yet",
                JobState::Succeeded => "the job finished without a report (nothing was measured)",
                JobState::Failed | JobState::Cancelled => {
                    "the job stopped before producing a report"
                }
            };
            let _ = write!(
                body,
                "<h2>Flame graph</h2><p id=\"no-flame-graph\">No flame graph: {why}.</p>"
            );
        }
    }
    page(&format!("perf-fixer job #{id}"), &body).into_response()
}

const SANDBOX_WARNING: &str = "<div class=\"warning\" id=\"sandbox-warning\" role=\"alert\">\
⚠ This job ran with <code>sandbox = \"none\"</code>: the repository's build, tests and \
benchmarks ran WITHOUT isolation, with network access and the worker's files and processes \
within reach. Only trust its results, and its fix, as far as you trust the repository's code.\
</div>";

/// The worker records the sandbox mode in the job result, and an event when it is off (so a
/// job that failed midway warns too).
fn ran_without_sandbox(result: Option<&serde_json::Value>, events: &[JobEvent]) -> bool {
    let in_result = result
        .and_then(|r| r.get("sandbox"))
        .and_then(|s| s.as_str())
        == Some("none");
    in_result
        || events.iter().any(|e| {
            e.stage == "sandbox"
                && e.data
                    .as_ref()
                    .and_then(|d| d.get("sandbox"))
                    .and_then(|s| s.as_str())
                    == Some("none")
        })
}

fn job_header(job: &Job) -> String {
    let mut out = format!(
        "<p><a href=\"../jobs\">all jobs</a></p><h1>Job #{} <span class=\"state-{}\">{}</span></h1><table>",
        job.id, job.state, job.state
    );
    let rows = [
        ("repository", job.repo.clone()),
        ("trigger", job.trigger.to_string()),
        (
            "pull request",
            job.pr_number.map(|n| format!("#{n}")).unwrap_or_default(),
        ),
        ("base", job.base_sha.clone().unwrap_or_default()),
        ("head", job.head_sha.clone()),
        ("requested by", job.requested_by.clone().unwrap_or_default()),
        (
            "attempts",
            format!("{} of {}", job.attempts, job.max_attempts),
        ),
        ("error", job.error.clone().unwrap_or_default()),
    ];
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    out.push_str("</table>");
    out
}

fn report_html(report: &Report) -> String {
    let mut out = String::from(
        "<h2>Before and after</h2><table id=\"before-after\"><tr><th>benchmark</th><th>base</th><th>head</th><th>head vs base</th><th>fixed</th><th>fixed vs head</th><th>verdict</th></tr>",
    );
    for b in &report.benchmarks {
        let after = report
            .fix
            .as_ref()
            .and_then(|f| f.after.iter().find(|a| a.name == b.name));
        let value =
            |median: Option<f64>| median.map(|m| format_value(m, &b.unit)).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&b.name),
            esc(&value(b.base.as_ref().map(|s| s.median))),
            esc(&value(b.head.as_ref().map(|s| s.median))),
            b.change_pct.map(format_pct).unwrap_or_default(),
            esc(&value(after.map(|a| a.median))),
            after
                .and_then(|a| a.change_vs_head_pct)
                .map(format_pct)
                .unwrap_or_default(),
            b.verdict.word()
        );
    }
    out.push_str("</table>");
    out.push_str(&culprit_html(report));
    if let Some(fix) = &report.fix {
        let _ = write!(
            out,
            "<h2>Fix</h2><p>Branch <code>{}</code>, commit <code>{}</code>, {:.0}% of the regression recovered.</p><table><tr><th>patch</th><th>files</th><th>risk</th><th>gain</th></tr>",
            esc(&fix.branch),
            esc(&fix.commit),
            fix.recovered_pct
        );
        for p in &fix.patches {
            let _ = write!(
                out,
                "<tr><td>{}: {}</td><td>{}</td><td>{:?}: {}</td><td>{}</td></tr>",
                esc(&p.strategy),
                esc(&p.description),
                esc(&p.files.join(", ")),
                p.risk,
                esc(&p.risk_notes),
                p.gain_pct.map(|g| format!("{g:.1}%")).unwrap_or_default()
            );
        }
        out.push_str("</table>");
    }
    if !report.notes.is_empty() {
        out.push_str("<h2>Notes</h2><ul>");
        for note in &report.notes {
            let _ = write!(out, "<li>{}</li>", esc(note));
        }
        out.push_str("</ul>");
    }
    out
}

/// The culprit commit and the flame graph of its profile, or why there is none.
fn culprit_html(report: &Report) -> String {
    let mut out = String::new();
    if let Some(culprit) = &report.culprit {
        let _ = write!(
            out,
            "<h2>Culprit</h2><p>Commit <code>{}</code>: {}",
            esc(&culprit.commit),
            esc(&culprit.summary)
        );
        if let Some(function) = &culprit.function {
            let _ = write!(out, "; in <code>{}</code>", esc(function));
        }
        if let Some(file) = &culprit.file {
            let _ = write!(out, " (<code>{}</code>)", esc(file));
        }
        out.push_str("</p>");
    }
    out.push_str("<h2>Flame graph</h2>");
    let why = match (&report.culprit, &report.flame_graph) {
        (_, Some(data)) => match flame::differential_svg(data) {
            Ok(svg) => {
                let _ = write!(
                    out,
                    "<p>The regressed benchmark profiled at the culprit's parent and at the \
                     culprit ({source}). Hover a frame for its cost.</p>\
                     <div class=\"flame\" id=\"flame-graph\">{svg}</div>",
                    source = esc(&data.source)
                );
                return out;
            }
            Err(err) => format!("the profile data could not be drawn ({err})"),
        },
        (None, None) => {
            "no culprit commit was found (no regression, or the bisection did not settle on one), \
             so nothing was profiled"
                .to_owned()
        }
        (Some(_), None) => match report
            .notes
            .iter()
            .find(|n| n.starts_with("profiling failed"))
        {
            Some(note) => format!("profiling gave no call stacks: {note}"),
            None => "the report holds no profile data (profiling gave no call stacks, or the \
                     job ran before perf-fixer kept them)"
                .to_owned(),
        },
    };
    let _ = write!(
        out,
        "<p id=\"no-flame-graph\">No flame graph: {}.</p>",
        esc(&why)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    fn event(stage: &str, data: Option<serde_json::Value>) -> JobEvent {
        JobEvent {
            id: 1,
            job_id: 1,
            at: chrono::Utc::now(),
            stage: stage.into(),
            message: String::new(),
            data,
        }
    }

    #[test]
    fn sandbox_off_is_read_from_the_result_or_an_event() {
        let none = serde_json::json!({ "sandbox": "none" });
        let bwrap = serde_json::json!({ "sandbox": "bwrap" });
        assert!(ran_without_sandbox(Some(&none), &[]));
        assert!(!ran_without_sandbox(Some(&bwrap), &[]));
        assert!(!ran_without_sandbox(None, &[event("fetched", None)]));
        // A job that failed after the engine started has no result, only the event.
        assert!(ran_without_sandbox(
            None,
            &[event("sandbox", Some(none.clone()))]
        ));
        assert!(!ran_without_sandbox(None, &[event("engine", Some(none))]));
    }

    fn report() -> Report {
        let rev = |sha: &str| perf_fixer_core::report::RevInfo {
            rev: sha.into(),
            sha: sha.into(),
        };
        Report::new(
            perf_fixer_core::report::Verdict::Regression,
            rev("a"),
            rev("b"),
            Vec::new(),
        )
    }

    #[test]
    fn says_why_there_is_no_flame_graph() {
        let mut report = report();
        let html = culprit_html(&report);
        assert!(html.contains("no culprit commit was found"), "{html}");

        report.culprit = Some(perf_fixer_core::report::Culprit {
            commit: "c0ffee".into(),
            summary: "<b>bold</b> summary".into(),
            file: Some("src/<x>.rs".into()),
            function: Some("<script>f</script>".into()),
            hunks: Vec::new(),
        });
        report
            .notes
            .push("profiling failed, localizing by the diff alone: perf <refused>".into());
        let html = culprit_html(&report);
        assert!(
            html.contains("profiling gave no call stacks: profiling failed, localizing by the diff alone: perf &lt;refused&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>") && !html.contains("<b>") && !html.contains("<x>"));
        assert!(html.contains("&lt;script&gt;f&lt;/script&gt;"), "{html}");

        report.notes.clear();
        let html = culprit_html(&report);
        assert!(html.contains("the report holds no profile data"), "{html}");
    }

    #[test]
    fn draws_the_flame_graph_when_the_report_has_stacks() {
        let mut report = report();
        report.flame_graph = Some(perf_fixer_core::report::FlameGraphData {
            unit: "samples".into(),
            source: "perf".into(),
            frames: vec!["main".into(), "work".into()],
            before: vec![perf_fixer_core::report::FoldedStack {
                frames: vec![0, 1],
                cost: 4,
            }],
            after: vec![perf_fixer_core::report::FoldedStack {
                frames: vec![0, 1],
                cost: 9,
            }],
            before_omitted: 0,
            after_omitted: 0,
        });
        let html = culprit_html(&report);
        assert!(
            html.contains("<div class=\"flame\" id=\"flame-graph\"><svg"),
            "{html}"
        );
        assert!(!html.contains("no-flame-graph"), "{html}");
    }
}
