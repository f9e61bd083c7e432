//! The call stacks of both profiles, cut down to what a differential flame graph of the
//! culprit needs, for the report (and so the service's stored job result).
//!
//! The cap keeps a report small whatever the benchmark does: at most [`MAX_STACKS`] distinct
//! stacks (the heaviest in either profile, by share of that profile), at most [`MAX_DEPTH`]
//! frames each (deeper frames fold into a `[deeper frames]` frame), frame names of at most
//! [`MAX_FRAME_CHARS`] characters stored once, [`MAX_NAME_BYTES`] of names in all. Worst case
//! that is about 64 KiB of names plus 2 x 300 x 64 frame indexes (~250 KiB of JSON); the
//! bench crate's real perf fixtures give ~30 KiB. The cost of what was left out is kept per
//! side so that shares in the graph stay true.

use std::collections::HashMap;

use perf_fixer_bench::profile::{Profile, StackCost};
use perf_fixer_core::report::{FlameGraphData, FoldedStack};

/// Distinct stacks kept, over both sides.
pub const MAX_STACKS: usize = 300;
/// Frames kept per stack, the outermost ones.
pub const MAX_DEPTH: usize = 64;
/// Longer frame names (deeply generic Rust paths) are cut to this many characters.
pub const MAX_FRAME_CHARS: usize = 160;
/// Budget for all frame names together, in bytes.
pub const MAX_NAME_BYTES: usize = 64 * 1024;

/// The frame that stands for the frames of a stack deeper than [`MAX_DEPTH`].
const DEEPER: &str = "[deeper frames]";

/// Both profiles' stacks, capped (see the module docs). `None` when neither profile has
/// stacks, or when the two sides count different things (perf at one, callgrind at the
/// other): their costs cannot be compared.
pub fn flame_graph_data(before: &Profile, after: &Profile) -> Option<FlameGraphData> {
    if (before.stacks.is_empty() && after.stacks.is_empty()) || before.unit != after.unit {
        return None;
    }
    let source = if after.unit == "instructions" {
        "callgrind"
    } else {
        "perf"
    };
    let before_stacks = truncated(&before.stacks);
    let after_stacks = truncated(&after.stacks);
    let before_total: u64 = before_stacks.values().sum();
    let after_total: u64 = after_stacks.values().sum();
    let share = |cost: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            cost as f64 / total as f64
        }
    };
    // Every stack of either side, with its cost on both.
    let mut rows: Vec<(&Vec<String>, u64, u64)> = before_stacks
        .iter()
        .map(|(frames, cost)| {
            (
                frames,
                *cost,
                after_stacks.get(frames).copied().unwrap_or(0),
            )
        })
        .collect();
    rows.extend(
        after_stacks
            .iter()
            .filter(|(frames, _)| !before_stacks.contains_key(*frames))
            .map(|(frames, cost)| (frames, 0, *cost)),
    );
    let weight =
        |(_, b, a): &(&Vec<String>, u64, u64)| share(*b, before_total).max(share(*a, after_total));
    rows.sort_by(|x, y| weight(y).total_cmp(&weight(x)).then_with(|| x.0.cmp(y.0)));

    let mut names = Names::default();
    let mut data = FlameGraphData {
        unit: after.unit.clone(),
        source: source.to_owned(),
        frames: Vec::new(),
        before: Vec::new(),
        after: Vec::new(),
        before_omitted: 0,
        after_omitted: 0,
    };
    let (mut kept_before, mut kept_after, mut kept) = (0u64, 0u64, 0usize);
    for (frames, b, a) in rows {
        if kept == MAX_STACKS {
            break;
        }
        if names.bytes + names.new_bytes(frames) > MAX_NAME_BYTES {
            // Lighter stacks may still fit with names already stored.
            continue;
        }
        let ids: Vec<u32> = frames.iter().map(|name| names.id(name)).collect();
        if b > 0 {
            data.before.push(FoldedStack {
                frames: ids.clone(),
                cost: b,
            });
            kept_before += b;
        }
        if a > 0 {
            data.after.push(FoldedStack {
                frames: ids,
                cost: a,
            });
            kept_after += a;
        }
        kept += 1;
    }
    data.frames = names.list;
    data.before_omitted = before_total - kept_before;
    data.after_omitted = after_total - kept_after;
    Some(data)
}

/// Stacks cut to [`MAX_DEPTH`] frames and [`MAX_FRAME_CHARS`] per name, merged where the cut
/// made them equal.
fn truncated(stacks: &[StackCost]) -> HashMap<Vec<String>, u64> {
    let mut out: HashMap<Vec<String>, u64> = HashMap::new();
    for stack in stacks {
        let mut frames: Vec<String> = stack
            .frames
            .iter()
            .take(MAX_DEPTH)
            .map(|f| short_name(f))
            .collect();
        if stack.frames.len() > MAX_DEPTH {
            frames.truncate(MAX_DEPTH - 1);
            frames.push(DEEPER.to_owned());
        }
        *out.entry(frames).or_default() += stack.cost;
    }
    out
}

fn short_name(name: &str) -> String {
    if name.chars().count() <= MAX_FRAME_CHARS {
        return name.to_owned();
    }
    let mut short: String = name.chars().take(MAX_FRAME_CHARS - 1).collect();
    short.push('…');
    short
}

/// Frame names stored once, with the bytes they take.
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    list: Vec<String>,
    bytes: usize,
}

impl Names {
    fn new_bytes(&self, frames: &[String]) -> usize {
        let mut seen: Vec<&str> = Vec::new();
        frames
            .iter()
            .filter(|f| !self.ids.contains_key(f.as_str()))
            .filter(|f| {
                let new = !seen.contains(&f.as_str());
                seen.push(f);
                new
            })
            .map(String::len)
            .sum()
    }

    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.ids.insert(name.to_owned(), id);
        self.list.push(name.to_owned());
        self.bytes += name.len();
        id
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn profile(unit: &str, stacks: &[(&[&str], u64)]) -> Profile {
        Profile {
            unit: unit.into(),
            total: stacks.iter().map(|s| s.1).sum(),
            functions: Vec::new(),
            calls: Vec::new(),
            lines: Vec::new(),
            stacks: stacks
                .iter()
                .map(|(frames, cost)| StackCost {
                    frames: frames.iter().map(|f| f.to_string()).collect(),
                    cost: *cost,
                })
                .collect(),
        }
    }

    fn folded(data: &FlameGraphData, side: &[FoldedStack]) -> Vec<String> {
        side.iter()
            .map(|s| {
                let names: Vec<&str> = s
                    .frames
                    .iter()
                    .map(|i| data.frames[*i as usize].as_str())
                    .collect();
                format!("{} {}", names.join(";"), s.cost)
            })
            .collect()
    }

    #[test]
    fn both_sides_share_frame_names_heaviest_share_first() {
        let before = profile(
            "samples",
            &[(&["main", "parse"], 60), (&["main", "print"], 40)],
        );
        let after = profile(
            "samples",
            &[
                (&["main", "parse"], 50),
                (&["main", "print"], 30),
                (&["main", "parse", "clone"], 130),
            ],
        );
        let data = flame_graph_data(&before, &after).unwrap();
        assert_eq!(
            (data.unit.as_str(), data.source.as_str()),
            ("samples", "perf")
        );
        assert_eq!(data.frames, vec!["main", "parse", "clone", "print"]);
        assert_eq!(
            folded(&data, &data.before),
            vec!["main;parse 60", "main;print 40"]
        );
        assert_eq!(
            folded(&data, &data.after),
            vec!["main;parse;clone 130", "main;parse 50", "main;print 30"]
        );
        assert_eq!((data.before_omitted, data.after_omitted), (0, 0));
    }

    #[test]
    fn caps_count_depth_and_name_length_and_keeps_what_was_left_out() {
        let deep: Vec<String> = (0..MAX_DEPTH + 10).map(|i| format!("f{i}")).collect();
        let deep: Vec<&str> = deep.iter().map(String::as_str).collect();
        let long = "x".repeat(MAX_FRAME_CHARS * 2);
        let many: Vec<String> = (0..MAX_STACKS + 50).map(|i| format!("leaf{i}")).collect();
        let mut stacks: Vec<(&[&str], u64)> = vec![(&deep, 1000), (&deep[..3], 1)];
        let long_stack = ["main", long.as_str()];
        stacks.push((&long_stack, 900));
        let many_stacks: Vec<[&str; 2]> = many.iter().map(|m| ["main", m.as_str()]).collect();
        for s in &many_stacks {
            stacks.push((s, 2));
        }
        let p = profile("instructions", &stacks);
        let data = flame_graph_data(&p, &p).unwrap();
        assert_eq!(data.source, "callgrind");
        assert_eq!(data.before.len(), MAX_STACKS);
        assert_eq!(data.before, data.after);
        let first = &data.before[0];
        assert_eq!(first.frames.len(), MAX_DEPTH);
        assert_eq!(data.frames[*first.frames.last().unwrap() as usize], DEEPER);
        assert!(
            data.frames
                .iter()
                .all(|f| f.chars().count() <= MAX_FRAME_CHARS)
        );
        assert!(data.frames.iter().any(|f| f.ends_with('…')));
        // 353 stacks, 300 kept: the 53 lightest (52 of 2, and the 1) are left out.
        assert_eq!(data.before_omitted, 52 * 2 + 1);
        let kept: u64 = data.before.iter().map(|s| s.cost).sum();
        assert_eq!(kept + data.before_omitted, p.total);
    }

    #[test]
    fn name_budget_bounds_the_size() {
        // Four new names of 160 bytes per stack: the budget binds before the stack count.
        let names: Vec<String> = (0..4 * MAX_STACKS)
            .map(|i| format!("{i:04}{}", "n".repeat(MAX_FRAME_CHARS - 4)))
            .collect();
        let stacks: Vec<Vec<&str>> = names
            .chunks(4)
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let stacks: Vec<(&[&str], u64)> = stacks.iter().map(|s| (&s[..], 5)).collect();
        let p = profile("samples", &stacks);
        let data = flame_graph_data(&p, &p).unwrap();
        let bytes: usize = data.frames.iter().map(String::len).sum();
        assert!(bytes <= MAX_NAME_BYTES, "{bytes}");
        let fit = MAX_NAME_BYTES / (4 * MAX_FRAME_CHARS);
        assert_eq!(data.before.len(), fit);
        assert_eq!(data.before_omitted, 5 * (MAX_STACKS - fit) as u64);
    }

    #[test]
    fn nothing_to_draw_without_stacks_or_with_different_units() {
        let empty = profile("samples", &[]);
        assert!(flame_graph_data(&empty, &empty).is_none());
        let perf = profile("samples", &[(&["main"], 1)]);
        let callgrind = profile("instructions", &[(&["main"], 1)]);
        assert!(flame_graph_data(&perf, &callgrind).is_none());
    }

    #[test]
    fn real_profiles_stay_small() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../bench/tests/fixtures/profile");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let perf = |name: &str| perf_fixer_bench::profile::parse_perf_script(&read(name)).unwrap();
        let callgrind =
            |name: &str| perf_fixer_bench::profile::parse_callgrind(&read(name)).unwrap();
        for (before, after) in [
            (perf("perf.before.txt"), perf("perf.after.txt")),
            (
                callgrind("callgrind.before.out"),
                callgrind("callgrind.after.out"),
            ),
        ] {
            let data = flame_graph_data(&before, &after).unwrap();
            let json = serde_json::to_string(&data).unwrap();
            assert!(json.len() < 100 * 1024, "{} bytes", json.len());
            assert!(!data.after.is_empty() && !data.before.is_empty());
            let kept: u64 = data.after.iter().map(|s| s.cost).sum();
            let drawn: u64 = after.stacks.iter().map(|s| s.cost).sum();
            assert_eq!(kept + data.after_omitted, drawn);
        }
    }
}
