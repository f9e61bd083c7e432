//! `build_profile`: a `[profile.*]` setting the culprit changed in Cargo.toml, restored.
//!
//! The manifest is edited with `toml_edit`, which keeps comments, ordering and formatting of
//! everything it does not touch byte for byte, so the patch is only the restored keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use perf_fixer_core::report::Risk;
use toml_edit::{DocumentMut, Item, Table, Value};

use super::Candidate;

/// Whether `path` (relative to the root) is a file cargo reads `[profile.*]` from: a
/// `Cargo.toml`, or `.cargo/config.toml` (and its older name `.cargo/config`). Both use the same
/// `[profile.<name>]` tables, so [`profile_changes`] and [`candidates`] work on either.
pub fn is_profile_source(path: &str) -> bool {
    let path = path.trim_start_matches("./");
    path == "Cargo.toml"
        || path.ends_with("/Cargo.toml")
        || path == ".cargo/config.toml"
        || path == ".cargo/config"
}

/// One profile setting that differs between the culprit's parent and the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChange {
    /// `release`, `bench`, `dev`, ...
    pub profile: String,
    /// Key path inside the profile: `["opt-level"]`, `["package", "foo", "opt-level"]`.
    pub key: Vec<String>,
    /// The value as TOML (e.g. `3`, `"fat"`, `true`); None when absent.
    pub before: Option<String>,
    pub after: Option<String>,
}

impl ProfileChange {
    pub fn key_name(&self) -> String {
        self.key.join(".")
    }

    fn describe(&self) -> String {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".to_string());
        format!(
            "[profile.{}] {}: {} → {}",
            self.profile,
            self.key_name(),
            show(&self.after),
            show(&self.before)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{path}: not valid TOML at {which}: {message}")]
    Parse {
        path: String,
        which: &'static str,
        message: String,
    },
    #[error("{path}: `profile.{profile}` is not a table at head; cannot restore it")]
    NotATable { path: String, profile: String },
}

/// The `[profile.*]` settings that differ between two versions of a manifest.
pub fn profile_changes(
    path: &str,
    parent_toml: &str,
    culprit_toml: &str,
) -> Result<Vec<ProfileChange>, ProfileError> {
    let before = flatten_profiles(&parse(path, "the culprit's parent", parent_toml)?);
    let after = flatten_profiles(&parse(path, "the culprit", culprit_toml)?);
    let mut keys: Vec<&(String, Vec<String>)> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    Ok(keys
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| ProfileChange {
            profile: k.0.clone(),
            key: k.1.clone(),
            before: before.get(k).cloned(),
            after: after.get(k).cloned(),
        })
        .collect())
}

/// Candidates restoring the changed settings in `head_toml` (the manifest at head): one
/// restoring all of them, and, when several changed, one per setting, so that validation can
/// keep only the one that matters.
pub fn candidates(
    manifest: &str,
    head_toml: &str,
    commit: &str,
    changes: &[ProfileChange],
) -> Result<Vec<Candidate>, ProfileError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let short = commit.get(..10).unwrap_or(commit);
    let mut groups: Vec<Vec<&ProfileChange>> = vec![changes.iter().collect()];
    if changes.len() > 1 {
        groups.extend(changes.iter().map(|c| vec![c]));
    }
    let mut out = Vec::new();
    for group in groups {
        let text = restore(manifest, head_toml, &group)?;
        if text == head_toml {
            continue;
        }
        let (risk, risk_notes) = assess(&group, short);
        let what: Vec<String> = group.iter().map(|c| c.describe()).collect();
        out.push(Candidate {
            strategy: "build_profile",
            description: format!(
                "Restore {} in {manifest} as it was before {short}",
                what.join("; ")
            ),
            files: BTreeMap::from([(PathBuf::from(manifest), text)]),
            risk,
            risk_notes,
        });
    }
    Ok(out)
}

/// `head_toml` with the given settings set back to their `before` values (or removed).
pub fn restore(
    manifest: &str,
    head_toml: &str,
    changes: &[&ProfileChange],
) -> Result<String, ProfileError> {
    let mut doc = parse(manifest, "head", head_toml)?;
    for change in changes {
        let Some((leaf, parents)) = change.key.split_last() else {
            continue;
        };
        let root = doc.as_table_mut();
        let profiles = child_table(root, "profile", true);
        let Some(profiles) = profiles else {
            return Err(ProfileError::NotATable {
                path: manifest.to_string(),
                profile: change.profile.clone(),
            });
        };
        let mut table = child_table(profiles, &change.profile, false);
        for p in parents {
            table = table.and_then(|t| child_table(t, p, false));
        }
        let Some(table) = table else {
            return Err(ProfileError::NotATable {
                path: manifest.to_string(),
                profile: change.profile.clone(),
            });
        };
        match &change.before {
            None => {
                table.remove(leaf);
            }
            Some(text) => {
                let Ok(mut value) = text.parse::<Value>() else {
                    continue;
                };
                // Keep the spacing and comments around the old value.
                if let Some(Item::Value(old)) = table.get(leaf) {
                    *value.decor_mut() = old.decor().clone();
                }
                table.insert(leaf, Item::Value(value));
            }
        }
    }
    Ok(doc.to_string())
}

/// The table `key` inside `parent`, created when missing (implicit for `profile`, so that no
/// empty `[profile]` header appears). None when `key` holds something else.
fn child_table<'a>(parent: &'a mut Table, key: &str, implicit: bool) -> Option<&'a mut Table> {
    if !parent.contains_key(key) {
        let mut t = Table::new();
        t.set_implicit(implicit);
        parent.insert(key, Item::Table(t));
    }
    parent.get_mut(key)?.as_table_mut()
}

fn parse(path: &str, which: &'static str, text: &str) -> Result<DocumentMut, ProfileError> {
    text.parse::<DocumentMut>()
        .map_err(|e| ProfileError::Parse {
            path: path.to_string(),
            which,
            message: e.to_string(),
        })
}

/// Every leaf under `[profile.*]`, keyed by (profile, key path), valued by its TOML text
/// without surrounding whitespace or comments.
fn flatten_profiles(doc: &DocumentMut) -> BTreeMap<(String, Vec<String>), String> {
    let mut out = BTreeMap::new();
    let Some(profiles) = doc.get("profile").and_then(Item::as_table_like) else {
        return out;
    };
    for (name, item) in profiles.iter() {
        let mut path = Vec::new();
        walk(name, item, &mut path, &mut out);
    }
    out
}

fn walk(
    profile: &str,
    item: &Item,
    path: &mut Vec<String>,
    out: &mut BTreeMap<(String, Vec<String>), String>,
) {
    if let Some(table) = item.as_table_like() {
        for (k, v) in table.iter() {
            path.push(k.to_string());
            walk(profile, v, path, out);
            path.pop();
        }
    } else if let Some(value) = item.as_value() {
        if path.is_empty() {
            return;
        }
        let mut v = value.clone();
        v.decor_mut().clear();
        out.insert((profile.to_string(), path.clone()), v.to_string());
    }
}

/// Risk of restoring these settings: codegen-only settings are low, settings that change what
/// the program does at run time are not.
fn assess(changes: &[&ProfileChange], short: &str) -> (Risk, String) {
    let mut risk = Risk::Low;
    let mut notes = Vec::new();
    for c in changes {
        let leaf = c.key.last().map(String::as_str).unwrap_or_default();
        let (r, why) = match leaf {
            "opt-level" | "lto" | "codegen-units" | "incremental" | "debug" | "strip"
            | "split-debuginfo" | "rpath" => (
                Risk::Low,
                "changes code generation only: compile time, binary size and speed, not behaviour",
            ),
            "debug-assertions" => (
                Risk::Medium,
                "switches `debug_assert!` and `cfg(debug_assertions)` code on or off: checks that fired before may not, or the reverse",
            ),
            "overflow-checks" => (
                Risk::Medium,
                "decides whether integer overflow panics or wraps silently",
            ),
            "panic" => (
                Risk::High,
                "decides whether a panic unwinds (destructors run, `catch_unwind` works) or aborts the process",
            ),
            _ => (
                Risk::Medium,
                "a setting perf-fixer has no specific knowledge of; review its effect",
            ),
        };
        risk = risk.max_with(r);
        notes.push(format!("{}: {why}.", c.describe()));
    }
    notes.push(format!(
        "These values are the ones the project used before {short}, so they are known to build."
    ));
    (risk, notes.join(" "))
}

trait RiskOrder {
    fn max_with(self, other: Risk) -> Risk;
}

impl RiskOrder for Risk {
    fn max_with(self, other: Risk) -> Risk {
        let rank = |r: Risk| match r {
            Risk::Low => 0,
            Risk::Medium => 1,
            Risk::High => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}
