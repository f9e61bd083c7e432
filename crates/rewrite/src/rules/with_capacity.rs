//! `let mut v = Vec::new();` filled by a loop that pushes once per element of a sized
//! collection → `Vec::with_capacity(coll.len())` (and the same for `String`).

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "with_capacity",
    title: "Lost with_capacity restored before a filling loop",
    why_faster: "a growing Vec or String reallocates and copies log2(n) times; reserving the \
                 known size once avoids that",
    risk: Risk::Low,
};

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("let_declaration")
        .iter()
        .filter_map(|decl| site(ctx, decl))
        .collect()
}

fn site(ctx: &Ctx<'_>, decl: &N<'_>) -> Option<Site> {
    if !decl.children().any(|c| c.kind() == "mutable_specifier") {
        return None;
    }
    let pattern = decl.field("pattern")?;
    if pattern.kind() != "identifier" {
        return None;
    }
    let var = pattern.text().to_string();
    let ctor = decl.field("value")?;
    let function = ctor.field("function")?;
    if ctor.kind() != "call_expression" || !syntax::args(&ctor.field("arguments")?).is_empty() {
        return None;
    }
    let fn_text = ctx.text(&function);
    let is_string = fn_text == "String::new";
    let is_vec =
        fn_text == "Vec::new" || (fn_text.starts_with("Vec::<") && fn_text.ends_with(">::new"));
    if !is_string && !is_vec {
        return None;
    }
    // The very next statement is the filling loop.
    let next = decl
        .next_all()
        .find(|n| n.is_named() && !syntax::is_comment(n))?;
    let for_loop = syntax::as_for(&next)?;
    let collection = sized_collection(&for_loop.field("value")?, is_string)?;
    if syntax::place_root(&collection).is_some_and(|r| r.text() == var) {
        return None;
    }
    let body = for_loop.field("body")?;
    if !pushes_once_per_iteration(&body, &var, is_string) {
        return None;
    }
    let cap = format!("{}.len()", ctx.text(&collection));
    let prefix = fn_text.strip_suffix("new")?;
    Some(Site {
        edits: vec![TextEdit::replace(
            ctor.range(),
            format!("{prefix}with_capacity({cap})"),
        )],
        description: format!(
            "reserve `{cap}` for `{var}` before the loop that fills it (line {})",
            syntax::start_line(decl)
        ),
        risk: Risk::Low,
        risk_notes: "capacity is only a hint: contents and behaviour are unchanged; the \
                     memory reserved up front is what the loop would have grown to."
            .into(),
    })
}

/// For `X.iter()`, `X.iter_mut()`, `X.keys()`, `X.values()`, `&X`, `&mut X`,
/// `X.iter().enumerate()`, `0..X.len()` (and `X.chars()` for strings): the place `X`.
fn sized_collection<'r>(iterated: &N<'r>, is_string: bool) -> Option<N<'r>> {
    let place = match iterated.kind().as_ref() {
        "reference_expression" => iterated.field("value")?,
        "range_expression" => {
            let parts: Vec<N<'r>> = iterated.children().filter(|c| c.is_named()).collect();
            let [start, end] = parts.as_slice() else {
                return None;
            };
            if start.text() != "0" || iterated.text().contains("..=") {
                return None;
            }
            let (recv, method, args) = syntax::method_call(end)?;
            if method != "len" || !syntax::args(&args).is_empty() {
                return None;
            }
            recv
        }
        "call_expression" => {
            let (recv, method, args) = syntax::method_call(iterated)?;
            if !syntax::args(&args).is_empty() {
                return None;
            }
            match method.as_str() {
                "iter" | "iter_mut" | "keys" | "values" => recv,
                "chars" if is_string => recv,
                "enumerate" => {
                    let (inner, m, a) = syntax::method_call(&recv)?;
                    if m != "iter" || !syntax::args(&a).is_empty() {
                        return None;
                    }
                    inner
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    syntax::is_simple_place(&place).then_some(place)
}

/// Exactly one `var.push(..)` (or `push_str` for a string) in the loop body, and it is a
/// statement of the body itself (not conditional, not in a nested loop or closure).
fn pushes_once_per_iteration(body: &N<'_>, var: &str, is_string: bool) -> bool {
    let is_push = |n: &N<'_>| {
        syntax::method_call(n).is_some_and(|(recv, method, _)| {
            recv.kind() == "identifier"
                && recv.text() == var
                && (method == "push" || (is_string && method == "push_str"))
        })
    };
    let all_pushes = body.dfs().filter(|n| is_push(n)).count();
    let top_level = syntax::block_items(body)
        .iter()
        .filter(|item| {
            item.kind() == "expression_statement" && item.child(0).is_some_and(|c| is_push(&c))
        })
        .count();
    all_pushes == 1 && top_level == 1
}
