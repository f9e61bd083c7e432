//! An intermediate `collect::<Vec<_>>()` that is only iterated or counted → the iterator
//! itself.

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "intermediate_collect",
    title: "Intermediate collect::<Vec<_>>() that is only iterated removed",
    why_faster: "collecting allocates a vector and writes every item only to read it back \
                 once; iterating lazily does neither",
    risk: Risk::Medium,
};

/// Iterator adaptors and consumers that `Iterator` itself provides, so dropping
/// `.collect::<Vec<_>>().into_iter()` in front of them still type-checks.
const ITERATOR_METHODS: &[&str] = &[
    "map",
    "filter",
    "filter_map",
    "flat_map",
    "for_each",
    "sum",
    "product",
    "count",
    "fold",
    "any",
    "all",
    "find",
    "position",
    "max",
    "min",
    "max_by_key",
    "min_by_key",
    "enumerate",
    "take",
    "skip",
    "take_while",
    "skip_while",
    "inspect",
    "chain",
    "zip",
    "collect",
    "last",
];

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("call_expression")
        .iter()
        .filter_map(site)
        .collect()
}

fn site(collect_call: &N<'_>) -> Option<Site> {
    let (iter_expr, method, args) = syntax::method_call(collect_call)?;
    if method != "collect" || !syntax::args(&args).is_empty() || !collects_into_vec(collect_call) {
        return None;
    }
    let parent = collect_call.parent()?;
    let line = syntax::start_line(collect_call);
    let lazy_notes = |what: &str| {
        format!(
            "the iterator is now consumed lazily {what}: closures in it run interleaved with \
             the consumer instead of all before it, and not at all for items after an early \
             `break`/`return`, so side effects in them (I/O, counters, RefCell borrows) change \
             order or count; the variables it borrows are only read by the \
             consumer (checked), and the item type is unchanged"
        )
    };
    // `for x in it.collect::<Vec<_>>() { .. }`
    if parent.kind() == "for_expression"
        && parent
            .field("value")
            .is_some_and(|v| syntax::same(&v, collect_call))
    {
        let body = parent.field("body")?;
        if !borrowed_only_read(&iter_expr, &body) {
            return None;
        }
        return Some(Site {
            edits: vec![TextEdit::replace(
                iter_expr.range().end..collect_call.range().end,
                "",
            )],
            description: format!(
                "iterate the iterator directly instead of a collected Vec (line {line})"
            ),
            risk: Risk::Medium,
            risk_notes: lazy_notes("by the loop"),
        });
    }
    if parent.kind() != "field_expression" {
        return None;
    }
    let outer = parent.parent()?;
    let (_, next_method, next_args) = syntax::method_call(&outer)?;
    if !syntax::args(&next_args).is_empty() {
        return None;
    }
    match next_method.as_str() {
        // `.collect::<Vec<_>>().len()` → `.count()`: every item is still produced.
        "len" => Some(Site {
            edits: vec![TextEdit::replace(
                iter_expr.range().end..outer.range().end,
                ".count()",
            )],
            description: format!(
                "count the items instead of collecting them to take the length (line {line})"
            ),
            risk: Risk::Low,
            risk_notes: "`count()` drives the iterator to the end like `collect()` did, so every \
                         item and side effect is still produced, in the same order."
                .into(),
        }),
        // `.collect::<Vec<_>>().into_iter()` followed by an `Iterator` method or a `for`.
        "into_iter" => {
            let after = outer.parent()?;
            let consumer_ok = if after.kind() == "field_expression" {
                after
                    .parent()
                    .and_then(|c| syntax::method_call(&c))
                    .is_some_and(|(_, m, _)| ITERATOR_METHODS.contains(&m.as_str()))
            } else {
                after.kind() == "for_expression"
            };
            let region = statement_of(&outer)?;
            if !consumer_ok || !borrowed_only_read_except(&iter_expr, &region) {
                return None;
            }
            Some(Site {
                edits: vec![TextEdit::replace(
                    iter_expr.range().end..outer.range().end,
                    "",
                )],
                description: format!(
                    "drop `.collect::<Vec<_>>().into_iter()` and chain on the iterator (line {line})"
                ),
                risk: Risk::Medium,
                risk_notes: lazy_notes("by the rest of the chain"),
            })
        }
        _ => None,
    }
}

fn collects_into_vec(collect_call: &N<'_>) -> bool {
    let Some(function) = collect_call.field("function") else {
        return false;
    };
    if function.kind() != "generic_function" {
        return false;
    }
    function.field("type_arguments").is_some_and(|t| {
        let t = t.text();
        let inner = t.trim_start_matches('<').trim_start();
        inner.starts_with("Vec<") || inner.starts_with("std::vec::Vec<")
    })
}

/// Every variable the iterator expression mentions is only read in `scope`.
fn borrowed_only_read(iter_expr: &N<'_>, scope: &N<'_>) -> bool {
    mentioned_names(iter_expr)
        .iter()
        .all(|name| syntax::only_read_in(scope, name, None))
}

fn borrowed_only_read_except(iter_expr: &N<'_>, scope: &N<'_>) -> bool {
    mentioned_names(iter_expr)
        .iter()
        .all(|name| syntax::only_read_in(scope, name, Some(iter_expr)))
}

/// Variables the iterator expression may borrow: its identifiers, less called function
/// names and its closures' own parameters.
fn mentioned_names(n: &N<'_>) -> Vec<String> {
    let closure_params: Vec<String> = n
        .dfs()
        .filter(|d| d.kind() == "closure_parameters")
        .flat_map(|p| {
            p.dfs()
                .filter(|d| d.kind() == "identifier")
                .map(|d| d.text().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let is_called = |d: &N<'_>| {
        d.parent().is_some_and(|p| {
            p.kind() == "call_expression"
                && p.field("function").is_some_and(|f| syntax::same(&f, d))
        })
    };
    let mut names: Vec<String> = n
        .dfs()
        .filter(|d| matches!(d.kind().as_ref(), "identifier" | "self") && !is_called(d))
        .map(|d| d.text().to_string())
        .filter(|name| !closure_params.contains(name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn statement_of<'r>(n: &N<'r>) -> Option<N<'r>> {
    n.ancestors()
        .take_while(|a| !matches!(a.kind().as_ref(), "block" | "function_item"))
        .find(|a| {
            matches!(
                a.kind().as_ref(),
                "expression_statement" | "let_declaration"
            )
        })
}
