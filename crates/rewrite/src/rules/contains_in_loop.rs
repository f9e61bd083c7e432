//! `vec.contains(x)` inside a loop → a `HashSet` of the vector's elements built once before
//! the loop.

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "contains_in_loop",
    title: "Vec::contains inside a loop replaced by a HashSet built once",
    why_faster: "`Vec::contains` scans the whole vector, so a loop over m items does O(m·n) \
                 comparisons; a set answers each query in O(1) after one O(n) build",
    risk: Risk::Medium,
};

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    let mut sites = Vec::new();
    for for_loop in ctx.nodes("for_expression") {
        let Some(body) = for_loop.field("body") else {
            continue;
        };
        // The distinct vectors queried in this loop, in order.
        let mut vectors: Vec<String> = Vec::new();
        for call in body.dfs() {
            if let Some(name) = vec_contains(ctx, &call)
                && !vectors.contains(&name)
            {
                vectors.push(name);
            }
        }
        for name in vectors {
            if let Some(site) = site(ctx, &for_loop, &body, &name) {
                sites.push(site);
            }
        }
    }
    sites
}

/// `v.contains(x)` where `v` is a local declared as a Vec, slice or array: `v`.
fn vec_contains(ctx: &Ctx<'_>, call: &N<'_>) -> Option<String> {
    let (recv, method, args) = syntax::method_call(call)?;
    if method != "contains" || syntax::args(&args).len() != 1 || recv.kind() != "identifier" {
        return None;
    }
    syntax::element_type(ctx.src, &recv)?;
    Some(recv.text().to_string())
}

fn site(ctx: &Ctx<'_>, for_loop: &N<'_>, body: &N<'_>, name: &str) -> Option<Site> {
    // Declared outside the loop, and only read inside it.
    let pattern = for_loop.field("pattern")?;
    if !syntax::idents_named(&pattern, name).is_empty() || !syntax::only_read_in(body, name, None) {
        return None;
    }
    let statement = match for_loop.parent() {
        Some(p) if p.kind() == "expression_statement" => p,
        _ => for_loop.clone(),
    };
    let line_start = syntax::line_start_if_first(ctx.src, statement.range().start)?;
    let indent = syntax::line_indent(ctx.src, statement.range().start);
    let mut set_name = format!("{name}_set");
    while ctx.src.contains(&set_name) {
        set_name.push('_');
    }
    let mut edits = vec![TextEdit::insert(
        line_start,
        format!(
            "{indent}let {set_name}: std::collections::HashSet<_> = {name}.iter().collect();\n"
        ),
    )];
    let mut lines = Vec::new();
    for call in body.dfs() {
        if vec_contains(ctx, &call).as_deref() == Some(name) {
            let recv = call.field("function")?.field("value")?;
            edits.push(TextEdit::replace(recv.range(), set_name.clone()));
            lines.push(syntax::start_line(&call).to_string());
        }
    }
    Some(Site {
        edits,
        description: format!(
            "look `{name}` up in a HashSet built once before the loop, not with `Vec::contains` (line {})",
            lines.join(", ")
        ),
        risk: Risk::Medium,
        risk_notes: format!(
            "the elements of `{name}` must implement `Hash + Eq` (a type with only `PartialEq` \
             will not compile, and a hand-written `PartialEq` inconsistent with `Hash` would \
             change results; an argument whose type was inferred from `contains`, such as `x as _`, \
             loses that inference). `{name}` is not changed inside the loop (checked). Building the \
             set costs O(n) per loop entry: a loop that runs only a few iterations can get \
             slower."
        ),
    })
}
