//! Print the suspects between two profiles: `show_profile callgrind|perf BEFORE AFTER [CRATE]`.
//! A debugging aid for the profile parsers on real output.

use perf_fixer_bench::profile::{
    Profile, ProfileError, diff_profiles, parse_callgrind, parse_perf_script,
};

fn load(kind: &str, path: &str) -> Result<Profile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let parsed: Result<Profile, ProfileError> = match kind {
        "callgrind" => parse_callgrind(&text),
        "perf" => parse_perf_script(&text),
        other => {
            return Err(format!(
                "unknown profile kind `{other}`; use callgrind or perf"
            ));
        }
    };
    parsed.map_err(|e| format!("{path}: {e}"))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, before, after, rest @ ..] = args.as_slice() else {
        return Err("usage: show_profile callgrind|perf BEFORE AFTER [CRATE]".into());
    };
    let before = load(kind, before)?;
    let after = load(kind, after)?;
    let crate_name = rest.first().map(String::as_str);
    println!(
        "totals: before {} {}, after {} {}",
        before.total, before.unit, after.total, after.unit
    );
    println!("top of after:");
    for f in after.functions.iter().take(8) {
        println!(
            "  {:>10} {:>10} {} {:?} {:?}-{:?}",
            f.self_cost, f.inclusive_cost, f.function, f.file, f.start_line, f.end_line
        );
    }
    let (before, after) = match crate_name {
        Some(name) => (before.attributed_to(name), after.attributed_to(name)),
        None => (before, after),
    };
    println!(
        "suspects{}:",
        crate_name.map_or(String::new(), |c| format!(" in {c}"))
    );
    for d in diff_profiles(&before, &after).iter().take(8) {
        let user = crate_name.is_some_and(|c| {
            after
                .function(&d.function)
                .or(before.function(&d.function))
                .is_some_and(|f| f.is_user_code(c))
        });
        println!(
            "  {:>12.1} ({:>6.2}% of base) sig={} user={} {} {:?}:{:?}-{:?}",
            d.self_growth,
            d.growth_share * 100.0,
            d.significant,
            user,
            d.function,
            d.file,
            d.start_line,
            d.end_line
        );
    }
    Ok(())
}
