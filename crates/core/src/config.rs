//! `.perf-fixer.toml`: the repository's own settings (DESIGN.md, "Repository config").
//!
//! [`RepoConfig::parse`] takes the file's text (core does no I/O) and a label for messages.
//! Every error names that label, the dotted key (`bench.format`) and, when the key or value
//! is in the file, its line and column. Unknown keys are errors, with a "did you mean" for near
//! misses, so a typo never silently turns into a default.
//!
//! ```toml
//! [bench]
//! command = "cargo bench --bench parse -- --noplot"   # required; run from the repo root
//! format = "criterion"          # required: criterion | divan | gungraun | libtest | json
//! output = "target/criterion"   # criterion: defaults to target/criterion; json: required
//! timeout_secs = 1800           # optional wall-clock limit of one run of the command
//! [test]                        # optional
//! command = "cargo test --release"
//! [gate]                        # optional
//! threshold_pct = 5             # default 5
//! max_attempts = 2              # default 2
//! min_pairs = 4                 # optional, see crate::stats::SequentialPlan
//! max_pairs = 12                # optional
//! [fix]                         # optional
//! paths = ["src/**", "Cargo.toml"]   # default; nothing under .github/
//! ```

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::stats::{DecisionParams, SequentialPlan};

/// Where the config lives, relative to the repository root.
pub const CONFIG_FILE: &str = ".perf-fixer.toml";

/// Default of `gate.threshold_pct` (DESIGN.md).
pub const DEFAULT_THRESHOLD_PCT: f64 = 5.0;
/// Default of `gate.max_attempts` (DESIGN.md).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 2;
/// Default of `bench.output` for `format = "criterion"`: criterion's own output directory.
pub const DEFAULT_CRITERION_OUTPUT: &str = "target/criterion";
/// Default of `fix.paths`: the sources and the manifest (the example of DESIGN.md).
pub const DEFAULT_FIX_PATHS: [&str; 2] = ["src/**", "Cargo.toml"];
/// Upper bound of `gate.max_pairs`: past it a comparison costs more than it can tell.
pub const MAX_PAIRS_LIMIT: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoConfig {
    pub bench: BenchConfig,
    /// `[test]`: absent means the repository declared no test command.
    pub test: Option<TestConfig>,
    pub gate: GateConfig,
    pub fix: FixConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchFormat {
    Criterion,
    Gungraun,
    Libtest,
    /// divan's table on standard output: each benchmark's median.
    Divan,
    Json,
}

impl BenchFormat {
    /// The spelling used in `.perf-fixer.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            BenchFormat::Criterion => "criterion",
            BenchFormat::Gungraun => "gungraun",
            BenchFormat::Libtest => "libtest",
            BenchFormat::Divan => "divan",
            BenchFormat::Json => "json",
        }
    }

    const ALL: [BenchFormat; 5] = [
        BenchFormat::Criterion,
        BenchFormat::Gungraun,
        BenchFormat::Libtest,
        BenchFormat::Divan,
        BenchFormat::Json,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Shell command line, run from the repository root.
    pub command: String,
    pub format: BenchFormat,
    /// Where results land, relative to the repository root (criterion: its output directory;
    /// json: the file the command writes). `None` means the command's stdout is parsed.
    pub output: Option<String>,
    /// `bench.timeout_secs`: wall-clock limit of one run of the bench command, in seconds.
    /// `None`: the runner's own default.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestConfig {
    /// Shell command line, run from the repository root; exit 0 means the tests pass.
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateConfig {
    /// Smallest change worth acting on, in percent (default 5; 0 < x < 1000).
    pub threshold_pct: f64,
    /// Patch rounds per regression (default 2; 1..=10).
    pub max_attempts: u32,
    /// `gate.min_pairs`: base/head run pairs before the first decision.
    /// `None`: [`SequentialPlan::default`].
    #[serde(default)]
    pub min_pairs: Option<usize>,
    /// `gate.max_pairs`: the budget of run pairs; past it an undecided benchmark is
    /// inconclusive. `None`: [`SequentialPlan::default`].
    #[serde(default)]
    pub max_pairs: Option<usize>,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            threshold_pct: DEFAULT_THRESHOLD_PCT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            min_pairs: None,
            max_pairs: None,
        }
    }
}

impl GateConfig {
    /// The decision parameters for this gate: its threshold, the statistical defaults.
    pub fn decision_params(&self) -> DecisionParams {
        DecisionParams::with_threshold(self.threshold_pct)
    }

    /// How many run pairs to take: `min_pairs`/`max_pairs` over [`SequentialPlan::default`].
    /// A `max_pairs` below the effective `min_pairs` lowers `min_pairs` to it.
    pub fn sequential_plan(&self) -> SequentialPlan {
        let default = SequentialPlan::default();
        let max_pairs = self
            .max_pairs
            .unwrap_or(default.max_pairs.max(self.min_pairs.unwrap_or(0)));
        let min_pairs = self.min_pairs.unwrap_or(default.min_pairs).min(max_pairs);
        SequentialPlan {
            min_pairs,
            max_pairs,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixConfig {
    /// Globs (relative to the repository root) of the files patches may touch.
    /// Default [`DEFAULT_FIX_PATHS`]; nothing under `.github/`, no absolute paths, no `..`.
    pub paths: Vec<String>,
}

impl Default for FixConfig {
    fn default() -> Self {
        FixConfig {
            paths: DEFAULT_FIX_PATHS.iter().map(|p| (*p).to_string()).collect(),
        }
    }
}

/// A problem in `.perf-fixer.toml`, located as precisely as the file allows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The label given to [`RepoConfig::parse`], e.g. `.perf-fixer.toml at abc123`.
    pub file: String,
    /// Dotted key, e.g. `bench.format`; `None` for a TOML syntax error.
    pub key: Option<String>,
    /// 1-based line and column of the offending key or value, when it is in the file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// What is wrong (boxed to keep `Result<_, ConfigError>` small).
    pub kind: Box<ConfigErrorKind>,
}

impl ConfigError {
    fn render(&self) -> String {
        let mut out = self.file.clone();
        if let Some(line) = self.line {
            out.push_str(&format!(", line {line}"));
            if let Some(column) = self.column {
                out.push_str(&format!(", column {column}"));
            }
        }
        out.push_str(": ");
        if let Some(key) = &self.key {
            out.push_str(&format!("`{key}`: "));
        }
        out.push_str(&self.kind.to_string());
        out
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigErrorKind {
    #[error("invalid TOML: {0}")]
    Syntax(String),
    #[error("unknown key{}; expected one of: {}", did_you_mean(.suggestion), .expected.join(", "))]
    UnknownKey {
        suggestion: Option<String>,
        expected: Vec<&'static str>,
    },
    #[error("required key is missing; {hint}")]
    Missing { hint: String },
    #[error("expected {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

impl RepoConfig {
    /// Parses the text of `.perf-fixer.toml`. `file` labels the file in messages
    /// (e.g. `.perf-fixer.toml at abc123`).
    pub fn parse(text: &str, file: &str) -> Result<RepoConfig, ConfigError> {
        let cx = Cx { text, file };
        let root = DeTable::parse(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            ConfigError {
                file: file.to_string(),
                key: None,
                line,
                column,
                kind: Box::new(ConfigErrorKind::Syntax(e.message().trim().to_string())),
            }
        })?;
        let root = root.get_ref();
        cx.deny_unknown(root, "", &["bench", "test", "gate", "fix"])?;

        let Some((bench, bench_span)) = cx.table(root, "", "bench")? else {
            return Err(cx.error(
                "bench",
                None,
                ConfigErrorKind::Missing {
                    hint: "add a [bench] table with `command` and `format`".to_string(),
                },
            ));
        };
        let bench = cx.bench(bench, bench_span)?;

        let test = match cx.table(root, "", "test")? {
            None => None,
            Some((table, span)) => {
                cx.deny_unknown(table, "test", &["command"])?;
                let command = cx.required_command(table, "test", span)?;
                Some(TestConfig { command })
            }
        };

        let gate = match cx.table(root, "", "gate")? {
            None => GateConfig::default(),
            Some((table, _)) => cx.gate(table)?,
        };

        let fix = match cx.table(root, "", "fix")? {
            None => FixConfig::default(),
            Some((table, _)) => cx.fix(table)?,
        };

        Ok(RepoConfig {
            bench,
            test,
            gate,
            fix,
        })
    }
}

/// The text and label, for locating errors.
struct Cx<'a> {
    text: &'a str,
    file: &'a str,
}

type Entry<'t, 'i> = (
    &'t Spanned<std::borrow::Cow<'i, str>>,
    &'t Spanned<DeValue<'i>>,
);

impl Cx<'_> {
    fn error(&self, key: &str, span: Option<Range<usize>>, kind: ConfigErrorKind) -> ConfigError {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = line_col(self.text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError {
            file: self.file.to_string(),
            key: Some(key.to_string()),
            line,
            column,
            kind: Box::new(kind),
        }
    }

    fn deny_unknown(
        &self,
        table: &DeTable<'_>,
        prefix: &str,
        allowed: &[&'static str],
    ) -> Result<(), ConfigError> {
        // The map is ordered by key; report the unknown key that comes first in the file.
        let unknown = table
            .iter()
            .filter(|(k, _)| !allowed.contains(&k.get_ref().as_ref()))
            .min_by_key(|(k, _)| k.span().start);
        if let Some((key, _)) = unknown {
            let name = key.get_ref().as_ref();
            let suggestion = closest(name, allowed).map(|s| dotted(prefix, s));
            return Err(self.error(
                &dotted(prefix, name),
                Some(key.span()),
                ConfigErrorKind::UnknownKey {
                    suggestion,
                    expected: allowed.to_vec(),
                },
            ));
        }
        Ok(())
    }

    fn entry<'t, 'i>(table: &'t DeTable<'i>, name: &str) -> Option<Entry<'t, 'i>> {
        table.iter().find(|(k, _)| k.get_ref().as_ref() == name)
    }

    /// A sub-table, with the span of its name (the `[bench]` header or the dotted key).
    fn table<'t, 'i>(
        &self,
        parent: &'t DeTable<'i>,
        prefix: &str,
        name: &str,
    ) -> Result<Option<(&'t DeTable<'i>, Range<usize>)>, ConfigError> {
        match Self::entry(parent, name) {
            None => Ok(None),
            Some((key, value)) => match value.get_ref() {
                DeValue::Table(t) => Ok(Some((t, key.span()))),
                other => Err(self.error(
                    &dotted(prefix, name),
                    Some(value.span()),
                    ConfigErrorKind::WrongType {
                        expected: "a table",
                        found: type_name(other),
                    },
                )),
            },
        }
    }

    fn string(
        &self,
        table: &DeTable<'_>,
        prefix: &str,
        name: &str,
    ) -> Result<Option<(String, Range<usize>)>, ConfigError> {
        match Self::entry(table, name) {
            None => Ok(None),
            Some((_, value)) => match value.get_ref() {
                DeValue::String(s) => Ok(Some((s.to_string(), value.span()))),
                other => Err(self.error(
                    &dotted(prefix, name),
                    Some(value.span()),
                    ConfigErrorKind::WrongType {
                        expected: "a string",
                        found: type_name(other),
                    },
                )),
            },
        }
    }

    fn integer(
        &self,
        table: &DeTable<'_>,
        prefix: &str,
        name: &str,
    ) -> Result<Option<(i64, Range<usize>)>, ConfigError> {
        let key = dotted(prefix, name);
        match Self::entry(table, name) {
            None => Ok(None),
            Some((_, value)) => match value.get_ref() {
                DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) => Ok(Some((n, value.span()))),
                    Err(_) => Err(self.error(
                        &key,
                        Some(value.span()),
                        ConfigErrorKind::Invalid(format!("integer {i} is out of range")),
                    )),
                },
                other => Err(self.error(
                    &key,
                    Some(value.span()),
                    ConfigErrorKind::WrongType {
                        expected: "an integer",
                        found: type_name(other),
                    },
                )),
            },
        }
    }

    fn number(
        &self,
        table: &DeTable<'_>,
        prefix: &str,
        name: &str,
    ) -> Result<Option<(f64, Range<usize>)>, ConfigError> {
        let key = dotted(prefix, name);
        match Self::entry(table, name) {
            None => Ok(None),
            Some((_, value)) => {
                let parsed = match value.get_ref() {
                    DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                        .ok()
                        .map(|n| n as f64),
                    DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
                    other => {
                        return Err(self.error(
                            &key,
                            Some(value.span()),
                            ConfigErrorKind::WrongType {
                                expected: "a number",
                                found: type_name(other),
                            },
                        ));
                    }
                };
                match parsed {
                    Some(n) => Ok(Some((n, value.span()))),
                    None => Err(self.error(
                        &key,
                        Some(value.span()),
                        ConfigErrorKind::Invalid("not a representable number".to_string()),
                    )),
                }
            }
        }
    }

    /// A required, non-blank `command` key of `[bench]` or `[test]`.
    fn required_command(
        &self,
        table: &DeTable<'_>,
        prefix: &str,
        table_span: Range<usize>,
    ) -> Result<String, ConfigError> {
        let key = dotted(prefix, "command");
        match self.string(table, prefix, "command")? {
            None => Err(self.error(
                &key,
                Some(table_span),
                ConfigErrorKind::Missing {
                    hint: format!(
                        "add `command = \"...\"` under [{prefix}] (a shell command run from the \
                         repository root)"
                    ),
                },
            )),
            Some((command, span)) if command.trim().is_empty() => Err(self.error(
                &key,
                Some(span),
                ConfigErrorKind::Invalid("the command is empty".to_string()),
            )),
            Some((command, _)) => Ok(command),
        }
    }

    fn bench(
        &self,
        table: &DeTable<'_>,
        table_span: Range<usize>,
    ) -> Result<BenchConfig, ConfigError> {
        self.deny_unknown(
            table,
            "bench",
            &["command", "format", "output", "timeout_secs"],
        )?;
        let command = self.required_command(table, "bench", table_span.clone())?;
        let names: Vec<&'static str> = BenchFormat::ALL.iter().map(|f| f.as_str()).collect();
        let format = match self.string(table, "bench", "format")? {
            None => {
                return Err(self.error(
                    "bench.format",
                    Some(table_span),
                    ConfigErrorKind::Missing {
                        hint: format!("add `format = \"...\"`, one of: {}", names.join(", ")),
                    },
                ));
            }
            Some((text, span)) => match BenchFormat::ALL.iter().find(|f| f.as_str() == text) {
                Some(format) => *format,
                None => {
                    return Err(self.error(
                        "bench.format",
                        Some(span),
                        ConfigErrorKind::Invalid(format!(
                            "unknown format \"{text}\"{}; expected one of: {}",
                            did_you_mean(&closest(&text, &names).map(str::to_string)),
                            names.join(", ")
                        )),
                    ));
                }
            },
        };
        let output = match (format, self.string(table, "bench", "output")?) {
            (_, Some((path, span))) if path.trim().is_empty() => {
                return Err(self.error(
                    "bench.output",
                    Some(span),
                    ConfigErrorKind::Invalid("the path is empty".to_string()),
                ));
            }
            (BenchFormat::Criterion, None) => Some(DEFAULT_CRITERION_OUTPUT.to_string()),
            (BenchFormat::Json, None) => {
                return Err(self.error(
                    "bench.output",
                    Some(table_span),
                    ConfigErrorKind::Missing {
                        hint: "format = \"json\" reads the file the command writes; add \
                               `output = \"path/to/results.json\"` (relative to the repository \
                               root)"
                            .to_string(),
                    },
                ));
            }
            (
                BenchFormat::Gungraun | BenchFormat::Libtest | BenchFormat::Divan,
                Some((_, span)),
            ) => {
                return Err(self.error(
                    "bench.output",
                    Some(span),
                    ConfigErrorKind::Invalid(format!(
                        "format = \"{}\" is read from the command's standard output; remove \
                         `output`",
                        format.as_str()
                    )),
                ));
            }
            (BenchFormat::Gungraun | BenchFormat::Libtest | BenchFormat::Divan, None) => None,
            (_, Some((path, span))) => {
                self.relative_path("bench.output", &path, span)?;
                Some(path)
            }
        };
        let timeout_secs = match self.integer(table, "bench", "timeout_secs")? {
            None => None,
            Some((n, span)) => match u64::try_from(n) {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(self.error(
                        "bench.timeout_secs",
                        Some(span),
                        ConfigErrorKind::Invalid(format!(
                            "{n} is not a positive number of seconds"
                        )),
                    ));
                }
            },
        };
        Ok(BenchConfig {
            command,
            format,
            output,
            timeout_secs,
        })
    }

    fn gate(&self, table: &DeTable<'_>) -> Result<GateConfig, ConfigError> {
        self.deny_unknown(
            table,
            "gate",
            &["threshold_pct", "max_attempts", "min_pairs", "max_pairs"],
        )?;
        let mut gate = GateConfig::default();
        if let Some((pct, span)) = self.number(table, "gate", "threshold_pct")? {
            if !(pct > 0.0 && pct < 1000.0) {
                return Err(self.error(
                    "gate.threshold_pct",
                    Some(span),
                    ConfigErrorKind::Invalid(format!(
                        "{pct} is out of range; a percentage above 0 and below 1000 (e.g. 5)"
                    )),
                ));
            }
            gate.threshold_pct = pct;
        }
        if let Some((n, span)) = self.integer(table, "gate", "max_attempts")? {
            gate.max_attempts = match u32::try_from(n) {
                Ok(n @ 1..=10) => n,
                _ => {
                    return Err(self.error(
                        "gate.max_attempts",
                        Some(span),
                        ConfigErrorKind::Invalid(format!("{n} is out of range 1..=10")),
                    ));
                }
            };
        }
        let pairs =
            |name: &str, min: usize| -> Result<Option<(usize, Range<usize>)>, ConfigError> {
                let key = dotted("gate", name);
                match self.integer(table, "gate", name)? {
                    None => Ok(None),
                    Some((n, span)) => match usize::try_from(n) {
                        Ok(n) if (min..=MAX_PAIRS_LIMIT).contains(&n) => Ok(Some((n, span))),
                        _ => Err(self.error(
                            &key,
                            Some(span),
                            ConfigErrorKind::Invalid(format!(
                                "{n} is out of range {min}..={MAX_PAIRS_LIMIT}"
                            )),
                        )),
                    },
                }
            };
        // Below 4 pairs the rank test cannot reach p < 0.05, so nothing could ever be decided.
        let min_pairs = pairs("min_pairs", SequentialPlan::SMALLEST_USEFUL)?;
        let max_pairs = pairs("max_pairs", SequentialPlan::SMALLEST_USEFUL)?;
        if let (Some((min, _)), Some((max, span))) = (&min_pairs, &max_pairs)
            && max < min
        {
            return Err(self.error(
                "gate.max_pairs",
                Some(span.clone()),
                ConfigErrorKind::Invalid(format!(
                    "{max} is below gate.min_pairs = {min}; the budget must allow the first decision"
                )),
            ));
        }
        gate.min_pairs = min_pairs.map(|(n, _)| n);
        gate.max_pairs = max_pairs.map(|(n, _)| n);
        Ok(gate)
    }

    fn fix(&self, table: &DeTable<'_>) -> Result<FixConfig, ConfigError> {
        self.deny_unknown(table, "fix", &["paths"])?;
        let Some((_, value)) = Self::entry(table, "paths") else {
            return Ok(FixConfig::default());
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.error(
                "fix.paths",
                Some(value.span()),
                ConfigErrorKind::WrongType {
                    expected: "an array of strings",
                    found: type_name(value.get_ref()),
                },
            ));
        };
        if items.is_empty() {
            return Err(self.error(
                "fix.paths",
                Some(value.span()),
                ConfigErrorKind::Invalid(
                    "no paths: patches could touch nothing; list globs such as \"src/**\""
                        .to_string(),
                ),
            ));
        }
        let mut paths = Vec::with_capacity(items.len());
        for item in items.iter() {
            let DeValue::String(path) = item.get_ref() else {
                return Err(self.error(
                    "fix.paths",
                    Some(item.span()),
                    ConfigErrorKind::WrongType {
                        expected: "a string",
                        found: type_name(item.get_ref()),
                    },
                ));
            };
            self.relative_path("fix.paths", path, item.span())?;
            let normalized = path.trim_start_matches("./");
            if normalized == ".github" || normalized.starts_with(".github/") {
                return Err(self.error(
                    "fix.paths",
                    Some(item.span()),
                    ConfigErrorKind::Invalid(format!(
                        "\"{path}\": patches never touch .github/ (workflows run with the \
                         repository's secrets)"
                    )),
                ));
            }
            paths.push(path.to_string());
        }
        Ok(FixConfig { paths })
    }

    /// A path or glob that stays inside the repository.
    fn relative_path(&self, key: &str, path: &str, span: Range<usize>) -> Result<(), ConfigError> {
        let reason = if path.trim().is_empty() {
            Some("the path is empty")
        } else if path.starts_with('/') || path.starts_with('\\') || path.contains(':') {
            Some("must be relative to the repository root")
        } else if path.split(['/', '\\']).any(|part| part == "..") {
            Some("must stay inside the repository (no `..`)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(self.error(
                key,
                Some(span),
                ConfigErrorKind::Invalid(format!("\"{path}\": {reason}")),
            )),
            None => Ok(()),
        }
    }
}

fn dotted(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The allowed name closest to `name`, if it is a near miss (case, `-` for `_`, or a couple of
/// typos).
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let name_n = norm(name);
    allowed
        .iter()
        .map(|candidate| (edit_distance(&name_n, &norm(candidate)), *candidate))
        .map(|(d, candidate)| {
            // A prefix (`threshold` for `threshold_pct`) is as near as a one-letter typo.
            let c = norm(candidate);
            let prefix = name_n.len() >= 3 && (c.starts_with(&name_n) || name_n.starts_with(&c));
            (if prefix { d.min(1) } else { d }, candidate)
        })
        .filter(|(d, candidate)| *d <= 2.max(candidate.len() / 4) && *d < candidate.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const FILE: &str = ".perf-fixer.toml at abc123";

    fn parse(text: &str) -> Result<RepoConfig, ConfigError> {
        RepoConfig::parse(text, FILE)
    }

    fn err(text: &str) -> ConfigError {
        parse(text).expect_err("config should be rejected")
    }

    /// The message names the file, the key and the line.
    fn assert_located(e: &ConfigError, key: &str, line: usize) {
        let msg = e.to_string();
        assert_eq!(e.key.as_deref(), Some(key), "{msg}");
        assert_eq!(e.line, Some(line), "{msg}");
        assert!(msg.starts_with(FILE), "{msg}");
        assert!(msg.contains(&format!("`{key}`")), "{msg}");
        assert!(msg.contains(&format!("line {line}")), "{msg}");
    }

    #[test]
    fn full_example_from_design() {
        let text = r#"
[bench]
command = "cargo bench --bench parse -- --noplot"   # run from the repo root
format = "criterion"          # criterion | gungraun | libtest | json
output = "target/criterion"   # where results land; for json, the file the command writes
[test]
command = "cargo test --release"
[gate]
threshold_pct = 5             # smallest change worth acting on
max_attempts = 2              # patch rounds per regression
[fix]
paths = ["src/**", "Cargo.toml"]   # what patches may touch; .github/ never
"#;
        let config = parse(text).unwrap();
        assert_eq!(
            config,
            RepoConfig {
                bench: BenchConfig {
                    command: "cargo bench --bench parse -- --noplot".into(),
                    format: BenchFormat::Criterion,
                    output: Some("target/criterion".into()),
                    timeout_secs: None,
                },
                test: Some(TestConfig {
                    command: "cargo test --release".into()
                }),
                gate: GateConfig {
                    threshold_pct: 5.0,
                    max_attempts: 2,
                    min_pairs: None,
                    max_pairs: None
                },
                fix: FixConfig {
                    paths: vec!["src/**".into(), "Cargo.toml".into()]
                },
            }
        );
    }

    #[test]
    fn minimal_config_takes_the_documented_defaults() {
        let config = parse("[bench]\ncommand = \"cargo bench\"\nformat = \"criterion\"\n").unwrap();
        assert_eq!(config.bench.output.as_deref(), Some("target/criterion"));
        assert_eq!(config.test, None);
        assert_eq!(config.gate.threshold_pct, 5.0);
        assert_eq!(config.gate.max_attempts, 2);
        assert_eq!(
            config.fix.paths,
            vec!["src/**".to_string(), "Cargo.toml".to_string()]
        );
        assert_eq!(config.gate.sequential_plan(), SequentialPlan::default());
        assert_eq!(config.gate.decision_params().threshold_pct, 5.0);
    }

    #[test]
    fn stdout_formats_have_no_output() {
        for format in ["libtest", "gungraun"] {
            let text = format!("[bench]\ncommand = \"x\"\nformat = \"{format}\"\n");
            assert_eq!(parse(&text).unwrap().bench.output, None);
        }
    }

    #[test]
    fn json_needs_output() {
        let e = err("[bench]\ncommand = \"x\"\nformat = \"json\"\n");
        assert_located(&e, "bench.output", 1);
        assert!(matches!(*e.kind, ConfigErrorKind::Missing { .. }));
        let ok = parse("[bench]\ncommand = \"x\"\nformat = \"json\"\noutput = \"out/b.json\"\n");
        assert_eq!(ok.unwrap().bench.output.as_deref(), Some("out/b.json"));
    }

    #[test]
    fn dotted_keys_and_inline_tables_are_accepted() {
        let config = parse(
            "bench = { command = \"cargo bench\", format = \"libtest\" }\ngate.threshold_pct = 2.5\n",
        )
        .unwrap();
        assert_eq!(config.bench.format, BenchFormat::Libtest);
        assert_eq!(config.gate.threshold_pct, 2.5);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e = err("[bench]\ncommand = \"x\"\nformat = criterion\n");
        assert!(matches!(*e.kind, ConfigErrorKind::Syntax(_)));
        assert_eq!(e.line, Some(3));
        let msg = e.to_string();
        assert!(msg.starts_with(FILE) && msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn missing_bench_table() {
        let e = err("[gate]\nthreshold_pct = 5\n");
        assert_eq!(e.key.as_deref(), Some("bench"));
        assert!(matches!(*e.kind, ConfigErrorKind::Missing { .. }));
        assert!(e.to_string().contains("[bench]"), "{e}");
    }

    #[test]
    fn missing_command_points_at_the_table() {
        let e = err("\n[bench]\nformat = \"criterion\"\n");
        assert_located(&e, "bench.command", 2);
        assert!(matches!(*e.kind, ConfigErrorKind::Missing { .. }));
    }

    #[test]
    fn missing_format() {
        let e = err("[bench]\ncommand = \"x\"\n");
        assert_located(&e, "bench.format", 1);
        assert!(
            e.to_string()
                .contains("criterion, gungraun, libtest, divan, json"),
            "{e}"
        );
    }

    #[test]
    fn divan_is_read_from_stdout() {
        let config = parse("[bench]\ncommand = \"cargo bench\"\nformat = \"divan\"\n").unwrap();
        assert_eq!(config.bench.format, BenchFormat::Divan);
        assert_eq!(config.bench.output, None);
        let e = err("[bench]\ncommand = \"cargo bench\"\nformat = \"divan\"\noutput = \"x\"\n");
        assert_located(&e, "bench.output", 4);
    }

    #[test]
    fn empty_commands_are_rejected() {
        let e = err("[bench]\ncommand = \"  \"\nformat = \"criterion\"\n");
        assert_located(&e, "bench.command", 2);
        let e = err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[test]\ncommand = \"\"\n");
        assert_located(&e, "test.command", 5);
        let e = err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[test]\n");
        assert_located(&e, "test.command", 4);
    }

    #[test]
    fn unknown_format_suggests_the_near_miss() {
        let e = err("[bench]\ncommand = \"x\"\nformat = \"critrion\"\n");
        assert_located(&e, "bench.format", 3);
        assert_eq!(e.column, Some(10));
        assert!(e.to_string().contains("did you mean `criterion`?"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors_with_suggestions() {
        let e = err("[bench]\ncomand = \"x\"\nformat = \"criterion\"\n");
        assert_located(&e, "bench.comand", 2);
        assert_eq!(e.column, Some(1));
        match &*e.kind {
            ConfigErrorKind::UnknownKey { suggestion, .. } => {
                assert_eq!(suggestion.as_deref(), Some("bench.command"))
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            e.to_string().contains("did you mean `bench.command`?"),
            "{e}"
        );

        let e = err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\nthreshold = 3\n");
        assert_located(&e, "gate.threshold", 5);
        assert!(
            e.to_string().contains("did you mean `gate.threshold_pct`?"),
            "{e}"
        );

        let e = err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[tests]\ncommand = \"t\"\n");
        assert_located(&e, "tests", 4);
        assert!(e.to_string().contains("did you mean `test`?"), "{e}");

        let e = err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\ncolour = \"blue\"\n");
        assert_located(&e, "bench.colour", 4);
        match &*e.kind {
            ConfigErrorKind::UnknownKey {
                suggestion,
                expected,
            } => {
                assert_eq!(suggestion, &None);
                assert!(expected.contains(&"command"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn first_unknown_key_in_file_order_is_reported() {
        let e = err("[bench]\nzzz = 1\naaa = 2\ncommand = \"x\"\nformat = \"criterion\"\n");
        assert_located(&e, "bench.zzz", 2);
    }

    #[test]
    fn wrong_types_name_expected_and_found() {
        let e = err("[bench]\ncommand = 3\nformat = \"criterion\"\n");
        assert_located(&e, "bench.command", 2);
        assert_eq!(
            *e.kind,
            ConfigErrorKind::WrongType {
                expected: "a string",
                found: "an integer"
            }
        );
        let e = err("bench = \"cargo bench\"\n");
        assert_located(&e, "bench", 1);
        let e = err(
            "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\nthreshold_pct = \"5\"\n",
        );
        assert_located(&e, "gate.threshold_pct", 5);
        let e =
            err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\nmax_attempts = 2.5\n");
        assert_located(&e, "gate.max_attempts", 5);
        let e =
            err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[fix]\npaths = \"src/**\"\n");
        assert_located(&e, "fix.paths", 5);
        let e = err(
            "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[fix]\npaths = [\"src/**\", 3]\n",
        );
        assert_located(&e, "fix.paths", 5);
        assert_eq!(e.column, Some(20));
    }

    #[test]
    fn threshold_must_be_a_sane_percentage() {
        for bad in ["0", "-1", "1000", "nan", "inf", "5000.5"] {
            let text = format!(
                "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\nthreshold_pct = {bad}\n"
            );
            let e = err(&text);
            assert_located(&e, "gate.threshold_pct", 5);
            assert!(matches!(*e.kind, ConfigErrorKind::Invalid(_)), "{bad}: {e}");
        }
        let ok = parse(
            "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\nthreshold_pct = 0.5\n",
        );
        assert_eq!(ok.unwrap().gate.threshold_pct, 0.5);
    }

    #[test]
    fn max_attempts_range() {
        for bad in ["0", "11", "-3"] {
            let text = format!(
                "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\nmax_attempts = {bad}\n"
            );
            assert_located(&err(&text), "gate.max_attempts", 5);
        }
        let ok =
            parse("[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\nmax_attempts = 10\n");
        assert_eq!(ok.unwrap().gate.max_attempts, 10);
    }

    #[test]
    fn pair_budget() {
        let base = "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[gate]\n";
        let ok = parse(&format!("{base}min_pairs = 5\nmax_pairs = 30\n")).unwrap();
        assert_eq!(
            ok.gate.sequential_plan(),
            SequentialPlan {
                min_pairs: 5,
                max_pairs: 30
            }
        );
        assert_located(&err(&format!("{base}min_pairs = 2\n")), "gate.min_pairs", 5);
        assert_located(
            &err(&format!("{base}max_pairs = 1000\n")),
            "gate.max_pairs",
            5,
        );
        assert_located(
            &err(&format!("{base}min_pairs = 8\nmax_pairs = 6\n")),
            "gate.max_pairs",
            6,
        );
        // Only one bound given: the other follows so the plan stays consistent.
        let only_max = parse(&format!("{base}max_pairs = 4\n"))
            .unwrap()
            .gate
            .sequential_plan();
        assert_eq!(
            only_max,
            SequentialPlan {
                min_pairs: 4,
                max_pairs: 4
            }
        );
        let only_min = parse(&format!("{base}min_pairs = 50\n"))
            .unwrap()
            .gate
            .sequential_plan();
        assert_eq!(
            only_min,
            SequentialPlan {
                min_pairs: 50,
                max_pairs: 50
            }
        );
    }

    #[test]
    fn timeout_must_be_positive() {
        let base = "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n";
        let ok = parse(&format!("{base}timeout_secs = 600\n")).unwrap();
        assert_eq!(ok.bench.timeout_secs, Some(600));
        assert_located(
            &err(&format!("{base}timeout_secs = 0\n")),
            "bench.timeout_secs",
            4,
        );
        assert_located(
            &err(&format!("{base}timeout_secs = -5\n")),
            "bench.timeout_secs",
            4,
        );
    }

    #[test]
    fn output_is_checked() {
        let e = err("[bench]\ncommand = \"x\"\nformat = \"libtest\"\noutput = \"out.txt\"\n");
        assert_located(&e, "bench.output", 4);
        let e = err("[bench]\ncommand = \"x\"\nformat = \"json\"\noutput = \"/tmp/x.json\"\n");
        assert_located(&e, "bench.output", 4);
        let e = err("[bench]\ncommand = \"x\"\nformat = \"json\"\noutput = \"../x.json\"\n");
        assert_located(&e, "bench.output", 4);
        let e = err("[bench]\ncommand = \"x\"\nformat = \"criterion\"\noutput = \"\"\n");
        assert_located(&e, "bench.output", 4);
    }

    #[test]
    fn fix_paths_never_reach_github_or_leave_the_repo() {
        let base = "[bench]\ncommand = \"x\"\nformat = \"criterion\"\n[fix]\n";
        for bad in [
            ".github/**",
            "./.github/workflows/ci.yml",
            ".github",
            "/etc/passwd",
            "src/../../x",
        ] {
            let e = err(&format!("{base}paths = [\"src/**\", \"{bad}\"]\n"));
            assert_located(&e, "fix.paths", 5);
            assert!(matches!(*e.kind, ConfigErrorKind::Invalid(_)), "{bad}: {e}");
        }
        assert_located(&err(&format!("{base}paths = []\n")), "fix.paths", 5);
        let ok = parse(&format!(
            "{base}paths = [\"crates/*/src/**\", \".githubish/x\"]\n"
        ))
        .unwrap();
        assert_eq!(ok.fix.paths.len(), 2);
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 8), (2, 5));
        assert_eq!(line_col("", 3), (1, 1));
    }
}
