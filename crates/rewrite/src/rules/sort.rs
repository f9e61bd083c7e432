//! `sort*` → `sort_unstable*`, and `sort_by_key` with a cloning key → `sort_by` comparing
//! borrowed fields.

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo};

pub const UNSTABLE_INFO: RuleInfo = RuleInfo {
    id: "sort_unstable",
    title: "Stable sort replaced by unstable sort",
    why_faster: "the stable merge sort allocates a buffer of n/2 elements; pattern-defeating \
                 quicksort sorts in place and is usually faster",
    risk: Risk::Medium,
};

pub const CLONED_KEY_INFO: RuleInfo = RuleInfo {
    id: "sort_by_cloned_key",
    title: "sort_by_key with a cloned key replaced by sort_by on borrowed keys",
    why_faster: "`sort_by_key` calls the key function O(n log n) times; a key that clones a \
                 String or Vec allocates on every comparison",
    risk: Risk::Low,
};

const PRIMITIVES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "char",
    "bool", "&str", "String",
];

pub fn find_unstable(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("call_expression")
        .iter()
        .filter_map(|call| unstable_site(ctx, call))
        .collect()
}

fn unstable_site(ctx: &Ctx<'_>, call: &N<'_>) -> Option<Site> {
    let (receiver, method, _) = syntax::method_call(call)?;
    let replacement = match method.as_str() {
        "sort" => "sort_unstable",
        "sort_by" => "sort_unstable_by",
        "sort_by_key" => "sort_unstable_by_key",
        _ => return None,
    };
    if !syntax::is_simple_place(&receiver) || call.parent()?.kind() != "expression_statement" {
        return None;
    }
    let name_node = call.field("function")?.field("field")?;
    let element_is_primitive =
        syntax::element_type(ctx.src, &receiver).is_some_and(|t| PRIMITIVES.contains(&t.as_str()));
    let (risk, risk_notes) = if method == "sort" && element_is_primitive {
        (
            Risk::Low,
            "the elements are primitives or strings, whose equal values are identical, so \
             stability is not observable."
                .to_string(),
        )
    } else {
        (
            Risk::Medium,
            format!(
                "`{replacement}` may reorder elements that compare equal{}; that is only \
                 unobservable when equal elements are indistinguishable (e.g. derived `Ord` on \
                 the whole value). Check that no caller relies on the previous order of ties.",
                if method == "sort" {
                    ""
                } else {
                    " under the comparator/key"
                }
            ),
        )
    };
    Some(Site {
        edits: vec![TextEdit::replace(name_node.range(), replacement)],
        description: format!(
            "`{}.{method}` → `.{replacement}` (line {})",
            ctx.text(&receiver),
            syntax::start_line(call)
        ),
        risk,
        risk_notes,
    })
}

pub fn find_cloned_key(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("call_expression")
        .iter()
        .filter_map(|call| cloned_key_site(ctx, call))
        .collect()
}

fn cloned_key_site(ctx: &Ctx<'_>, call: &N<'_>) -> Option<Site> {
    let (_, method, arguments) = syntax::method_call(call)?;
    let replacement = match method.as_str() {
        "sort_by_key" => "sort_by",
        "sort_unstable_by_key" => "sort_unstable_by",
        _ => return None,
    };
    let args = syntax::args(&arguments);
    let [closure] = args.as_slice() else {
        return None;
    };
    if closure.kind() != "closure_expression" {
        return None;
    }
    let params = closure.field("parameters")?;
    let param_names: Vec<N<'_>> = params.children().filter(|c| c.is_named()).collect();
    let [param] = param_names.as_slice() else {
        return None;
    };
    if param.kind() != "identifier" {
        return None;
    }
    let body = closure.field("body")?;
    let (key, key_method, key_args) = syntax::method_call(&body)?;
    if !matches!(key_method.as_str(), "clone" | "to_owned")
        || !syntax::args(&key_args).is_empty()
        || key.kind() != "field_expression"
        || !syntax::is_simple_place(&key)
        || syntax::place_root(&key).is_none_or(|r| r.text() != param.text())
    {
        return None;
    }
    let path = ctx
        .text(&key)
        .strip_prefix(param.text().as_ref())?
        .to_string();
    // The new closure mentions only its own parameters and field names, so any names do.
    let (a, b) = ("a", "b");
    let name_node = call.field("function")?.field("field")?;
    Some(Site {
        edits: vec![
            TextEdit::replace(name_node.range(), replacement),
            TextEdit::replace(
                closure.range(),
                format!("|{a}, {b}| {a}{path}.cmp(&{b}{path})"),
            ),
        ],
        description: format!(
            "compare `{path}` by reference instead of cloning it per comparison (line {})",
            syntax::start_line(call)
        ),
        risk: Risk::Low,
        risk_notes: format!(
            "`{replacement}` with `Ord::cmp` on the borrowed key orders exactly as `{method}` \
             on the cloned key, and keeps the same stability."
        ),
    })
}
