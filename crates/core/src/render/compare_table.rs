//! The verdict table of `compare`: aligned plain text for terminals, and markdown for PR
//! bodies and job summaries.

use crate::report::{BenchVerdict, BenchmarkReport, Report, SideSummary, Verdict};
use crate::units::{format_kib, format_pct, format_pct_interval, format_value};

const HEADERS: [&str; 9] = [
    "benchmark",
    "base",
    "head",
    "change",
    "50% interval",
    "p",
    "verdict",
    "base mem",
    "head mem",
];

/// One line that says what the comparison found.
pub fn headline(report: &Report) -> String {
    let count = |v: BenchVerdict| report.benchmarks.iter().filter(|b| b.verdict == v).count();
    let total = report.benchmarks.len();
    let short = |sha: &str| sha.chars().take(10).collect::<String>();
    let range = format!(
        "{} ({}) → {} ({})",
        report.base.rev,
        short(&report.base.sha),
        report.head.rev,
        short(&report.head.sha)
    );
    match report.verdict {
        Verdict::Regression => format!(
            "Regression: {} of {total} benchmarks slower, {range}",
            count(BenchVerdict::Regressed)
        ),
        Verdict::NoRegression => format!(
            "No regression: {} of {total} benchmarks unchanged, {} faster, {range}",
            count(BenchVerdict::Unchanged),
            count(BenchVerdict::Improved)
        ),
        Verdict::Inconclusive => format!(
            "Inconclusive: {} of {total} benchmarks could not be decided within the run budget, {range}",
            count(BenchVerdict::Inconclusive)
        ),
    }
}

/// When the merge-base stood in for the base that was asked for: one line that says so, for
/// under the headline.
pub fn baseline_line(report: &Report) -> Option<String> {
    let requested = report.requested_base.as_ref()?;
    let short = |sha: &str| sha.chars().take(10).collect::<String>();
    Some(format!(
        "Baseline: the merge-base {} of {} and {}, because {} ({}) is not an ancestor of {}; only the change {} makes is measured.",
        short(&report.base.sha),
        requested.rev,
        report.head.rev,
        requested.rev,
        short(&requested.sha),
        report.head.rev,
        report.head.rev,
    ))
}

fn side_value(side: Option<&SideSummary>, unit: &str) -> String {
    side.map(|s| format_value(s.median, unit))
        .unwrap_or_else(|| "-".to_string())
}

fn side_mem(side: Option<&SideSummary>) -> String {
    side.and_then(|s| s.peak_rss_kib)
        .map(format_kib)
        .unwrap_or_else(|| "-".to_string())
}

fn row(bench: &BenchmarkReport) -> [String; 9] {
    let interval = match (bench.change_ci_low_pct, bench.change_ci_high_pct) {
        (Some(low), Some(high)) => format_pct_interval(low, high),
        _ => "-".to_string(),
    };
    [
        bench.name.clone(),
        side_value(bench.base.as_ref(), &bench.unit),
        side_value(bench.head.as_ref(), &bench.unit),
        bench
            .change_pct
            .map(format_pct)
            .unwrap_or_else(|| "-".to_string()),
        interval,
        bench
            .p_value
            .map(format_p)
            .unwrap_or_else(|| "-".to_string()),
        bench.verdict.word().to_string(),
        side_mem(bench.base.as_ref()),
        side_mem(bench.head.as_ref()),
    ]
}

fn format_p(p: f64) -> String {
    if p < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{p:.3}")
    }
}

/// An aligned plain-text table: benchmark names left-aligned, figures right-aligned.
pub fn terminal_table(report: &Report) -> String {
    let rows: Vec<[String; 9]> = report.benchmarks.iter().map(row).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let pad = width.saturating_sub(cell.chars().count());
            if i > 0 {
                out.push_str("  ");
            }
            if i == 0 || i == 6 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_string()
    };
    let header: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    out.push_str(&headline(report));
    out.push('\n');
    if let Some(line) = baseline_line(report) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&line(&header));
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&rule));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

/// Escapes text for a markdown table cell.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A markdown table with the headline above it, for PR bodies and job summaries.
pub fn markdown_table(report: &Report) -> String {
    let mut out = format!("**{}**\n\n", md_cell(&headline(report)));
    if let Some(line) = baseline_line(report) {
        out.push_str(&format!("{}\n\n", md_cell(&line)));
    }
    out.push_str(
        "| Benchmark | Base | Head | Change | 50% interval | p | Verdict | Base mem | Head mem |\n",
    );
    out.push_str("| :-- | --: | --: | --: | --: | --: | :-- | --: | --: |\n");
    for bench in &report.benchmarks {
        let cells = row(bench);
        let mut cells: Vec<String> = cells.iter().map(|c| md_cell(c)).collect();
        cells[0] = format!("`{}`", cells[0].replace('`', "'"));
        if bench.verdict == BenchVerdict::Regressed {
            cells[6] = format!("**{}**", cells[6]);
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::RevInfo;

    fn side(median: f64, rss: u64) -> SideSummary {
        SideSummary {
            median,
            ci_low: median * 0.98,
            ci_high: median * 1.02,
            samples: 6,
            peak_rss_kib: Some(rss),
        }
    }

    fn sample_report() -> Report {
        Report::new(
            Verdict::Regression,
            RevInfo {
                rev: "main".into(),
                sha: "0123456789abcdef".into(),
            },
            RevInfo {
                rev: "feature".into(),
                sha: "fedcba9876543210".into(),
            },
            vec![
                BenchmarkReport {
                    name: "parse/big".into(),
                    unit: "ns/iter".into(),
                    base: Some(side(1_000_000.0, 20_480)),
                    head: Some(side(2_000_000.0, 20_512)),
                    change_pct: Some(100.0),
                    change_ci_low_pct: Some(95.2),
                    change_ci_high_pct: Some(104.9),
                    p_value: Some(0.0004),
                    verdict: BenchVerdict::Regressed,
                },
                BenchmarkReport {
                    name: "parse|small".into(),
                    unit: "ns/iter".into(),
                    base: Some(side(850.0, 2_048)),
                    head: Some(side(851.0, 2_048)),
                    change_pct: Some(0.1),
                    change_ci_low_pct: Some(-1.2),
                    change_ci_high_pct: Some(1.5),
                    p_value: Some(0.81),
                    verdict: BenchVerdict::Unchanged,
                },
                BenchmarkReport {
                    name: "new_one".into(),
                    unit: "ns/iter".into(),
                    base: None,
                    head: Some(side(10.0, 1_000)),
                    change_pct: None,
                    change_ci_low_pct: None,
                    change_ci_high_pct: None,
                    p_value: None,
                    verdict: BenchVerdict::OnlyHead,
                },
            ],
        )
    }

    #[test]
    fn terminal_table_is_aligned() {
        let table = terminal_table(&sample_report());
        assert!(table.starts_with(
            "Regression: 1 of 3 benchmarks slower, main (0123456789) → feature (fedcba9876)"
        ));
        let lines: Vec<&str> = table.lines().skip(2).collect();
        assert!(lines[0].starts_with("benchmark"));
        // The change column is right-aligned: every row's cell ends where its header ends.
        let header: Vec<char> = lines[0].chars().collect();
        let change_end = lines[0].find("change").unwrap() + "change".len();
        assert_eq!(header[change_end - 1], 'e');
        for row in &lines[2..] {
            let chars: Vec<char> = row.chars().collect();
            assert!(
                matches!(chars[change_end - 1], '%' | '-'),
                "misaligned row: {row}\n{table}"
            );
        }
        assert!(table.contains("2.00 ms/iter"));
        assert!(table.contains("+100.0%"));
        assert!(table.contains("[+95.2%, +104.9%]"));
        assert!(table.contains("new at head"));
        assert!(table.contains("20.0 MiB"));
    }

    #[test]
    fn merge_base_baseline_is_named_in_both_tables() {
        let mut report = sample_report();
        assert_eq!(baseline_line(&report), None);
        report.base = RevInfo {
            rev: "merge-base of main and feature".into(),
            sha: "aaaaaaaaaaaaaaaa".into(),
        };
        report.requested_base = Some(RevInfo {
            rev: "main".into(),
            sha: "0123456789abcdef".into(),
        });
        let line = "Baseline: the merge-base aaaaaaaaaa of main and feature, because main (0123456789) is not an ancestor of feature; only the change feature makes is measured.";
        assert_eq!(baseline_line(&report).as_deref(), Some(line));
        let table = terminal_table(&report);
        let mut lines = table.lines();
        assert_eq!(
            lines.next(),
            Some(
                "Regression: 1 of 3 benchmarks slower, merge-base of main and feature (aaaaaaaaaa) → feature (fedcba9876)"
            )
        );
        assert_eq!(lines.next(), Some(line));
        assert!(markdown_table(&report).contains(&format!("\n\n{line}\n\n| Benchmark")));
    }

    #[test]
    fn markdown_table_escapes_and_highlights() {
        let md = markdown_table(&sample_report());
        assert!(md.contains("| `parse/big` | 1.00 ms/iter | 2.00 ms/iter | +100.0% | [+95.2%, +104.9%] | <0.001 | **regressed** | 20.0 MiB | 20.0 MiB |"), "{md}");
        assert!(md.contains("`parse\\|small`"), "{md}");
        assert_eq!(md.lines().filter(|l| l.starts_with('|')).count(), 5);
    }
}
