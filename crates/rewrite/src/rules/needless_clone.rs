//! `x.clone().len()`, `for a in v.clone().iter()`: a clone only borrowed → borrow the original.

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "needless_clone",
    title: "Clone that is only borrowed removed",
    why_faster: "cloning a collection or string allocates and copies every element; the \
                 method that follows only needs a borrow of the original",
    risk: Risk::Low,
};

/// Methods that take `&self`, so `x.clone().m(..)` and `x.m(..)` resolve to the same method
/// with the same result type. Names that some common type also defines by value (`get`,
/// `last`, `lines`, `bytes`, `split` on iterators and readers) are left out: removing the
/// clone there would move the original.
const BORROWING: &[&str] = &[
    "len",
    "is_empty",
    "iter",
    "contains",
    "contains_key",
    "starts_with",
    "ends_with",
    "as_str",
    "as_slice",
    "as_bytes",
    "first",
    "chars",
    "keys",
    "values",
    "trim",
    "split_whitespace",
];

/// Of those, the ones whose result holds no borrow.
const OWNED_RESULT: &[&str] = &[
    "len",
    "is_empty",
    "contains",
    "contains_key",
    "starts_with",
    "ends_with",
];

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("call_expression")
        .iter()
        .filter_map(|call| site(ctx, call))
        .collect()
}

fn site(ctx: &Ctx<'_>, clone_call: &N<'_>) -> Option<Site> {
    let (receiver, method, args) = syntax::method_call(clone_call)?;
    if method != "clone" || !syntax::args(&args).is_empty() || !syntax::is_simple_place(&receiver) {
        return None;
    }
    let access = clone_call.parent()?;
    if access.kind() != "field_expression" {
        return None;
    }
    let outer = access.parent()?;
    let (_, outer_method, _) = syntax::method_call(&outer)?;
    if !BORROWING.contains(&outer_method.as_str()) {
        return None;
    }
    // The original stays borrowed while the outer call's result lives: across the loop when
    // the call is a `for` loop's iterator, else across its statement. It must not be
    // mutated or moved there.
    let root = syntax::place_root(&receiver)?;
    let ok = if OWNED_RESULT.contains(&outer_method.as_str()) {
        // The borrow ends with the call: only its arguments can conflict.
        syntax::only_read_in(&outer, &root.text(), Some(clone_call))
    } else {
        let region = borrow_region(&outer)?;
        syntax::only_read_in(&region, &root.text(), Some(&outer))
    };
    if !ok {
        return None;
    }
    let receiver_text = ctx.text(&receiver);
    Some(Site {
        edits: vec![TextEdit::replace(
            receiver.range().end..clone_call.range().end,
            "",
        )],
        description: format!(
            "borrow `{receiver_text}` instead of cloning it for `.{outer_method}()` (line {})",
            syntax::start_line(clone_call)
        ),
        risk: Risk::Low,
        risk_notes: format!(
            "`.{outer_method}()` takes `&self`, so it gives the same result on the original; \
             `{}` is only read while the borrow lives. A `Clone` impl with side effects would \
             no longer run.",
            root.text()
        ),
    })
}

/// The code across which a borrow taken at `expr` lives: the loop when `expr` is a `for`
/// loop's iterator, else its statement, or the block's tail expression it is part of.
fn borrow_region<'r>(expr: &N<'r>) -> Option<N<'r>> {
    let mut below = expr.clone();
    for a in expr.ancestors() {
        match a.kind().as_ref() {
            "for_expression" => {
                let value = a.field("value")?;
                let r = value.range();
                if expr.range().start >= r.start && expr.range().end <= r.end {
                    return Some(a);
                }
            }
            "expression_statement" | "let_declaration" => return Some(a),
            "block" => return Some(below),
            "closure_expression" | "function_item" => return None,
            _ => {}
        }
        below = a;
    }
    None
}
