//! The callgrind profile format (`callgrind.out.<pid>`), as written by
//! `valgrind --tool=callgrind --dump-instr=no` (the default `--dump-line=yes` gives lines).
//!
//! What matters here (see valgrind's "Callgrind Format Specification"):
//! - `fl=` names the file of the function that `fn=` then starts; `fi=`/`fe=` switch the file
//!   of following cost lines for code inlined from elsewhere, until the next `fn=`;
//! - names may be compressed: `(12) name` defines id 12, a later `(12)` refers to it; files
//!   (`fl fi fe cfi cfl`), functions (`fn cfn`) and objects (`ob cob`) are separate spaces;
//! - a cost line is positions (as `positions:` lists, by default just the line) then costs in
//!   `events:` order; a position may be absolute, `+n`/`-n` relative to the previous cost
//!   line's, or `*` for the same;
//! - `calls=<count> <target position>` is followed by one cost line whose costs are the
//!   inclusive cost of that call, which belongs to the caller's inclusive cost only.

use std::collections::HashMap;

use super::{Accumulator, Profile, ProfileError, clean_symbol};

const FORMAT: &str = "callgrind";

#[derive(Default)]
struct Names {
    files: HashMap<String, String>,
    functions: HashMap<String, String>,
    objects: HashMap<String, String>,
}

/// Resolve `(id) name`, `(id)` or `name` against one compression table.
fn resolve(table: &mut HashMap<String, String>, value: &str) -> Option<String> {
    let value = value.trim();
    // `(12) name` / `(12)`; a name like valgrind's `(below main)` is not an id.
    let compressed = value.strip_prefix('(').and_then(|rest| {
        let close = rest.find(')')?;
        let id = &rest[..close];
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some((rest, close))
    });
    if let Some((rest, close)) = compressed {
        let id = &rest[..close];
        let name = rest[close + 1..].trim();
        if name.is_empty() {
            table.get(id).cloned()
        } else {
            table.insert(id.to_owned(), name.to_owned());
            Some(name.to_owned())
        }
    } else {
        Some(value.to_owned())
    }
}

struct Parser {
    names: Names,
    acc: Accumulator,
    /// Index of `line` among the position columns, if lines are recorded.
    line_column: Option<usize>,
    position_count: usize,
    /// Column of the cost we read (`Ir` when present).
    cost_column: usize,
    last_positions: Vec<i64>,
    function_file: String,
    current_file: String,
    function: Option<String>,
    /// Set by `calls=`: the next cost line is that call's inclusive cost, towards this callee.
    pending_call: Option<String>,
    callee: Option<String>,
    total: u64,
    demangled: HashMap<String, String>,
    /// Accumulator slot of `function`, looked up once per `fn=`.
    function_slot: Option<usize>,
    /// Last line of the function's own file with cost (see `charge_call_site`).
    last_own_line: u32,
}

impl Parser {
    fn new() -> Self {
        Parser {
            names: Names::default(),
            acc: Accumulator::default(),
            line_column: Some(0),
            position_count: 1,
            cost_column: 0,
            last_positions: vec![0],
            function_file: String::new(),
            current_file: String::new(),
            function: None,
            pending_call: None,
            callee: None,
            total: 0,
            demangled: HashMap::new(),
            function_slot: None,
            last_own_line: 0,
        }
    }

    /// Source line of the last cost line (0 when lines are not recorded).
    fn current_line(&self) -> u32 {
        self.line_column
            .and_then(|column| self.last_positions.get(column))
            .and_then(|line| u32::try_from(*line).ok())
            .unwrap_or(0)
    }

    /// Demangled names, cached: the same symbols come back on every `fn=`/`cfn=`.
    fn clean(&mut self, raw: &str) -> String {
        if let Some(clean) = self.demangled.get(raw) {
            return clean.clone();
        }
        let clean = clean_symbol(strip_recursion_depth(raw));
        self.demangled.insert(raw.to_owned(), clean.clone());
        clean
    }

    fn error(line: usize, message: impl Into<String>) -> ProfileError {
        ProfileError::Parse {
            format: FORMAT,
            line,
            message: message.into(),
        }
    }

    fn header(&mut self, key: &str, value: &str, line_no: usize) -> Result<(), ProfileError> {
        match key {
            "positions" => {
                let columns: Vec<&str> = value.split_whitespace().collect();
                if columns.is_empty() {
                    return Err(Self::error(line_no, "empty `positions:` header"));
                }
                self.line_column = columns.iter().position(|c| *c == "line");
                self.position_count = columns.len();
                self.last_positions = vec![0; columns.len()];
            }
            "events" => {
                let events: Vec<&str> = value.split_whitespace().collect();
                self.cost_column = events.iter().position(|e| *e == "Ir").unwrap_or(0);
            }
            // version, creator, pid, cmd, part, desc, summary, totals, thread, ...
            _ => {}
        }
        Ok(())
    }

    fn spec(&mut self, key: &str, value: &str, line_no: usize) -> Result<(), ProfileError> {
        let unknown =
            |what: &str| Self::error(line_no, format!("undefined {what} id in `{key}={value}`"));
        match key {
            "fl" => {
                let file = resolve(&mut self.names.files, value).ok_or_else(|| unknown("file"))?;
                self.function_file = file.clone();
                self.current_file = file;
            }
            "fi" | "fe" => {
                self.current_file =
                    resolve(&mut self.names.files, value).ok_or_else(|| unknown("file"))?;
            }
            "cfi" | "cfl" => {
                resolve(&mut self.names.files, value).ok_or_else(|| unknown("file"))?;
            }
            "fn" => {
                let raw =
                    resolve(&mut self.names.functions, value).ok_or_else(|| unknown("function"))?;
                let function = self.clean(&raw);
                self.current_file = self.function_file.clone();
                self.acc.set_file(&function, &self.function_file);
                self.function = Some(function);
                self.function_slot = None;
                self.last_own_line = 0;
                self.callee = None;
            }
            "cfn" => {
                let raw =
                    resolve(&mut self.names.functions, value).ok_or_else(|| unknown("function"))?;
                self.callee = Some(self.clean(&raw));
            }
            "ob" | "cob" => {
                resolve(&mut self.names.objects, value).ok_or_else(|| unknown("object"))?;
            }
            "calls" => {
                // The target position is relative to the last cost line but does not move it.
                let callee = self
                    .callee
                    .clone()
                    .ok_or_else(|| Self::error(line_no, "`calls=` without a preceding `cfn=`"))?;
                self.pending_call = Some(callee);
            }
            // jump=, jcnd= (with --collect-jumps) carry no cost of ours.
            _ => {}
        }
        Ok(())
    }

    fn cost_line(&mut self, text: &str, line_no: usize) -> Result<(), ProfileError> {
        let mut tokens = text.split_whitespace();
        let mut positions = Vec::with_capacity(self.position_count);
        for column in 0..self.position_count {
            let token = tokens.next().ok_or_else(|| {
                Self::error(line_no, format!("cost line `{text}` lacks positions"))
            })?;
            let last = self.last_positions.get(column).copied().unwrap_or(0);
            let position = parse_position(token, last).ok_or_else(|| {
                Self::error(line_no, format!("bad position `{token}` in `{text}`"))
            })?;
            positions.push(position);
        }
        self.last_positions = positions;
        let mut cost = 0u64;
        for (index, token) in tokens.enumerate() {
            if index == self.cost_column {
                cost = token
                    .parse()
                    .map_err(|_| Self::error(line_no, format!("bad cost `{token}` in `{text}`")))?;
                break;
            }
        }
        let function = self
            .function
            .as_deref()
            .ok_or_else(|| Self::error(line_no, "cost line before any `fn=`"))?;
        if let Some(callee) = self.pending_call.take() {
            // Recursive calls are already in the function's own cost.
            if callee != function {
                self.acc.add_inclusive(function, cost);
                self.acc.add_call(function, &callee, cost);
                let line = self.current_line();
                self.acc.add_line(&self.current_file, line, cost, false);
                charge_call_site(
                    &mut self.acc,
                    &self.current_file,
                    &self.function_file,
                    &mut self.last_own_line,
                    line,
                    cost,
                );
            }
            return Ok(());
        }
        self.total = self.total.saturating_add(cost);
        let line = self.current_line();
        self.acc.add_line(&self.current_file, line, cost, true);
        charge_call_site(
            &mut self.acc,
            &self.current_file,
            &self.function_file,
            &mut self.last_own_line,
            line,
            cost,
        );
        let slot = match self.function_slot {
            Some(slot) => slot,
            None => {
                let slot = self.acc.slot(function);
                self.function_slot = Some(slot);
                slot
            }
        };
        self.acc
            .add_own_cost_at(slot, &self.current_file, line, cost);
        Ok(())
    }
}

/// callgrind keeps no inline stacks: code inlined from another file (`fi=`) is only known by
/// its own file and line. Its cost (and that of calls made from it) is also charged, as
/// inclusive cost, to the last line of the function's own file seen before it, which is
/// normally the line that the inlined call came from (an approximation: code layout need not
/// follow source order).
fn charge_call_site(
    acc: &mut Accumulator,
    current_file: &str,
    function_file: &str,
    last_own_line: &mut u32,
    line: u32,
    cost: u64,
) {
    if current_file == function_file {
        *last_own_line = line;
    } else if *last_own_line > 0 {
        acc.add_line(function_file, *last_own_line, cost, false);
    }
}

/// `--separate-recs` (which gungraun uses) names recursion levels `f'2`, `f'3`: one function.
fn strip_recursion_depth(name: &str) -> &str {
    let mut name = name;
    while let Some((head, depth)) = name.rsplit_once('\'')
        && !depth.is_empty()
        && depth.bytes().all(|b| b.is_ascii_digit())
    {
        name = head;
    }
    name
}

fn parse_position(token: &str, last: i64) -> Option<i64> {
    let number = |text: &str| -> Option<i64> {
        match text.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16).ok(),
            None => text.parse().ok(),
        }
    };
    match token.as_bytes().first()? {
        b'*' => Some(last),
        b'+' => Some(last.checked_add(number(&token[1..])?)?),
        b'-' => Some(last.checked_sub(number(&token[1..])?)?),
        _ => number(token),
    }
}

/// Parse a callgrind profile (`--dump-instr=no`; see the module docs) into per-function costs
/// in the first event (`Ir`, instructions, by default).
pub fn parse_callgrind(text: &str) -> Result<Profile, ProfileError> {
    let mut parser = Parser::new();
    let mut saw_header = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.as_bytes()[0];
        if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*') {
            parser.cost_line(line, line_no)?;
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.bytes().all(|b| b.is_ascii_alphabetic())
        {
            parser.spec(key, value, line_no)?;
            continue;
        }
        if let Some((key, value)) = line.split_once(':')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            saw_header = true;
            parser.header(key, value, line_no)?;
            continue;
        }
        return Err(Parser::error(
            line_no,
            format!("unrecognised line `{line}`; is this a callgrind.out file?"),
        ));
    }
    if !saw_header || parser.total == 0 {
        return Err(ProfileError::Empty {
            format: FORMAT,
            hint: "run the benchmark under `valgrind --tool=callgrind --dump-instr=no` and pass \
                   the callgrind.out file it writes",
        });
    }
    let total = parser.total;
    let mut profile = parser.acc.finish("instructions", total, true);
    // callgrind keeps no stacks: rebuild them from the call graph.
    profile.stacks = super::stacks_from_calls(&profile.functions, &profile.calls);
    Ok(profile)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SMALL: &str = "\
# callgrind format
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir
summary: 175

ob=(1) /bin/app
fl=(1) /repo/src/lib.rs
fn=(1) _ZN3app4work17h0123456789abcdefE
10 5
+2 10
fi=(2) /rustc/x/library/core/src/iter.rs
300 40
fe=(1)
-288 5
cfl=(1)
cfn=(2) app::helper
calls=3 20
* 100
+1 5

fn=(2)
20 60
cfn=(2)
calls=1 20
* 1000
+5 40
cfn=(3) memcpy
cob=(2) /lib/libc.so
cfl=(3) ???
calls=2 0
25 9

ob=(2)
fl=(3)
fn=(3)
0 9
";

    #[test]
    fn self_inclusive_and_spans() {
        let profile = parse_callgrind(SMALL).unwrap();
        assert_eq!(profile.unit, "instructions");
        assert_eq!(profile.total, 5 + 10 + 40 + 5 + 5 + 60 + 40 + 9);
        let work = profile.function("app::work").unwrap();
        assert_eq!(work.self_cost, 65);
        assert_eq!(work.inclusive_cost, 165);
        assert_eq!(work.file.as_deref(), Some("/repo/src/lib.rs"));
        // Lines 10, 12, (300 is in iter.rs), 12, 13 -> 10..13
        assert_eq!((work.start_line, work.end_line), (Some(10), Some(13)));
        let helper = profile.function("app::helper").unwrap();
        assert_eq!(helper.self_cost, 100);
        // The recursive call is not counted twice; the memcpy call is.
        assert_eq!(helper.inclusive_cost, 109);
        assert_eq!((helper.start_line, helper.end_line), (Some(20), Some(25)));
        // Line 12: own 10 + 5, the call to helper (100) and the inlined iter.rs code (40).
        assert_eq!(profile.cost_of_lines("/repo/src/lib.rs", 12, 12), (15, 155));
        assert_eq!(
            profile.cost_of_lines("/rustc/x/library/core/src/iter.rs", 300, 300),
            (40, 40)
        );
        let memcpy = profile.function("memcpy").unwrap();
        assert_eq!(memcpy.file, None);
        assert_eq!(profile.functions[0].function, "app::helper");
    }

    #[test]
    fn stacks_rebuilt_from_the_call_graph() {
        let profile = parse_callgrind(SMALL).unwrap();
        let folded: Vec<String> = profile
            .stacks
            .iter()
            .map(|s| format!("{} {}", s.frames.join(";"), s.cost))
            .collect();
        // helper costs 109 in all (100 own, 9 in memcpy) but 100 when work calls it: memcpy
        // gets 9/109 of those 100.
        assert_eq!(
            folded,
            vec![
                "app::work;app::helper 92",
                "app::work 65",
                "app::work;app::helper;memcpy 8",
            ]
        );
    }

    #[test]
    fn positions_with_instr_column_and_several_events() {
        let text = "\
positions: instr line
events: Dr Ir
fl=(1) a.rs
fn=(1) f
0x10 3 7 11
+4 +1 1 2
* * 0 4
";
        let profile = parse_callgrind(text).unwrap();
        let f = profile.function("f").unwrap();
        assert_eq!(f.self_cost, 17);
        assert_eq!((f.start_line, f.end_line), (Some(3), Some(4)));
    }

    #[test]
    fn recursion_levels_and_literal_parenthesised_names() {
        assert_eq!(strip_recursion_depth("gg::fib'2"), "gg::fib");
        assert_eq!(strip_recursion_depth("f<'a>"), "f<'a>");
        let text = "\
events: Ir
fl=???
fn=(below main)
0 4
cfn=app::fib
calls=1 0
0 10
fn=app::fib
0 3
cfn=app::fib'2
calls=1 0
0 7
fn=app::fib'2
0 7
";
        let profile = parse_callgrind(text).unwrap();
        let fib = profile.function("app::fib").unwrap();
        assert_eq!((fib.self_cost, fib.inclusive_cost), (10, 10));
        assert_eq!(profile.function("(below main)").unwrap().inclusive_cost, 14);
        assert_eq!(profile.total, 14);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_callgrind("events: Ir\nfl=(1) a.rs\nfn=(1) f\n12 x\n").unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
        let err = parse_callgrind("events: Ir\nfl=(1) a.rs\nfn=(9)\n").unwrap_err();
        assert!(err.to_string().contains("undefined function id"), "{err}");
        let err = parse_callgrind("hello world\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = parse_callgrind("").unwrap_err();
        assert!(matches!(err, ProfileError::Empty { .. }));
    }
}
