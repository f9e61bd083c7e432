//! `perf script` text into per-function sample counts.
//!
//! The engine must record and print exactly like this:
//!
//! ```text
//! perf record -e cpu-clock -c 1000000 --call-graph dwarf,16384 -o perf.data -- <bench command>
//! perf script -i perf.data -F comm,ip,sym,srcline --full-source-path
//! ```
//!
//! - `-e cpu-clock`: the software clock, which works on VMs without hardware counters;
//! - `-c 1000000`: a fixed period (one sample per ms of CPU) so that every sample weighs the
//!   same (`-F <freq>` varies the period);
//! - `--call-graph dwarf`: Rust release builds keep no frame pointers, so `-g` gives broken
//!   stacks; DWARF unwinding gives callers (for inclusive cost);
//! - `--full-source-path`: absolute file names, to match them against the repository.
//!
//! A sample then reads (a header line with the command name, one frame per line with a tab,
//! its source line on the next line; a blank line ends the sample; `<TAB>` is a tab):
//!
//! ```text
//! prof
//! <TAB>       18306 prof::parse::normalize
//!   /rustc/<hash>/library/core/src/str/mod.rs:2172
//! <TAB>       18306 normalize
//!   /repo/src/main.rs:19 (inlined)
//! <TAB>       18134 prof::parse::records
//!   /repo/src/main.rs:10
//! ```
//!
//! Frames sharing an instruction pointer are one machine frame plus the functions inlined
//! into it. Exactly one line of such a group lacks `(inlined)`: that is the real symbol, the
//! function the cost is charged to; the group's last line locates the sample in that
//! function's own source. Without `--call-graph` each sample is one line (`comm ip sym`) and
//! its source line, which gives self costs only.

use std::collections::HashSet;

use super::stacks::StackCounter;
use super::{Accumulator, Profile, ProfileError, clean_symbol};

const FORMAT: &str = "perf script";
const UNKNOWN: &str = "[unknown]";

struct Frame {
    ip: String,
    symbol: String,
    file: Option<String>,
    line: u32,
    inlined: bool,
}

/// A machine frame: the function charged and where in its own code the sample landed.
struct MachineFrame {
    function: String,
    file: Option<String>,
    line: u32,
}

fn is_hex(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `ip symbol` of a frame line, without a `+0x1f` offset or ` (/path/to.so)` dso suffix.
fn parse_frame(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let (ip, rest) = text.split_once(char::is_whitespace)?;
    if !is_hex(ip) {
        return None;
    }
    let mut symbol = rest.trim();
    if let Some(open) = symbol.rfind(" (")
        && symbol.ends_with(')')
        && matches!(symbol.as_bytes().get(open + 2), Some(b'/' | b'['))
    {
        symbol = symbol[..open].trim_end();
    }
    if let Some(plus) = symbol.rfind("+0x")
        && is_hex(&symbol[plus + 3..])
    {
        symbol = &symbol[..plus];
    }
    let symbol = if symbol.is_empty() { UNKNOWN } else { symbol };
    Some((ip.to_owned(), symbol.to_owned()))
}

/// `file:line[ (inlined)]`, `??:0` or `[kernel.kallsyms][ffff...]`.
fn parse_srcline(text: &str) -> Option<(Option<String>, u32, bool)> {
    let text = text.trim();
    let (text, inlined) = match text.strip_suffix("(inlined)") {
        Some(rest) => (rest.trim_end(), true),
        None => (text, false),
    };
    if text.starts_with('[') {
        return Some((None, 0, inlined));
    }
    let (file, line) = text.rsplit_once(':')?;
    let line: u32 = line.parse().ok()?;
    let file = (!file.is_empty() && file != "??").then(|| file.to_owned());
    Some((file, line, inlined))
}

fn machine_frames(frames: &[Frame]) -> Vec<MachineFrame> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < frames.len() {
        // A group: same ip, at most one non-inlined line (a second one is a recursive call
        // returning to the same address).
        let mut end = start + 1;
        let mut real_seen = !frames[start].inlined;
        while end < frames.len() && frames[end].ip == frames[start].ip {
            if !frames[end].inlined {
                if real_seen {
                    break;
                }
                real_seen = true;
            }
            end += 1;
        }
        let group = &frames[start..end];
        let real = group
            .iter()
            .find(|f| !f.inlined)
            .or_else(|| group.last())
            .map_or(UNKNOWN, |f| f.symbol.as_str());
        let located = group.last();
        out.push(MachineFrame {
            function: clean_symbol(real),
            file: located.and_then(|f| f.file.clone()),
            line: located.map_or(0, |f| f.line),
        });
        start = end;
    }
    out
}

#[derive(Default)]
struct Samples {
    acc: Accumulator,
    total: u64,
    stacks: StackCounter,
}

impl Samples {
    fn record(&mut self, frames: &[Frame]) {
        if frames.is_empty() {
            return;
        }
        let machine = machine_frames(frames);
        self.total += 1;
        // Every frame, inlined ones too: a flame graph should show the function whose code
        // ran even when the compiler folded it into its caller.
        self.stacks
            .add(frames.iter().map(|f| f.symbol.as_str()), 1, clean_symbol);
        // Lines: the innermost location is where the sample landed; every location on the
        // stack (inlined frames included) was executing on its behalf.
        if let Some(leaf) = frames.first()
            && let Some(file) = &leaf.file
        {
            self.acc.add_line(file, leaf.line, 1, true);
        }
        let mut on_stack = HashSet::new();
        for (index, frame) in frames.iter().enumerate() {
            if let Some(file) = &frame.file
                && frame.line > 0
                && on_stack.insert((file.as_str(), frame.line))
                && index > 0
            {
                self.acc.add_line(file, frame.line, 1, false);
            }
        }
        let mut charged = HashSet::new();
        let mut edges = HashSet::new();
        for (depth, frame) in machine.iter().enumerate() {
            if depth == 0 {
                self.acc.add_self(&frame.function, 1);
            }
            // Recursion: a function is charged once per sample.
            if charged.insert(frame.function.as_str()) {
                self.acc.add_inclusive(&frame.function, 1);
            }
            if let Some(caller) = machine.get(depth + 1)
                && caller.function != frame.function
                && edges.insert((caller.function.as_str(), frame.function.as_str()))
            {
                self.acc.add_call(&caller.function, &frame.function, 1);
            }
            if let Some(file) = &frame.file {
                self.acc.add_position(&frame.function, file, frame.line, 1);
            }
        }
    }
}

/// Parse `perf script -F comm,ip,sym,srcline --full-source-path` output (see the module docs
/// for the record flags) into per-function sample counts.
pub fn parse_perf_script(text: &str) -> Result<Profile, ProfileError> {
    let mut samples = Samples::default();
    let mut frames: Vec<Frame> = Vec::new();
    // A frame was just read; the next indented line may be its source line.
    let mut awaiting_srcline = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        if raw.trim().is_empty() {
            samples.record(&frames);
            frames.clear();
            awaiting_srcline = false;
            continue;
        }
        if awaiting_srcline
            && !raw.starts_with('\t')
            && let Some((file, line, inlined)) = parse_srcline(raw)
        {
            if let Some(frame) = frames.last_mut() {
                frame.file = file;
                frame.line = line;
                frame.inlined = inlined;
            }
            awaiting_srcline = false;
            continue;
        }
        awaiting_srcline = false;
        if raw.starts_with('\t') {
            let (ip, symbol) = parse_frame(raw).ok_or_else(|| ProfileError::Parse {
                format: FORMAT,
                line: line_no,
                message: format!(
                    "unrecognised frame `{}`; expected `<hex ip> <symbol>` (perf script -F \
                     comm,ip,sym,srcline)",
                    raw.trim()
                ),
            })?;
            frames.push(Frame {
                ip,
                symbol,
                file: None,
                line: 0,
                inlined: false,
            });
            awaiting_srcline = true;
            continue;
        }
        // A sample header: `comm` alone (call graphs follow) or `comm ip sym` (no call graph).
        samples.record(&frames);
        frames.clear();
        let mut tokens = raw.split_whitespace();
        let _comm = tokens.next();
        let rest: Vec<&str> = tokens.collect();
        if rest.len() >= 2
            && is_hex(rest[0])
            && let Some((ip, symbol)) = parse_frame(&rest.join(" "))
        {
            frames.push(Frame {
                ip,
                symbol,
                file: None,
                line: 0,
                inlined: false,
            });
            awaiting_srcline = true;
        }
    }
    samples.record(&frames);
    if samples.total == 0 {
        return Err(ProfileError::Empty {
            format: FORMAT,
            hint: "record with `perf record -e cpu-clock -c 1000000 --call-graph dwarf` and \
                   print with `perf script -F comm,ip,sym,srcline --full-source-path`; an empty \
                   output usually means the benchmark ran too briefly or perf was not allowed \
                   (kernel.perf_event_paranoid)",
        });
    }
    let total = samples.total;
    let mut profile = samples.acc.finish("samples", total, false);
    profile.stacks = samples.stacks.finish();
    Ok(profile)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const TWO_STYLES: &str = "\
prof 
\t           18306 prof::parse::normalize
  /rustc/abc/library/core/src/str/mod.rs:2172
\t           18306 normalize
  /repo/src/main.rs:19 (inlined)
\t           18134 prof::parse::records
  /repo/src/main.rs:10
\t           15e7e prof::main
  /repo/src/main.rs:55

prof 
\t           98932 __GI___libc_malloc
  ./malloc/./malloc/malloc.c:3281 (inlined)
\t           5267e alloc::alloc::alloc
  /rustc/abc/library/alloc/src/alloc.rs:95 (inlined)
\t           5267e <alloc::string::String as core::clone::Clone>::clone
  /rustc/abc/library/alloc/src/string.rs:2352
\t           1626d prof::tally
  /repo/src/main.rs:38
\t           15e9e prof::main
  /repo/src/main.rs:56

prof 
\tffffffff815e45ce set_pte_range
  [kernel.kallsyms][ffffffff815e45ce]
\t               0 [unknown]
  ??:0
";

    #[test]
    fn inline_groups_and_kernel_frames() {
        let profile = parse_perf_script(TWO_STYLES).unwrap();
        assert_eq!(profile.unit, "samples");
        assert_eq!(profile.total, 3);
        let normalize = profile.function("prof::parse::normalize").unwrap();
        assert_eq!((normalize.self_cost, normalize.inclusive_cost), (1, 1));
        assert_eq!(normalize.file.as_deref(), Some("/repo/src/main.rs"));
        assert_eq!(
            (normalize.start_line, normalize.end_line),
            (Some(19), Some(19))
        );
        let main = profile.function("prof::main").unwrap();
        assert_eq!((main.self_cost, main.inclusive_cost), (0, 2));
        assert_eq!((main.start_line, main.end_line), (Some(55), Some(56)));
        // The real symbol of a group whose only non-inlined line is its last.
        let clone = profile
            .function("<alloc::string::String as core::clone::Clone>::clone")
            .unwrap();
        assert_eq!((clone.self_cost, clone.inclusive_cost), (0, 1));
        // A group with no non-inlined line is charged to its last line.
        assert_eq!(profile.function("__GI___libc_malloc").unwrap().self_cost, 1);
        assert!(profile.function("alloc::alloc::alloc").is_none());
        // Lines: main.rs:19 is on the first stack (inlined frame), 38 on the second.
        assert_eq!(profile.cost_of_lines("/repo/src/main.rs", 19, 19), (0, 1));
        assert_eq!(profile.cost_of_lines("/repo/src/main.rs", 1, 100), (0, 5));
        assert_eq!(
            profile.cost_of_lines("/rustc/abc/library/core/src/str/mod.rs", 2172, 2172),
            (1, 1)
        );
        let kernel = profile.function("set_pte_range").unwrap();
        assert_eq!((kernel.self_cost, kernel.file.clone()), (1, None));
    }

    #[test]
    fn whole_stacks_outermost_first_with_inlined_frames() {
        let profile = parse_perf_script(TWO_STYLES).unwrap();
        let folded: Vec<String> = profile
            .stacks
            .iter()
            .map(|s| format!("{} {}", s.frames.join(";"), s.cost))
            .collect();
        assert_eq!(
            folded,
            vec![
                "[unknown];set_pte_range 1",
                "prof::main;prof::parse::records;normalize;prof::parse::normalize 1",
                "prof::main;prof::tally;<alloc::string::String as core::clone::Clone>::clone;\
                 alloc::alloc::alloc;__GI___libc_malloc 1",
            ]
        );
        let twice = format!("{TWO_STYLES}\n{TWO_STYLES}");
        let profile = parse_perf_script(&twice).unwrap();
        assert_eq!(profile.stacks.len(), 3);
        assert!(profile.stacks.iter().all(|s| s.cost == 2));
    }

    #[test]
    fn recursion_is_charged_once_per_sample() {
        let text = "\
app
\t1000 app::fib
  /r/src/lib.rs:3
\t1010 app::fib
  /r/src/lib.rs:5
\t1010 app::fib
  /r/src/lib.rs:5
\t2000 app::main
  /r/src/main.rs:2
";
        let profile = parse_perf_script(text).unwrap();
        let fib = profile.function("app::fib").unwrap();
        assert_eq!((fib.self_cost, fib.inclusive_cost), (1, 1));
        assert_eq!((fib.start_line, fib.end_line), (Some(3), Some(5)));
    }

    #[test]
    fn samples_without_call_graphs() {
        let text = "\
            prof      5581ea047484 prof::parse::normalize
  /repo/src/main.rs:19
            prof      7f0d937d4967 __memcmp_evex_movbe+0x17
  ./string/memcmp-evex-movbe.S:125
            prof      5581ea047490 _ZN4prof5tally17h0123456789abcdefE (/repo/target/release/prof)
  /repo/src/main.rs:40
";
        let profile = parse_perf_script(text).unwrap();
        assert_eq!(profile.total, 3);
        assert_eq!(
            profile.function("__memcmp_evex_movbe").unwrap().self_cost,
            1
        );
        assert_eq!(
            profile.function("prof::tally").unwrap().start_line,
            Some(40)
        );
    }

    #[test]
    fn errors() {
        let err = parse_perf_script("prof\n\tnot-hex sym\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse_perf_script("").unwrap_err();
        assert!(matches!(err, ProfileError::Empty { .. }));
    }
}
