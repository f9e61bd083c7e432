//! divan 0.1: the table it prints on standard output, one tree per bench target.
//!
//! ```text
//! parse                fastest       │ slowest       │ median        │ mean          │ samples │ iters
//! ├─ add               0.563 ns      │ 0.597 ns      │ 0.577 ns      │ 0.577 ns      │ 100     │ 204800
//! ├─ sum                             │               │               │               │         │
//! │  ├─ 1              3.349 ns      │ 8.093 ns      │ 3.409 ns      │ 3.46 ns       │ 100     │ 102400
//! ```
//!
//! A benchmark is named by its path in the tree from the bench target down, joined with `::`
//! (`parse::sum::1`, `parse::collect::Vec<u64>`): exactly the name divan's own filter matches,
//! arguments, types and consts included. The value is the median time per iteration. Rows with
//! an empty name under a benchmark (throughput of a counter, allocation counts) belong to the
//! row above and are skipped; rows with no figures are modules or functions with arguments.

use perf_fixer_core::sample::BenchValue;

use super::criterion::to_nanos;
use super::{AdapterError, Collected, parse_number};

const UNIT: &str = "ns/iter";

/// Each level of the tree is drawn three characters wide (`├─ `, `│  `, `   `).
const INDENT: usize = 3;

/// Column layout of the current table, from its header line.
struct Table {
    root: String,
    /// Character offset where the first figure (`fastest`) starts.
    figures_at: usize,
    /// Index of the `median` column among the `│`-separated cells.
    median: usize,
}

pub(super) fn parse(text: &str, origin: &str) -> Result<Collected, AdapterError> {
    let mut collected = Collected::default();
    let mut table: Option<Table> = None;
    let mut path: Vec<String> = Vec::new();
    let mut saw_tree = None;
    for (index, line) in text.lines().enumerate() {
        let error = |message: String| AdapterError::Parse {
            origin: origin.to_owned(),
            line: index + 1,
            message,
        };
        if line.trim().is_empty() {
            table = None;
            continue;
        }
        if let Some(header) = header(line) {
            let header = header.map_err(error)?;
            path.clear();
            table = Some(header);
            continue;
        }
        let is_tree_row = line.starts_with(['├', '╰', '│']) || line.starts_with("   ");
        let Some(table) = &table else {
            if is_tree_row && saw_tree.is_none() {
                saw_tree = Some(index + 1);
            }
            continue;
        };
        if !is_tree_row {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let prefix = chars
            .iter()
            .take_while(|c| matches!(c, '├' | '╰' | '│' | '─' | ' '))
            .count();
        let head: String = chars[..table.figures_at.min(chars.len())].iter().collect();
        let name = head
            .trim_start_matches(['├', '╰', '│', '─', ' '])
            .trim_end();
        if name.is_empty() {
            // A counter's throughput or an allocation count under the benchmark above.
            continue;
        }
        let depth = prefix / INDENT;
        if depth == 0 {
            return Err(error(format!(
                "a row of divan's table without its tree branch: `{}`",
                line.trim()
            )));
        }
        path.truncate(depth - 1);
        path.push(name.to_owned());
        let rest: String = chars[table.figures_at.min(chars.len())..].iter().collect();
        let cells: Vec<&str> = rest.split('│').map(str::trim).collect();
        if cells.iter().all(|c| c.is_empty()) {
            // A module, or a function whose arguments are the rows below.
            continue;
        }
        let full_name = format!("{}::{}", table.root, path.join("::"));
        let median = cells.get(table.median).copied().unwrap_or_default();
        let value = time(median).ok_or_else(|| {
            error(format!(
                "benchmark `{full_name}` has no median time (found `{median}` in the median \
                 column)"
            ))
        })?;
        collected.values.push(BenchValue {
            name: full_name,
            unit: UNIT.to_owned(),
            value,
        });
    }
    if collected.values.is_empty()
        && let Some(line) = saw_tree
    {
        return Err(AdapterError::Parse {
            origin: origin.to_owned(),
            line,
            message: "divan's benchmark tree without its table of times (no `fastest │ slowest \
                      │ median` header, so no medians): was the command run with `--list`? \
                      Run the benchmarks themselves"
                .to_owned(),
        });
    }
    Ok(collected)
}

/// `Some` when `line` is a table header: `<target>  fastest │ slowest │ median │ ...`.
fn header(line: &str) -> Option<Result<Table, String>> {
    let chars: Vec<char> = line.chars().collect();
    let text: String = chars.iter().collect();
    let fastest = text.find("fastest")?;
    if !text.contains('│') || line.starts_with(['├', '╰', '│', ' ']) {
        return None;
    }
    let root = text[..fastest].trim().to_owned();
    if root.is_empty() {
        return None;
    }
    let figures_at = text[..fastest].chars().count();
    let cells: Vec<&str> = text[fastest..].split('│').map(str::trim).collect();
    let Some(median) = cells.iter().position(|c| *c == "median") else {
        return Some(Err(format!(
            "divan's table for `{root}` has no `median` column (columns: {})",
            cells.join(", ")
        )));
    };
    Some(Ok(Table {
        root,
        figures_at,
        median,
    }))
}

/// `3.409 ns`, `2.042 µs`, `1.2 s`.
fn time(cell: &str) -> Option<f64> {
    let (number, unit) = cell.split_once(' ')?;
    to_nanos(parse_number(number)?, unit.trim())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_median_cell_that_is_not_a_time_names_its_line() {
        let text = "t      fastest │ slowest │ median │ mean │ samples │ iters\n\
                    ╰─ f   1 ns    │ 2 ns    │ ?      │ 1 ns │ 10      │ 10\n";
        let err = parse(text, "out").unwrap_err();
        assert_eq!(
            err.to_string(),
            "out:2: benchmark `t::f` has no median time (found `?` in the median column)"
        );
    }

    #[test]
    fn a_table_without_a_median_column_is_an_error() {
        let text = "t      fastest │ slowest │ mean │ samples │ iters\n\
                    ╰─ f   1 ns    │ 2 ns    │ 1 ns │ 10      │ 10\n";
        let err = parse(text, "out").unwrap_err().to_string();
        assert!(
            err.starts_with("out:1: divan's table for `t` has no `median` column"),
            "{err}"
        );
    }

    #[test]
    fn times_in_every_unit() {
        assert_eq!(time("3.5 ns"), Some(3.5));
        assert_eq!(time("2.5 µs"), Some(2500.0));
        assert_eq!(time("1.5 ms"), Some(1_500_000.0));
        assert_eq!(time("1.151 GB/s"), None);
        assert_eq!(time(""), None);
    }
}
