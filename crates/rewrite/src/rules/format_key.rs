//! `map.get(&format!("{}", key))` (or `&key.to_string()`) where `key` is a string → look up
//! with `key.as_str()`, without building a new String.

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "format_key",
    title: "Lookup key built with format!/to_string from a string replaced by a borrow",
    why_faster: "`format!`/`to_string` allocate and copy a String for every lookup; a map \
                 keyed by String can be queried with `&str` directly",
    risk: Risk::Low,
};

/// Map and set methods generic over `Q` with `K: Borrow<Q>`, so `&str` works for `String` keys.
const BORROW_LOOKUPS: &[&str] = &["get", "get_mut", "contains_key", "remove", "get_key_value"];

const STRING_TYPES: &[&str] = &["String", "&String", "&mut String"];

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("call_expression")
        .iter()
        .filter_map(|call| site(ctx, call))
        .collect()
}

fn site(ctx: &Ctx<'_>, call: &N<'_>) -> Option<Site> {
    let (_, method, arguments) = syntax::method_call(call)?;
    if !BORROW_LOOKUPS.contains(&method.as_str()) {
        return None;
    }
    let args = syntax::args(&arguments);
    let [arg] = args.as_slice() else {
        return None;
    };
    if arg.kind() != "reference_expression"
        || arg.children().any(|c| c.kind() == "mutable_specifier")
    {
        return None;
    }
    let key_expr = arg.field("value")?;
    let var = owned_copy_of(ctx, &key_expr)?;
    let is_str_ref = match declared_type(ctx, call, &var)? {
        StrKind::Str => true,
        StrKind::String => false,
    };
    let replacement = if is_str_ref {
        var.clone()
    } else {
        format!("{var}.as_str()")
    };
    Some(Site {
        edits: vec![TextEdit::replace(arg.range(), replacement.clone())],
        description: format!(
            "look up with `{replacement}` instead of allocating `{}` (line {})",
            ctx.text(&key_expr),
            syntax::start_line(call)
        ),
        risk: Risk::Low,
        risk_notes: format!(
            "`{var}` is declared as a string, so the built key equals it; `.{method}` accepts \
             any `Q` with `K: Borrow<Q>`, and `String` keys borrow as `str`."
        ),
    })
}

/// `format!("{}", x)`, `format!("{x}")`, `x.to_string()`, `x.to_owned()`, `x.clone()`,
/// `String::from(x)`: the variable `x`.
fn owned_copy_of(ctx: &Ctx<'_>, key: &N<'_>) -> Option<String> {
    match key.kind().as_ref() {
        "macro_invocation" => {
            let (name, args) = syntax::macro_call(ctx.src, key)?;
            if name != "format" {
                return None;
            }
            match args.as_slice() {
                ["\"{}\"", x] if is_ident(x) => Some((*x).to_string()),
                [fmt] => {
                    let inner = fmt.strip_prefix("\"{")?.strip_suffix("}\"")?;
                    is_ident(inner).then(|| inner.to_string())
                }
                _ => None,
            }
        }
        "call_expression" => {
            if let Some((recv, method, args)) = syntax::method_call(key) {
                let copies = matches!(method.as_str(), "to_string" | "to_owned" | "clone");
                return (copies && syntax::args(&args).is_empty() && recv.kind() == "identifier")
                    .then(|| recv.text().to_string());
            }
            let function = key.field("function")?;
            let args = syntax::args(&key.field("arguments")?);
            match args.as_slice() {
                [x] if ctx.text(&function) == "String::from" && x.kind() == "identifier" => {
                    Some(x.text().to_string())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

enum StrKind {
    /// `&str`
    Str,
    /// `String`, `&String`, `&mut String`
    String,
}

/// The string type of `var` when the enclosing function binds it exactly once, as a
/// parameter or `let` with a string type annotation, or a `let` of a string literal.
fn declared_type(ctx: &Ctx<'_>, at: &N<'_>, var: &str) -> Option<StrKind> {
    let function = syntax::enclosing(at, "function_item")?;
    let bindings: Vec<N<'_>> = syntax::idents_named(&function, var)
        .into_iter()
        .filter(|i| is_binding(i))
        .collect();
    let [binding] = bindings.as_slice() else {
        return None;
    };
    let decl = binding.parent()?;
    if let Some(ty) = decl.field("type") {
        let ty = ctx.text(&ty).replace(' ', "");
        let ty = strip_lifetime(&ty);
        if ty == "&str" {
            return Some(StrKind::Str);
        }
        return STRING_TYPES
            .contains(&ty.as_str())
            .then_some(StrKind::String);
    }
    let value = decl.field("value")?;
    match value.kind().as_ref() {
        "string_literal" | "raw_string_literal" => Some(StrKind::Str),
        _ => None,
    }
}

fn strip_lifetime(ty: &str) -> String {
    match ty.strip_prefix("&'") {
        Some(rest) => {
            let name_len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            format!("&{}", &rest[name_len..])
        }
        None => ty.to_string(),
    }
}

/// Whether this identifier introduces a binding (any pattern position). Only `parameter`
/// and `let` patterns are understood; any other binding makes the caller give up.
fn is_binding(ident: &N<'_>) -> bool {
    let Some(parent) = ident.parent() else {
        return false;
    };
    match parent.kind().as_ref() {
        "parameter" | "let_declaration" => parent
            .field("pattern")
            .is_some_and(|p| syntax::same(&p, ident)),
        "for_expression" => parent
            .field("pattern")
            .is_some_and(|p| syntax::same(&p, ident)),
        "closure_parameters"
        | "tuple_pattern"
        | "tuple_struct_pattern"
        | "field_pattern"
        | "slice_pattern"
        | "or_pattern"
        | "ref_pattern"
        | "mut_pattern"
        | "captured_pattern"
        | "match_pattern"
        | "let_condition"
        | "struct_pattern" => true,
        _ => false,
    }
}
