//! Human-readable numbers for tables: times, counts, memory and percentages.

/// Formats a benchmark value in its unit: nanosecond-based units scale to µs, ms or s;
/// counts (instructions, cycles) scale to K, M, G; anything else keeps its unit verbatim.
pub fn format_value(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let (scale_unit, per) = match unit.split_once('/') {
        Some((u, per)) => (u, Some(per)),
        None => (unit, None),
    };
    let text = match scale_unit {
        "ns" => format_seconds(value * 1e-9),
        "us" | "µs" => format_seconds(value * 1e-6),
        "ms" => format_seconds(value * 1e-3),
        "s" => format_seconds(value),
        "instructions" | "instr" | "Ir" | "cycles" | "ops" | "bytes" => {
            format!("{} {scale_unit}", format_count(value))
        }
        _ => format!("{} {scale_unit}", trim_float(value)),
    };
    match per {
        Some(per) => format!("{text}/{per}"),
        None => text,
    }
}

fn format_seconds(seconds: f64) -> String {
    let abs = seconds.abs();
    if abs >= 1.0 {
        format!("{} s", three_digits(seconds))
    } else if abs >= 1e-3 {
        format!("{} ms", three_digits(seconds * 1e3))
    } else if abs >= 1e-6 {
        format!("{} µs", three_digits(seconds * 1e6))
    } else {
        format!("{} ns", three_digits(seconds * 1e9))
    }
}

/// Counts with a K/M/G suffix and three significant digits.
pub fn format_count(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1e9 {
        format!("{}G", three_digits(value / 1e9))
    } else if abs >= 1e6 {
        format!("{}M", three_digits(value / 1e6))
    } else if abs >= 1e3 {
        format!("{}K", three_digits(value / 1e3))
    } else {
        trim_float(value)
    }
}

/// Three significant digits, without trailing noise: 1.23, 12.3, 123.
fn three_digits(value: f64) -> String {
    let abs = value.abs();
    if abs >= 100.0 {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn trim_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        three_digits(value)
    }
}

/// Peak memory in KiB as KiB, MiB or GiB.
pub fn format_kib(kib: u64) -> String {
    let kib_f = kib as f64;
    if kib_f >= 1024.0 * 1024.0 {
        format!("{} GiB", three_digits(kib_f / (1024.0 * 1024.0)))
    } else if kib_f >= 1024.0 {
        format!("{} MiB", three_digits(kib_f / 1024.0))
    } else {
        format!("{kib} KiB")
    }
}

/// A signed percentage: `+30.0%`, `-2.1%`.
pub fn format_pct(pct: f64) -> String {
    if !pct.is_finite() {
        return "n/a".to_string();
    }
    format!("{pct:+.1}%")
}

/// An interval of percentages: `[+25.1%, +34.8%]`.
pub fn format_pct_interval(low: f64, high: f64) -> String {
    format!("[{}, {}]", format_pct(low), format_pct(high))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_scale_to_readable_units() {
        assert_eq!(format_value(512.0, "ns/iter"), "512 ns/iter");
        assert_eq!(format_value(1_234.5, "ns/iter"), "1.23 µs/iter");
        assert_eq!(format_value(45_600_000.0, "ns"), "45.6 ms");
        assert_eq!(format_value(2.5e9, "ns"), "2.50 s");
    }

    #[test]
    fn counts_and_other_units() {
        assert_eq!(
            format_value(1_520_000.0, "instructions"),
            "1.52M instructions"
        );
        assert_eq!(format_value(950.0, "instructions"), "950 instructions");
        assert_eq!(format_value(3.25, "MB/s"), "3.25 MB/s");
        assert_eq!(format_value(f64::NAN, "ns"), "n/a");
    }

    #[test]
    fn memory_and_percentages() {
        assert_eq!(format_kib(512), "512 KiB");
        assert_eq!(format_kib(20_480), "20.0 MiB");
        assert_eq!(format_kib(3 * 1024 * 1024), "3.00 GiB");
        assert_eq!(format_pct(30.0), "+30.0%");
        assert_eq!(format_pct(-2.14), "-2.1%");
        assert_eq!(format_pct_interval(25.12, 34.8), "[+25.1%, +34.8%]");
    }
}
