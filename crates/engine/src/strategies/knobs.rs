//! `knobs`: integer literals the culprit changed in suspect code (chunk sizes, capacities,
//! `const` sizes), with a small search around the value base used.
//!
//! A knob is an integer literal that differs between an old and a new line of the same hunk
//! whose other tokens are identical, in a place where a size is expected: `const`/`static`
//! items, `with_capacity(N)`, `reserve(N)`, `chunks(N)`, `windows(N)`, `step_by(N)`,
//! `[T; N]`/`[x; N]`, or a `let` whose name says it is a size.

use std::collections::BTreeMap;
use std::path::PathBuf;

use perf_fixer_core::report::Risk;

use super::Candidate;
use crate::hunks::FileHunk;
use crate::localize::{Suspect, same_file};

/// Calls whose argument decides which elements are produced, not just how fast: only base's
/// value is tried for them (a partial revert), never a value neither version used.
const SEMANTIC_CALLS: [&str; 3] = ["windows", "step_by", "take"];

/// Calls whose first argument is a size.
const SIZE_CALLS: [&str; 9] = [
    "with_capacity(",
    "reserve(",
    "reserve_exact(",
    "chunks(",
    "chunks_exact(",
    "rchunks(",
    "windows(",
    "step_by(",
    "take(",
];

/// Words in a `let` name that mark it as a size knob.
const SIZE_WORDS: [&str; 9] = [
    "size",
    "cap",
    "chunk",
    "batch",
    "len",
    "limit",
    "threshold",
    "buf",
    "block",
];

/// One integer literal the culprit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knob {
    pub file: String,
    /// What the literal sizes: `const CHUNK`, `with_capacity`, `array length`, ...
    pub context: String,
    /// Line in the culprit's version of the file.
    pub culprit_line: u32,
    /// The culprit's line, as it is there.
    pub new_line: String,
    /// Byte range of the literal in `new_line`.
    pub literal: (usize, usize),
    /// The literal's text before the culprit (kept as written, e.g. `4_096`).
    pub base_text: String,
    pub base: u64,
    pub head: u64,
}

/// Knobs in `hunks` that lie inside a suspect's span; a `const`/`static` counts when its name is
/// used inside a suspect's span (constants usually live outside the functions using them).
/// Without any suspect (profiling failed or found nothing), every knob the culprit changed
/// counts: the search is small and each candidate is validated anyway.
/// `culprit_file` reads a file as it is in the culprit.
pub fn find_knobs(
    hunks: &[FileHunk],
    suspects: &[Suspect],
    culprit_file: &dyn Fn(&str) -> Option<String>,
) -> Vec<Knob> {
    let unrestricted = suspects.is_empty();
    let mut out = Vec::new();
    for hunk in hunks {
        let file_suspects: Vec<&Suspect> = suspects
            .iter()
            .filter(|s| same_file(&s.file, &hunk.path))
            .collect();
        if file_suspects.is_empty() && !unrestricted {
            continue;
        }
        let culprit_text = culprit_file(&hunk.path).unwrap_or_default();
        let culprit_lines: Vec<&str> = culprit_text.lines().collect();
        for (i, new_line) in hunk.new_lines.iter().enumerate() {
            let line_no = hunk.new_start + i as u32;
            let Some(old_line) = pair_old_line(hunk, i, new_line) else {
                continue;
            };
            for (range, base_text, base, head) in changed_literals(old_line, new_line) {
                let Some(context) = knob_context(new_line, range.0, range.1) else {
                    continue;
                };
                let in_span = |s: &&Suspect| s.start_line <= line_no && line_no <= s.end_line;
                let relevant = unrestricted
                    || if let Some(name) = context.strip_prefix("const ") {
                        file_suspects.iter().any(|s| {
                            in_span(s) || uses_name(&culprit_lines, s.start_line, s.end_line, name)
                        })
                    } else {
                        file_suspects.iter().any(in_span)
                    };
                if relevant {
                    out.push(Knob {
                        file: hunk.path.clone(),
                        context,
                        culprit_line: line_no,
                        new_line: new_line.clone(),
                        literal: range,
                        base_text,
                        base,
                        head,
                    });
                }
            }
        }
    }
    out
}

/// The values to try for a knob: base's value first, then its halves and doubles and the
/// geometric middle between base and head; never head's own value, never zero.
pub fn search_values(base: u64, head: u64) -> Vec<u64> {
    let mid = ((base as f64) * (head as f64)).sqrt().round() as u64;
    let mut out = Vec::new();
    for v in [base, base / 2, base.saturating_mul(2), mid] {
        if v != 0 && v != head && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Candidates for every knob and every search value, applied to the file at head
/// (`head_file` reads it). A knob whose line cannot be found at head is left out.
pub fn candidates(
    knobs: &[Knob],
    commit: &str,
    head_file: &dyn Fn(&str) -> Option<String>,
) -> Vec<Candidate> {
    let short = commit.get(..10).unwrap_or(commit);
    let mut out = Vec::new();
    for knob in knobs {
        let Some(text) = head_file(&knob.file) else {
            continue;
        };
        let Some(line_start) = find_line(&text, &knob.new_line, knob.culprit_line) else {
            continue;
        };
        let (a, b) = knob.literal;
        let suffix = literal_suffix(&knob.new_line[a..b]);
        let values = if SEMANTIC_CALLS.contains(&knob.context.as_str()) {
            vec![knob.base]
        } else {
            search_values(knob.base, knob.head)
        };
        for value in values {
            let literal = if value == knob.base {
                knob.base_text.clone()
            } else {
                format!("{value}{suffix}")
            };
            let mut patched = String::with_capacity(text.len() + 8);
            patched.push_str(&text[..line_start + a]);
            patched.push_str(&literal);
            patched.push_str(&text[line_start + b..]);
            let (risk, risk_notes) = if value == knob.base {
                (
                    Risk::Low,
                    format!(
                        "Restores the value {} had before {short}; only that number changes. \
                         Memory use and batching return to what they were before.",
                        knob.context
                    ),
                )
            } else {
                (
                    Risk::Medium,
                    format!(
                        "A value neither version used ({value}; base {}, head {}): memory use \
                         and batching change, and code that relies on the exact size (buffer \
                         boundaries, array lengths) could behave differently.",
                        knob.base, knob.head
                    ),
                )
            };
            out.push(Candidate {
                strategy: "knobs",
                description: format!(
                    "Set {} in {}:{} to {value} (base {}, head {})",
                    knob.context, knob.file, knob.culprit_line, knob.base, knob.head
                ),
                files: BTreeMap::from([(PathBuf::from(&knob.file), patched)]),
                risk,
                risk_notes,
            });
        }
    }
    out
}

/// Byte offset at which `line` (with its terminator) starts in `text`, nearest to `line_no`.
fn find_line(text: &str, line: &str, line_no: u32) -> Option<usize> {
    let mut offset = 0;
    let mut best: Option<(u32, usize)> = None;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if l == line || l.trim_end_matches(['\r', '\n']) == line.trim_end_matches(['\r', '\n']) {
            let distance = (i as u32 + 1).abs_diff(line_no);
            if best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, offset));
            }
        }
        offset += l.len();
    }
    best.map(|(_, o)| o)
}

/// The old line paired with new line `i`: the same index when the hunk replaced as many lines
/// as it added, else the first old line with the same shape.
fn pair_old_line<'a>(hunk: &'a FileHunk, i: usize, new_line: &str) -> Option<&'a str> {
    if hunk.old_lines.len() == hunk.new_lines.len() {
        return hunk.old_lines.get(i).map(String::as_str);
    }
    let shape = mask_literals(new_line);
    hunk.old_lines
        .iter()
        .find(|o| mask_literals(o) == shape)
        .map(String::as_str)
}

/// Integer literals that differ between two lines whose other text is the same:
/// (byte range in `new`, old literal text, old value, new value).
fn changed_literals(old: &str, new: &str) -> Vec<((usize, usize), String, u64, u64)> {
    let (olds, news) = (literals(old), literals(new));
    if olds.len() != news.len() || mask_literals(old) != mask_literals(new) {
        return Vec::new();
    }
    olds.into_iter()
        .zip(news)
        .filter(|((_, _, ov), (_, _, nv))| ov != nv)
        .map(|((oa, ob, ov), (na, nb, nv))| ((na, nb), old[oa..ob].to_string(), ov, nv))
        .collect()
}

/// The text with each integer literal replaced by `#`, to compare line shapes.
fn mask_literals(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut last = 0;
    for (a, b, _) in literals(line) {
        out.push_str(&line[last..a]);
        out.push('#');
        last = b;
    }
    out.push_str(&line[last..]);
    out
}

/// Decimal integer literals (with `_` separators and an optional integer suffix) outside
/// identifiers, strings and floats: (start, end, value).
fn literals(line: &str) -> Vec<(usize, usize, u64)> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' && (i == 0 || bytes[i - 1] != b'\\') {
            in_string = !in_string;
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') && !in_string {
            break;
        }
        // Part of an identifier, a float's fraction or a tuple field (`x.0`): not a literal.
        let ident_before = i > 0
            && (bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b'.');
        if in_string || !c.is_ascii_digit() || ident_before {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            i += 1;
        }
        let digits_end = i;
        // A float (`1.5`, `1e3`) or a hex/binary literal is not a knob.
        let next = bytes.get(i).copied();
        let float = next == Some(b'.') && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit());
        let radix = (next == Some(b'x') || next == Some(b'b') || next == Some(b'o'))
            && &line[start..digits_end] == "0";
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let suffix = &line[digits_end..i];
        let int_suffix = suffix.is_empty()
            || matches!(
                suffix,
                "u8" | "u16"
                    | "u32"
                    | "u64"
                    | "u128"
                    | "usize"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "i128"
                    | "isize"
            );
        if float || radix || !int_suffix {
            continue;
        }
        let digits: String = line[start..digits_end]
            .chars()
            .filter(|c| *c != '_')
            .collect();
        if let Ok(v) = digits.parse::<u64>() {
            out.push((start, i, v));
        }
    }
    out
}

fn literal_suffix(literal: &str) -> &str {
    let end = literal
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(literal.len());
    &literal[end..]
}

/// What the literal at `start..end` of `line` sizes, when it is a knob at all.
fn knob_context(line: &str, start: usize, end: usize) -> Option<String> {
    let before = line[..start].trim_end();
    let after = line[end..].trim_start();
    let trimmed = line.trim_start();
    for kw in [
        "const ",
        "static ",
        "pub const ",
        "pub static ",
        "pub(crate) const ",
    ] {
        if let Some(rest) = trimmed.strip_prefix(kw) {
            let name: String = rest
                .trim_start_matches("mut ")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && before.ends_with('=') {
                return Some(format!("const {name}"));
            }
        }
    }
    for call in SIZE_CALLS {
        // The call name must start a word: `.take(` counts, `.intake(` does not.
        let word_start = before
            .len()
            .checked_sub(call.len())
            .and_then(|at| before[..at].chars().next_back());
        if before.ends_with(call) && word_start.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
            return Some(call.trim_end_matches('(').to_string());
        }
    }
    if before.ends_with(';') && after.starts_with(']') && before.contains('[') {
        return Some("array length".to_string());
    }
    if let Some(rest) = trimmed.strip_prefix("let ") {
        let name: String = rest
            .trim_start_matches("mut ")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let lower = name.to_ascii_lowercase();
        if before.ends_with('=') && SIZE_WORDS.iter().any(|w| lower.contains(w)) {
            return Some(format!("`{name}`"));
        }
    }
    None
}

/// Whether `name` appears as a whole word in lines `start..=end` (1-based) of `lines`.
fn uses_name(lines: &[&str], start: u32, end: u32, name: &str) -> bool {
    let from = (start as usize).saturating_sub(1);
    let to = (end as usize).min(lines.len());
    lines.get(from..to).is_some_and(|span| {
        span.iter().any(|l| {
            l.match_indices(name).any(|(i, _)| {
                let b = l.as_bytes();
                let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
                (i == 0 || !word(b[i - 1])) && b.get(i + name.len()).is_none_or(|c| !word(*c))
            })
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn literals_skip_identifiers_floats_strings_and_comments() {
        let l = "let x2 = foo(64, 1.5, \"32\", 0x10, 8usize); // 99";
        let found: Vec<u64> = literals(l).into_iter().map(|(_, _, v)| v).collect();
        assert_eq!(found, vec![64, 8]);
    }

    #[test]
    fn contexts() {
        let ctx = |l: &str| {
            let (a, b, _) = *literals(l).last().unwrap();
            knob_context(l, a, b)
        };
        assert_eq!(
            ctx("const CHUNK: usize = 4_096;").as_deref(),
            Some("const CHUNK")
        );
        assert_eq!(
            ctx("    let v = Vec::with_capacity(16);").as_deref(),
            Some("with_capacity")
        );
        assert_eq!(
            ctx("    for c in data.chunks(8) {").as_deref(),
            Some("chunks")
        );
        assert_eq!(
            ctx("    let buf = [0u8; 64];").as_deref(),
            Some("array length")
        );
        assert_eq!(
            ctx("    let batch_size = 32;").as_deref(),
            Some("`batch_size`")
        );
        assert_eq!(ctx("    if x > 3 {"), None);
    }

    #[test]
    fn calls_that_change_results_only_get_base_value() {
        let knob = Knob {
            file: "src/a.rs".into(),
            context: "take".into(),
            culprit_line: 1,
            new_line: "    it.take(5)\n".into(),
            literal: (12, 13),
            base_text: "50".into(),
            base: 50,
            head: 5,
        };
        let head = |_: &str| Some("    it.take(5)\n".to_string());
        let cands = candidates(std::slice::from_ref(&knob), "abc", &head);
        assert_eq!(cands.len(), 1);
        assert_eq!(
            cands[0].files[std::path::Path::new("src/a.rs")],
            "    it.take(50)\n"
        );
        let chunk = Knob {
            context: "chunks".into(),
            ..knob
        };
        assert_eq!(candidates(&[chunk], "abc", &head).len(), 4);
    }

    #[test]
    fn search_includes_base_and_excludes_head() {
        assert_eq!(search_values(64, 4), vec![64, 32, 128, 16]);
        assert_eq!(search_values(1, 1024), vec![1, 2, 32]);
        assert!(!search_values(8, 4).contains(&4));
    }
}
