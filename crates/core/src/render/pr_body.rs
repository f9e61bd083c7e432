//! The pull request body for a validated fix, and the summary shown when no patch passed.
//!
//! Written for a reviewer with a minute to spare: a headline, the before/after table, the root
//! cause, each patch with its gain, the commands to reproduce, a risk assessment per patch, and
//! everything else collapsed.

use std::fmt::Write as _;

use crate::report::{
    AfterSummary, AttemptOutcome, BenchVerdict, BenchmarkReport, Report, Risk, Verdict,
};
use crate::units::{format_kib, format_pct, format_pct_interval, format_value};

/// Longer lists are cut in the body (the JSON report keeps them all).
const MAX_SUSPECT_ROWS: usize = 15;
const MAX_ATTEMPT_ROWS: usize = 40;
const MAX_REASON_CHARS: usize = 300;

/// What the body needs beyond the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BodyOptions {
    /// Link to the job's page or log, when running as a service.
    pub job_url: Option<String>,
    /// Shell commands that reproduce the measurement, in order.
    pub reproduce: Vec<String>,
}

/// The markdown body of the fix pull request.
pub fn pr_body(report: &Report, opts: &BodyOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", headline(report));
    if let Some(sentence) = cause_sentence(report) {
        let _ = writeln!(out, "{sentence}\n");
    }

    out.push_str("### Before and after\n\n");
    out.push_str(&before_after_table(report));
    out.push('\n');

    if report.culprit.is_some() {
        out.push_str("### Root cause\n\n");
        out.push_str(&root_cause(report));
        out.push('\n');
    }

    if let Some(fix) = &report.fix {
        out.push_str("### Patches\n\n");
        for (i, p) in fix.patches.iter().enumerate() {
            let gain = p
                .gain_pct
                .map(|g| format!(" — wins back {} of head's time", plain_pct(g)))
                .unwrap_or_default();
            let files: Vec<String> = p.files.iter().map(|f| code(f)).collect();
            let _ = writeln!(
                out,
                "{}. **{}**{gain}: {} ({})",
                i + 1,
                p.strategy,
                one_line(&p.description),
                files.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\nBranch `{}`, commit `{}`.\n",
            fix.branch,
            short(&fix.commit)
        );

        out.push_str("### Risk assessment\n\n");
        for (i, p) in fix.patches.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. **{}: {} risk.** {}",
                i + 1,
                p.strategy,
                risk_word(p.risk),
                one_line(&p.risk_notes)
            );
            let coverage = p.test_coverage.as_deref().unwrap_or(
                "not measured: the test command passed with the patch, but which tests reach the changed lines is unknown",
            );
            let _ = writeln!(out, "   - Test coverage: {}", one_line(coverage));
            match (p.noise_margin_pct, p.gain_pct) {
                (Some(m), Some(g)) if m > 0.0 => {
                    let _ = writeln!(
                        out,
                        "   - Noise margin: ±{}; the gain of {} is {:.0}× that.",
                        plain_pct(m),
                        plain_pct(g),
                        g / m
                    );
                }
                (Some(m), _) => {
                    let _ = writeln!(out, "   - Noise margin: ±{}.", plain_pct(m));
                }
                (None, _) => {}
            }
        }
        out.push('\n');
    }

    out.push_str("### Reproduce\n\n");
    out.push_str(&reproduce_block(report, opts));
    out.push('\n');

    out.push_str(&details(report, opts));
    out
}

/// The body for a regression that no patch fixed: what was found, what was tried, and why
/// each attempt was rejected. Also used for no regression and inconclusive results.
pub fn rejection_summary(report: &Report) -> String {
    let mut out = String::new();
    match report.verdict {
        Verdict::NoRegression => {
            let _ = writeln!(
                out,
                "## perf-fixer found no regression between `{}` and `{}`\n",
                report.base.rev, report.head.rev
            );
            out.push_str(&before_after_table(report));
            return out;
        }
        Verdict::Inconclusive => {
            let _ = writeln!(
                out,
                "## perf-fixer could not decide whether `{}` is slower than `{}`\n\n\
                 The difference is within the noise of this machine after the run budget; \
                 no patch was tried.\n",
                report.head.rev, report.base.rev
            );
            out.push_str(&before_after_table(report));
            return out;
        }
        Verdict::Regression => {}
    }
    let slow = worst_regression(report);
    let what = slow
        .map(|b| {
            format!(
                "a {} slowdown in {}",
                plain_pct(b.change_pct.unwrap_or(0.0)),
                code(&b.name)
            )
        })
        .unwrap_or_else(|| "a slowdown".into());
    let _ = writeln!(
        out,
        "## perf-fixer found {what} but no patch passed validation\n\n\
         No branch was pushed and no pull request opened. The evidence follows.\n"
    );
    out.push_str(&before_after_table(report));
    out.push('\n');
    if report.culprit.is_some() {
        out.push_str("### Root cause\n\n");
        out.push_str(&root_cause(report));
        out.push('\n');
    }
    if !report.suspects.is_empty() {
        out.push_str("### Suspects\n\n");
        out.push_str(&suspects_table(report));
        out.push('\n');
    }
    out.push_str("### What was tried\n\n");
    if report.attempts.is_empty() {
        out.push_str("No candidate patch could be built from the culprit's changes.\n");
    } else {
        out.push_str(&attempts_table(report));
    }
    out.push('\n');
    if !report.notes.is_empty() {
        out.push_str("### Notes\n\n");
        for n in &report.notes {
            let _ = writeln!(out, "- {}", one_line(n));
        }
        out.push('\n');
    }
    if !report.validation_commands.is_empty() {
        out.push_str("### Reproduce\n\n");
        out.push_str(&reproduce_block(report, &BodyOptions::default()));
    }
    out
}

/// "perf-fixer recovers 97% of a 30% slowdown in parse/big".
pub fn headline(report: &Report) -> String {
    let slow = worst_regression(report);
    let others = regressed(report).count().saturating_sub(1);
    let target = match slow {
        Some(b) if others > 0 => format!("{} and {others} more", b.name),
        Some(b) => b.name.clone(),
        None => "the benchmarks".to_string(),
    };
    let size = slow
        .and_then(|b| b.change_pct)
        .map(|c| format!("a {} slowdown", plain_pct(c)))
        .unwrap_or_else(|| "a slowdown".to_string());
    match &report.fix {
        Some(fix) => format!(
            "perf-fixer recovers {} of {size} in {target}",
            plain_pct(fix.recovered_pct)
        ),
        None => format!("perf-fixer found {size} in {target}; no patch passed validation"),
    }
}

fn cause_sentence(report: &Report) -> Option<String> {
    let c = report.culprit.as_ref()?;
    let mut s = format!(
        "The slowdown came from {} ({})",
        code(short(&c.commit)),
        quote(&c.summary)
    );
    if let Some(f) = &c.function {
        let _ = write!(s, " in {}", code(f));
    }
    let patches = report.fix.as_ref().map_or(0, |f| f.patches.len());
    if patches > 0 {
        let _ = write!(
            s,
            ". {} validated patch{} below {} the tests and measurably restore{} speed.",
            patches,
            if patches == 1 { "" } else { "es" },
            if patches == 1 { "passes" } else { "pass" },
            if patches == 1 { "s" } else { "" }
        );
    } else {
        s.push('.');
    }
    Some(s)
}

fn regressed(report: &Report) -> impl Iterator<Item = &BenchmarkReport> {
    report
        .benchmarks
        .iter()
        .filter(|b| b.verdict == BenchVerdict::Regressed)
}

fn worst_regression(report: &Report) -> Option<&BenchmarkReport> {
    regressed(report).max_by(|a, b| {
        a.change_pct
            .unwrap_or(0.0)
            .total_cmp(&b.change_pct.unwrap_or(0.0))
    })
}

fn after_for<'a>(report: &'a Report, name: &str) -> Option<&'a AfterSummary> {
    report.fix.as_ref()?.after.iter().find(|a| a.name == name)
}

/// The before/after table. Without a fix, the fixed columns are left out.
fn before_after_table(report: &Report) -> String {
    let with_fix = report.fix.is_some();
    let mut out = String::new();
    if with_fix {
        out.push_str("| Benchmark | Base | Head | Fixed | Fixed vs head | Fixed vs base | 50% interval (vs head) | Peak memory head → fixed |\n");
        out.push_str("| :-- | --: | --: | --: | --: | --: | --: | --: |\n");
    } else {
        out.push_str("| Benchmark | Base | Head | Head vs base | 50% interval | Verdict | Peak memory base → head |\n");
        out.push_str("| :-- | --: | --: | --: | --: | :-- | --: |\n");
    }
    for b in &report.benchmarks {
        let unit = &b.unit;
        let value = |v: Option<f64>| v.map_or("-".to_string(), |v| format_value(v, unit));
        let base = b.base.as_ref().map(|s| s.median);
        let head = b.head.as_ref().map(|s| s.median);
        let mem = |kib: Option<u64>| kib.map_or("-".to_string(), format_kib);
        let name = if b.verdict == BenchVerdict::Regressed {
            format!("**{}**", code_cell(&b.name))
        } else {
            code_cell(&b.name)
        };
        if with_fix {
            let after = after_for(report, &b.name);
            let fixed = after.map(|a| a.median);
            let vs_head = after
                .and_then(|a| a.change_vs_head_pct)
                .or_else(|| ratio_pct(fixed, head));
            let vs_base = ratio_pct(fixed, base);
            let interval =
                match after.map(|a| (a.change_vs_head_ci_low_pct, a.change_vs_head_ci_high_pct)) {
                    Some((Some(lo), Some(hi))) => format_pct_interval(lo, hi),
                    _ => "-".to_string(),
                };
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} | {} | {} → {} |",
                value(base),
                value(head),
                value(fixed),
                vs_head.map_or("-".into(), format_pct),
                vs_base.map_or("-".into(), format_pct),
                interval,
                mem(b.head.as_ref().and_then(|s| s.peak_rss_kib)),
                mem(after.and_then(|a| a.peak_rss_kib)),
            );
        } else {
            let interval = match (b.change_ci_low_pct, b.change_ci_high_pct) {
                (Some(lo), Some(hi)) => format_pct_interval(lo, hi),
                _ => "-".to_string(),
            };
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {interval} | {} | {} → {} |",
                value(base),
                value(head),
                b.change_pct.map_or("-".into(), format_pct),
                b.verdict.word(),
                mem(b.base.as_ref().and_then(|s| s.peak_rss_kib)),
                mem(b.head.as_ref().and_then(|s| s.peak_rss_kib)),
            );
        }
    }
    out
}

fn root_cause(report: &Report) -> String {
    let mut out = String::new();
    let Some(c) = &report.culprit else {
        return out;
    };
    let _ = writeln!(
        out,
        "- Commit {} — {}",
        code(short(&c.commit)),
        one_line(&c.summary)
    );
    if let Some(b) = &report.bisect
        && !b.candidates.is_empty()
    {
        let shorts: Vec<String> = b.candidates.iter().map(|s| code(short(s))).collect();
        let _ = writeln!(
            out,
            "  (commits that do not build hide the exact boundary: the culprit is one of {})",
            shorts.join(", ")
        );
    }
    if let Some(f) = &c.function {
        let share = report
            .suspects
            .iter()
            .find(|s| &s.function == f)
            .map(|s| format!(" — {} of the added cost", plain_pct(s.share_pct)))
            .unwrap_or_default();
        let file = c
            .file
            .as_deref()
            .map(|f| format!(" in {}", code(f)))
            .unwrap_or_default();
        let _ = writeln!(out, "- Function {}{file}{share}", code(f));
    }
    for h in &c.hunks {
        let span = if h.start_line == h.end_line {
            format!("{}:{}", h.file, h.start_line)
        } else {
            format!("{}:{}-{}", h.file, h.start_line, h.end_line)
        };
        let share = h
            .share_pct
            .map(|s| format!(" — {} of the loss", plain_pct(s)))
            .unwrap_or_default();
        let _ = writeln!(out, "- Hunk {}{share}", code(&span));
    }
    out
}

fn reproduce_block(report: &Report, opts: &BodyOptions) -> String {
    let commands: &[String] = if opts.reproduce.is_empty() {
        &report.validation_commands
    } else {
        &opts.reproduce
    };
    if commands.is_empty() {
        return "No commands recorded.\n".to_string();
    }
    let mut out = String::from("```sh\n");
    for c in commands {
        out.push_str(c);
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

fn details(report: &Report, opts: &BodyOptions) -> String {
    let mut inner = String::new();
    if let Some(b) = &report.bisect {
        let _ = writeln!(
            inner,
            "**Bisection.** {} commit{} between base and head, {} probed.",
            b.commits,
            if b.commits == 1 { "" } else { "s" },
            b.probes
        );
        for s in &b.skipped {
            let _ = writeln!(
                inner,
                "- skipped {}: {}",
                code(short(&s.commit)),
                one_line(&s.reason)
            );
        }
        inner.push('\n');
    }
    if !report.suspects.is_empty() {
        inner.push_str("**Suspects** (functions whose cost grew at the culprit)\n\n");
        inner.push_str(&suspects_table(report));
        inner.push('\n');
    }
    if !report.attempts.is_empty() {
        inner.push_str("**Everything tried**\n\n");
        inner.push_str(&attempts_table(report));
        inner.push('\n');
    }
    if !report.stage_timings.is_empty() {
        inner.push_str("**Time per stage**\n\n| Stage | Time |\n| :-- | --: |\n");
        let mut total = 0.0;
        for t in &report.stage_timings {
            total += t.seconds;
            let _ = writeln!(inner, "| {} | {} |", t.stage, seconds(t.seconds));
        }
        let _ = writeln!(inner, "| total | {} |\n", seconds(total));
    }
    if !report.notes.is_empty() {
        inner.push_str("**Notes**\n\n");
        for n in &report.notes {
            let _ = writeln!(inner, "- {}", one_line(n));
        }
        inner.push('\n');
    }
    let _ = writeln!(
        inner,
        "Base `{}` ({}), head `{}` ({}).",
        report.base.rev,
        code(short(&report.base.sha)),
        report.head.rev,
        code(short(&report.head.sha))
    );
    if let Some(url) = &opts.job_url {
        let _ = writeln!(inner, "\n[Job log]({url})");
    }
    format!("<details>\n<summary>Details</summary>\n\n{inner}\n</details>\n")
}

fn suspects_table(report: &Report) -> String {
    let mut out =
        String::from("| Function | Location | Share of added cost |\n| :-- | :-- | --: |\n");
    for s in report.suspects.iter().take(MAX_SUSPECT_ROWS) {
        let location = match (&s.file, s.start_line, s.end_line) {
            (Some(f), Some(a), Some(b)) => code_cell(&format!("{f}:{a}-{b}")),
            (Some(f), _, _) => code_cell(f),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {location} | {} |",
            code_cell(&s.function),
            plain_pct(s.share_pct)
        );
    }
    more_rows(&mut out, report.suspects.len(), MAX_SUSPECT_ROWS, 3);
    out
}

/// A last row saying how many rows were left out, so long lists keep the body readable and
/// under GitHub's size limit for a pull request body.
fn more_rows(out: &mut String, total: usize, shown: usize, columns: usize) {
    if total > shown {
        let _ = writeln!(
            out,
            "| … and {} more (in the JSON report) |{}",
            total - shown,
            " |".repeat(columns - 1)
        );
    }
}

fn attempts_table(report: &Report) -> String {
    let mut out =
        String::from("| # | Strategy | Patch | Outcome | Why |\n| --: | :-- | :-- | :-- | :-- |\n");
    for (i, a) in report.attempts.iter().enumerate().take(MAX_ATTEMPT_ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            a.strategy,
            cell(&a.description),
            outcome_word(a.outcome),
            cell(&clip(&a.reason, MAX_REASON_CHARS))
        );
    }
    more_rows(&mut out, report.attempts.len(), MAX_ATTEMPT_ROWS, 5);
    out
}

/// At most `max` characters of `text`, with an ellipsis when cut (compiler errors can be long).
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn outcome_word(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Accepted => "accepted",
        AttemptOutcome::PathRefused => "refused (path)",
        AttemptOutcome::BuildFailed => "does not build",
        AttemptOutcome::TestsFailed => "tests fail",
        AttemptOutcome::NotFaster => "not faster",
        AttemptOutcome::RegressedOther => "slows another benchmark",
        AttemptOutcome::NotRun => "not run",
    }
}

fn risk_word(r: Risk) -> &'static str {
    match r {
        Risk::Low => "low",
        Risk::Medium => "medium",
        Risk::High => "high",
    }
}

/// `num / den - 1` in percent.
fn ratio_pct(num: Option<f64>, den: Option<f64>) -> Option<f64> {
    match (num, den) {
        (Some(n), Some(d)) if d != 0.0 => Some((n / d - 1.0) * 100.0),
        _ => None,
    }
}

/// An unsigned percentage for prose: `97%`, `4.5%`.
fn plain_pct(v: f64) -> String {
    if !v.is_finite() {
        "n/a".to_string()
    } else if v.abs() >= 10.0 {
        format!("{v:.0}%")
    } else {
        format!("{v:.1}%")
    }
}

fn seconds(s: f64) -> String {
    if s >= 60.0 {
        format!("{}m {:02.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1}s")
    }
}

fn short(sha: &str) -> &str {
    sha.get(..10).unwrap_or(sha)
}

/// Inline code, safe for any text (backticks inside are replaced).
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'").replace('\n', " "))
}

fn quote(text: &str) -> String {
    format!("\"{}\"", one_line(text))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Inline code inside a table cell: pipes escaped so they do not end the cell.
fn code_cell(text: &str) -> String {
    code(text).replace('|', "\\|")
}

/// Text for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::report::{
        Attempt, BisectReport, Culprit, FixReport, Hunk, PatchReport, RevInfo, SideSummary,
        SkippedCommit, StageTiming, SuspectReport,
    };

    fn side(median: f64, rss: u64) -> SideSummary {
        SideSummary {
            median,
            ci_low: median * 0.99,
            ci_high: median * 1.01,
            samples: 10,
            peak_rss_kib: Some(rss),
        }
    }

    fn bench(
        name: &str,
        base: f64,
        head: f64,
        ci: (f64, f64),
        verdict: BenchVerdict,
    ) -> BenchmarkReport {
        BenchmarkReport {
            name: name.into(),
            unit: "ns/iter".into(),
            base: Some(side(base, 20_480)),
            head: Some(side(head, 20_512)),
            change_pct: Some((head / base - 1.0) * 100.0),
            change_ci_low_pct: Some(ci.0),
            change_ci_high_pct: Some(ci.1),
            p_value: Some(0.0004),
            verdict,
        }
    }

    fn regression_report() -> Report {
        let mut r = Report::new(
            Verdict::Regression,
            RevInfo {
                rev: "main".into(),
                sha: "1111111111aaaaaaaaaa2222222222bbbbbbbbbb".into(),
            },
            RevInfo {
                rev: "feature/faster-io".into(),
                sha: "3333333333cccccccccc4444444444dddddddddd".into(),
            },
            vec![
                bench(
                    "parse/big",
                    1_250_000.0,
                    1_625_000.0,
                    (27.1, 33.2),
                    BenchVerdict::Regressed,
                ),
                bench(
                    "parse/small",
                    850.0,
                    853.0,
                    (-0.8, 1.4),
                    BenchVerdict::Unchanged,
                ),
                bench(
                    "emit|json",
                    42_000.0,
                    46_500.0,
                    (8.9, 12.4),
                    BenchVerdict::Regressed,
                ),
            ],
        );
        r.culprit = Some(Culprit {
            commit: "5555555555eeeeeeeeee6666666666ffffffffff".into(),
            summary: "Parse: build the keyword regex where it is used".into(),
            file: Some("src/parse.rs".into()),
            function: Some("demo::parse::tokenize".into()),
            hunks: vec![
                Hunk {
                    file: "src/parse.rs".into(),
                    start_line: 41,
                    end_line: 43,
                    share_pct: Some(88.0),
                },
                Hunk {
                    file: "src/parse.rs".into(),
                    start_line: 77,
                    end_line: 77,
                    share_pct: Some(6.5),
                },
            ],
        });
        r.bisect = Some(BisectReport {
            commits: 6,
            probes: 3,
            skipped: vec![SkippedCommit {
                commit: "7777777777aaaaaaaaaa".into(),
                reason: "does not build: error[E0425]: cannot find value `kw` in this scope".into(),
            }],
            candidates: vec![],
        });
        r.suspects = vec![
            SuspectReport {
                function: "demo::parse::tokenize".into(),
                file: Some("src/parse.rs".into()),
                start_line: Some(30),
                end_line: Some(80),
                share_pct: 91.0,
            },
            SuspectReport {
                function: "regex_automata::meta::Regex::new".into(),
                file: None,
                start_line: None,
                end_line: None,
                share_pct: 6.0,
            },
        ];
        r.stage_timings = vec![
            StageTiming {
                stage: "measure".into(),
                seconds: 41.2,
            },
            StageTiming {
                stage: "bisect".into(),
                seconds: 63.9,
            },
            StageTiming {
                stage: "profile".into(),
                seconds: 12.4,
            },
            StageTiming {
                stage: "localize".into(),
                seconds: 0.1,
            },
            StageTiming {
                stage: "validate".into(),
                seconds: 48.0,
            },
        ];
        r.validation_commands = vec![
            "git fetch origin perf-fixer/parse-big-5555555555".into(),
            "perf-fixer compare --repo . --base 3333333333 --head perf-fixer/parse-big-5555555555"
                .into(),
        ];
        r
    }

    fn with_fix(mut r: Report) -> Report {
        r.fix = Some(FixReport {
            branch: "perf-fixer/parse-big-5555555555".into(),
            commit: "9999999999abcdefabcdef".into(),
            recovered_pct: 97.2,
            patches: vec![
                PatchReport {
                    strategy: "rewrite".into(),
                    description: "Hoist the regex built on every call of `tokenize` into a `LazyLock` static".into(),
                    files: vec!["src/parse.rs".into()],
                    risk: Risk::Low,
                    risk_notes: "The regex pattern is a constant, so compiling it once gives the same matches.".into(),
                    gain_pct: Some(21.0),
                    test_coverage: Some("12 tests exercise `tokenize`; the changed lines run in 9 of them".into()),
                    noise_margin_pct: Some(1.4),
                },
                PatchReport {
                    strategy: "knobs".into(),
                    description: "Set with_capacity in src/emit.rs:12 to 4096 (base 4096, head 16)".into(),
                    files: vec!["src/emit.rs".into()],
                    risk: Risk::Medium,
                    risk_notes: "Restores the value before 5555555555; peak memory grows by the buffer size.".into(),
                    gain_pct: Some(2.1),
                    test_coverage: None,
                    noise_margin_pct: None,
                },
            ],
            after: vec![
                AfterSummary {
                    name: "parse/big".into(),
                    median: 1_262_000.0,
                    ci_low: 1_250_000.0,
                    ci_high: 1_270_000.0,
                    peak_rss_kib: Some(20_490),
                    change_vs_head_pct: Some(-22.3),
                    change_vs_head_ci_low_pct: Some(-24.0),
                    change_vs_head_ci_high_pct: Some(-20.6),
                },
                AfterSummary {
                    name: "parse/small".into(),
                    median: 851.0,
                    ci_low: 845.0,
                    ci_high: 858.0,
                    peak_rss_kib: Some(20_480),
                    change_vs_head_pct: None,
                    change_vs_head_ci_low_pct: None,
                    change_vs_head_ci_high_pct: None,
                },
                AfterSummary {
                    name: "emit|json".into(),
                    median: 42_400.0,
                    ci_low: 42_000.0,
                    ci_high: 42_900.0,
                    peak_rss_kib: Some(24_576),
                    change_vs_head_pct: Some(-8.8),
                    change_vs_head_ci_low_pct: Some(-10.1),
                    change_vs_head_ci_high_pct: Some(-7.2),
                },
            ],
        });
        r.attempts = vec![
            Attempt {
                strategy: "revert_hunks".into(),
                description: "Revert 1 of 4 hunks of 5555555555 (src/parse.rs:41-43)".into(),
                files: vec!["src/parse.rs".into()],
                outcome: AttemptOutcome::TestsFailed,
                reason: "test parse::keywords_are_case_insensitive failed".into(),
                change_vs_head_pct: None,
            },
            Attempt {
                strategy: "rewrite".into(),
                description: "Hoist the regex into a LazyLock".into(),
                files: vec!["src/parse.rs".into()],
                outcome: AttemptOutcome::Accepted,
                reason: "parse/big -22.3% [-24.0%, -20.6%] vs head, p < 0.001".into(),
                change_vs_head_pct: Some(-22.3),
            },
        ];
        r
    }

    fn opts() -> BodyOptions {
        BodyOptions {
            job_url: Some("https://perf-fixer.example.com/jobs/42".into()),
            reproduce: vec![],
        }
    }

    #[test]
    fn headline_names_recovery_slowdown_and_benchmark() {
        let r = with_fix(regression_report());
        assert_eq!(
            headline(&r),
            "perf-fixer recovers 97% of a 30% slowdown in parse/big and 1 more"
        );
        let mut one = r.clone();
        one.benchmarks.truncate(2);
        assert_eq!(
            headline(&one),
            "perf-fixer recovers 97% of a 30% slowdown in parse/big"
        );
    }

    #[test]
    fn body_has_every_section_in_order() {
        let body = pr_body(&with_fix(regression_report()), &opts());
        let order = [
            "## perf-fixer recovers",
            "### Before and after",
            "### Root cause",
            "### Patches",
            "### Risk assessment",
            "### Reproduce",
            "<details>",
            "[Job log](https://perf-fixer.example.com/jobs/42)",
            "</details>",
        ];
        let mut at = 0;
        for needle in order {
            let found = body[at..]
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing after byte {at}"));
            at += found + needle.len();
        }
        // Units scale: 1.25 ms, not 1250000 ns; memory in MiB; pipes escaped in cells.
        assert!(body.contains("| **`parse/big`** | 1.25 ms/iter | 1.63 ms/iter | 1.26 ms/iter | -22.3% | +1.0% | [-24.0%, -20.6%] | 20.0 MiB → 20.0 MiB |"), "{body}");
        assert!(body.contains("`emit\\|json`"));
        assert!(body.contains("```sh\ngit fetch origin perf-fixer/parse-big-5555555555\n"));
    }

    #[test]
    fn snapshot_fix_body() {
        insta::assert_snapshot!(pr_body(&with_fix(regression_report()), &opts()));
    }

    #[test]
    fn snapshot_rejection_summary() {
        let mut r = regression_report();
        r.bisect = Some(BisectReport {
            commits: 6,
            probes: 4,
            skipped: vec![SkippedCommit {
                commit: "7777777777aaaaaaaaaa".into(),
                reason: "does not build".into(),
            }],
            candidates: vec![
                "7777777777aaaaaaaaaa".into(),
                "5555555555eeeeeeeeee6666666666ffffffffff".into(),
            ],
        });
        r.attempts = vec![
            Attempt {
                strategy: "revert_hunks".into(),
                description: "Revert 2 of 4 hunks of 5555555555 (src/parse.rs:41-43, src/parse.rs:77)".into(),
                files: vec!["src/parse.rs".into()],
                outcome: AttemptOutcome::TestsFailed,
                reason: "test parse::keywords_are_case_insensitive failed: the revert removes the case folding the commit added".into(),
                change_vs_head_pct: None,
            },
            Attempt {
                strategy: "knobs".into(),
                description: "Set const CHUNK in src/parse.rs:12 to 64 (base 64, head 8)".into(),
                files: vec!["src/parse.rs".into()],
                outcome: AttemptOutcome::NotFaster,
                reason: "parse/big -0.4% [-2.1%, +1.2%] vs head: within noise".into(),
                change_vs_head_pct: Some(-0.4),
            },
            Attempt {
                strategy: "build_profile".into(),
                description: "Restore [profile.release] lto: false → true".into(),
                files: vec!["Cargo.toml".into()],
                outcome: AttemptOutcome::RegressedOther,
                reason: "parse/big -3.1%, but emit|json +6.0% [+4.2%, +7.9%]".into(),
                change_vs_head_pct: Some(-3.1),
            },
            Attempt {
                strategy: "revert_hunks".into(),
                description: "Revert .github/workflows/bench.yml".into(),
                files: vec![".github/workflows/bench.yml".into()],
                outcome: AttemptOutcome::PathRefused,
                reason: ".github/workflows/bench.yml: files under .github/ are never patched".into(),
                change_vs_head_pct: None,
            },
        ];
        r.notes = vec![
            "The test command already fails at head for 1 test; it was excluded from validation."
                .into(),
        ];
        let text = rejection_summary(&r);
        assert!(
            text.contains("culprit is one of `7777777777`, `5555555555`"),
            "{text}"
        );
        assert!(text.contains("no patch passed validation"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn no_regression_and_inconclusive_say_so() {
        let mut r = regression_report();
        r.verdict = Verdict::NoRegression;
        assert!(rejection_summary(&r).starts_with(
            "## perf-fixer found no regression between `main` and `feature/faster-io`"
        ));
        r.verdict = Verdict::Inconclusive;
        let text = rejection_summary(&r);
        assert!(text.contains("could not decide"));
        assert!(!text.contains("What was tried"));
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let mut r = with_fix(regression_report());
        let template = r.attempts[0].clone();
        r.attempts = (0..100)
            .map(|i| Attempt {
                reason: format!("attempt {i}: {}", "x".repeat(1000)),
                ..template.clone()
            })
            .collect();
        let body = pr_body(&r, &opts());
        assert!(body.contains("| 40 | revert_hunks |"));
        assert!(!body.contains("| 41 | revert_hunks |"));
        assert!(body.contains("| … and 60 more (in the JSON report) | | | | |"));
        assert!(body.len() < 30_000, "{}", body.len());
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hi", 2), "hi");
    }

    #[test]
    fn reproduce_prefers_explicit_commands() {
        let r = with_fix(regression_report());
        let body = pr_body(
            &r,
            &BodyOptions {
                job_url: None,
                reproduce: vec!["perf-fixer fix --repo . --base main --head feature".into()],
            },
        );
        assert!(body.contains("```sh\nperf-fixer fix --repo . --base main --head feature\n```"));
        assert!(!body.contains("Job log"));
    }
}
