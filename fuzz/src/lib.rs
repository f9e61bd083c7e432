//! Helpers shared by the fuzz targets: splitting one input into several files, and a scratch
//! directory reused across runs (creating one per input would make the file system, not the
//! parser, the bottleneck).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use perf_fixer_bench::Collected;

/// Separates the files packed into one fuzz input (criterion's three JSON files). A NUL byte
/// never appears in valid JSON text, so a seed reads as the files it came from.
pub const FILE_SEPARATOR: u8 = 0;

/// Splits `data` at NUL bytes into at most `n` parts (the last part keeps any further NULs).
pub fn split_files(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |b| *b == FILE_SEPARATOR).collect()
}

/// A directory that lives as long as the fuzzing process.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        // Memory-backed when the system has one: file-system work per input is the slow part.
        let shm = Path::new("/dev/shm");
        let parent = if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() };
        tempfile::Builder::new()
            .prefix("perf-fixer-fuzz-")
            .tempdir_in(parent)
            .unwrap_or_else(|e| panic!("cannot create a scratch directory: {e}"))
    })
    .path()
}

/// `scratch_dir()/name`, emptied if it held anything from the previous input.
pub fn fresh_path(name: &str) -> PathBuf {
    let path = scratch_dir().join(name);
    if path.is_dir() {
        std::fs::remove_dir_all(&path).unwrap_or_else(|e| panic!("cannot clean {path:?}: {e}"));
    } else if path.exists() {
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("cannot clean {path:?}: {e}"));
    }
    path
}

/// What every adapter promises when it returns `Ok`: at least one value, each finite, and no
/// two under one name (duplicates are dropped with a warning).
pub fn check_collected(collected: &Collected) {
    assert!(!collected.values.is_empty(), "Ok with no values: {collected:?}");
    for value in &collected.values {
        assert!(value.value.is_finite(), "non-finite value: {value:?}");
    }
    let mut names: Vec<&str> = collected.values.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate names: {collected:?}");
}

/// Things every parsed profile must satisfy, and the code that reads profiles (diffing,
/// attribution, line lookups) must survive whatever a parser let through.
pub fn check_profile(profile: &perf_fixer_bench::profile::Profile) {
    for f in &profile.functions {
        if let (Some(start), Some(end)) = (f.start_line, f.end_line) {
            assert!(start <= end, "span {start}..{end} of {}", f.function);
        }
    }
    assert!(
        profile
            .functions
            .windows(2)
            .all(|w| w[0].self_cost >= w[1].self_cost),
        "functions not sorted by self cost"
    );
    let deltas = perf_fixer_bench::profile::diff_profiles(profile, profile);
    std::hint::black_box(&deltas);
    let attributed = profile.attributed_to("fuzz");
    std::hint::black_box(&attributed);
    if let Some(line) = profile.lines.first() {
        std::hint::black_box(profile.cost_of_lines(&line.file, line.line, u32::MAX));
    }
    std::hint::black_box(profile.cost_of_lines("", 0, u32::MAX));
}
