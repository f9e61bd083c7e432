//! Profile parsers on output captured from valgrind and perf (see tests/fixtures/README.md):
//! a small binary (`profile/main.rs.txt`) built with line tables, once as is ("before") and
//! once with `--cfg slow`, whose `parse::normalize` rebuilds the key through `format!`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use perf_fixer_bench::profile::{Profile, diff_profiles, parse_callgrind, parse_perf_script};

fn read(relative: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/profile")
            .join(relative),
    )
    .unwrap()
}

const SOURCE: &str = "/tmp/cap/prof/src/main.rs";

fn assert_span(profile: &Profile, function: &str, within: (u32, u32)) {
    let f = profile
        .function(function)
        .unwrap_or_else(|| panic!("{function} missing"));
    assert_eq!(f.file.as_deref(), Some(SOURCE), "{f:?}");
    let (start, end) = (f.start_line.unwrap(), f.end_line.unwrap());
    assert!(
        within.0 <= start && start <= end && end <= within.1,
        "{function}: {start}..{end} not within {within:?}"
    );
    assert!(f.is_user_code("prof"));
    assert!(!f.is_toolchain_code());
}

#[test]
fn callgrind_real_profiles() {
    let before = parse_callgrind(&read("callgrind.before.out")).unwrap();
    let after = parse_callgrind(&read("callgrind.after.out")).unwrap();
    // valgrind's own summary: "I refs: 73,117,972" and "189,729,666".
    assert_eq!(before.total, 73_117_972);
    assert_eq!(after.total, 189_729_666);
    assert_eq!(before.unit, "instructions");
    // Function spans in main.rs.txt: normalize 18-21 (fast) / 24-31 (slow), tally 35-41,
    // sorted_keys 44-48, main 50-60.
    assert_span(&before, "prof::parse::normalize", (18, 21));
    assert_span(&after, "prof::parse::normalize", (24, 31));
    assert_span(&before, "prof::tally", (35, 41));
    assert_span(&after, "prof::sorted_keys", (44, 48));
    // main() is the root of everything the program did.
    let main = after.function("prof::main").unwrap();
    assert!(main.inclusive_cost > after.total * 9 / 10, "{main:?}");
    // Names are demangled without hashes; std keeps its /rustc/ paths.
    let hashed = |name: &str| {
        name.rsplit_once("::h")
            .is_some_and(|(_, h)| h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
    };
    assert!(!after.functions.iter().any(|f| hashed(&f.function)));
    assert!(
        !after
            .functions
            .iter()
            .any(|f| f.function.starts_with("_ZN"))
    );
    let format = after.function("alloc::fmt::format::format_inner").unwrap();
    assert!(format.is_toolchain_code());
    assert!(!format.is_user_code("prof"));

    let deltas = diff_profiles(&before, &after);
    // The formatting machinery the slow normalize calls grew most; normalize is the user
    // function among the significant growers.
    assert_eq!(deltas[0].function, "alloc::fmt::format::format_inner");
    let first_user = deltas
        .iter()
        .find(|d| d.function.starts_with("prof::"))
        .unwrap();
    assert_eq!(first_user.function, "prof::parse::normalize");
    assert!(first_user.significant);
    // Unchanged user code stays put (instruction counts are deterministic).
    let tally = deltas.iter().find(|d| d.function == "prof::tally").unwrap();
    assert!(
        tally.self_growth.abs() < tally.before_self as f64 * 0.01,
        "{tally:?}"
    );

    // Charged with the std code they call, the user's functions name the culprit directly:
    // normalize's growth is nearly the whole regression (116.6M more instructions).
    let user = diff_profiles(&before.attributed_to("prof"), &after.attributed_to("prof"));
    assert_eq!(user[0].function, "prof::parse::normalize");
    let regression = (after.total - before.total) as f64;
    assert!(
        user[0].self_growth > 0.9 * regression && user[0].self_growth < 1.05 * regression,
        "{:?}",
        user[0]
    );
    let (start, end) = (user[0].start_line.unwrap(), user[0].end_line.unwrap());
    assert!(24 <= start && end <= 31, "{start}..{end}");

    // The same with "the user's code" meaning "source inside the repository".
    let root = Path::new("/tmp/cap/prof");
    let in_repo = |f: &perf_fixer_bench::profile::FunctionCost| f.file_in(root).is_some();
    let by_file = diff_profiles(
        &before.attributed_where(in_repo),
        &after.attributed_where(in_repo),
    );
    assert_eq!(by_file[0].function, "prof::parse::normalize");
    assert_eq!(by_file[0].self_growth, user[0].self_growth);
    let others: f64 = user[1..].iter().map(|d| d.self_growth.abs()).sum();
    assert!(others < 0.05 * regression, "{:?}", &user[1..]);
}

#[test]
fn perf_real_profiles() {
    let before = parse_perf_script(&read("perf.before.txt")).unwrap();
    let after = parse_perf_script(&read("perf.after.txt")).unwrap();
    assert_eq!(before.unit, "samples");
    // The fixtures hold the first 200 samples of each run.
    assert_eq!((before.total, after.total), (200, 200));
    let self_sum: u64 = after.functions.iter().map(|f| f.self_cost).sum();
    assert_eq!(self_sum, after.total);
    assert_span(&after, "prof::main", (50, 60));
    assert_span(&after, "prof::parse::normalize", (24, 31));
    assert_span(&before, "prof::tally", (35, 41));
    let main = after.function("prof::main").unwrap();
    assert!(main.inclusive_cost >= 190, "{main:?}");

    let deltas = diff_profiles(&before, &after);
    assert_eq!(deltas[0].function, "alloc::fmt::format::format_inner");
    assert!(deltas[0].significant, "{:?}", deltas[0]);

    let user = diff_profiles(&before.attributed_to("prof"), &after.attributed_to("prof"));
    assert_eq!(user[0].function, "prof::parse::normalize");
    assert!(user[0].significant, "{:?}", user[0]);
    assert!(user[0].growth_share > 0.2, "{:?}", user[0]);
}

#[test]
fn callgrind_file_written_by_gungraun() {
    // gungraun keeps each benchmark's callgrind.out (no debug info in its bench build,
    // --separate-recs): usable as is, with the benchmark's Ir as total.
    let profile = parse_callgrind(&read("gungraun.bench_fib.long.callgrind.out")).unwrap();
    assert_eq!(profile.total, 221_505);
    let fib = profile.function("gg::fib").unwrap();
    assert!(fib.is_user_code("gg"));
    assert!(profile.function("gg::fib'2").is_none());
    assert!(fib.self_cost > profile.total * 9 / 10, "{fib:?}");
    assert_eq!(fib.file, None);
}

#[test]
fn line_costs_show_the_regressed_lines() {
    // Line costs do not depend on which function the code was inlined into: the lines of the
    // slow normalize (24-31) carry the regression, in both profilers.
    let before = parse_callgrind(&read("callgrind.before.out")).unwrap();
    let after = parse_callgrind(&read("callgrind.after.out")).unwrap();
    let (_, before_incl) = before.cost_of_lines(SOURCE, 18, 21);
    let (_, after_incl) = after.cost_of_lines(SOURCE, 24, 31);
    let regression = (after.total - before.total) as f64;
    let growth = after_incl as f64 - before_incl as f64;
    assert!(
        growth > 0.95 * regression && growth < 1.05 * regression,
        "{growth} vs {regression}"
    );
    let normalize = after.function("prof::parse::normalize").unwrap();
    assert!(
        after_incl <= normalize.inclusive_cost,
        "{after_incl} {normalize:?}"
    );
    assert!(after_incl as f64 > 0.99 * normalize.inclusive_cost as f64);
    // Unchanged lines (tally, 35-41) keep their cost.
    let (_, tally_before) = before.cost_of_lines(SOURCE, 35, 41);
    let (_, tally_after) = after.cost_of_lines(SOURCE, 35, 41);
    assert!(
        tally_before.abs_diff(tally_after) < tally_before / 100,
        "{tally_before} {tally_after}"
    );

    // perf: samples on the stack with normalize's lines, out of 200 per run.
    let before = parse_perf_script(&read("perf.before.txt")).unwrap();
    let after = parse_perf_script(&read("perf.after.txt")).unwrap();
    let (_, before_incl) = before.cost_of_lines(SOURCE, 18, 21);
    let (_, after_incl) = after.cost_of_lines(SOURCE, 24, 31);
    assert!(
        after_incl > 2 * before_incl,
        "{before_incl} -> {after_incl}"
    );
    assert!(
        after
            .lines
            .windows(2)
            .all(|w| (&w[0].file, w[0].line) < (&w[1].file, w[1].line))
    );
}
