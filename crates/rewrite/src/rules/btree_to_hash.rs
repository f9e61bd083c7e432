//! A local `BTreeMap`/`BTreeSet` used only for lookups, never iterated → `HashMap`/`HashSet`.

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N, Use};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "btree_to_hash",
    title: "Local BTreeMap/BTreeSet used only for lookups replaced by HashMap/HashSet",
    why_faster: "a B-tree lookup does O(log n) key comparisons over scattered nodes; a hash \
                 lookup hashes once and probes one group",
    risk: Risk::Medium,
};

const MAP_METHODS: &[&str] = &[
    "insert",
    "get",
    "get_mut",
    "contains_key",
    "remove",
    "len",
    "is_empty",
    "clear",
    "entry",
];
const SET_METHODS: &[&str] = &["insert", "contains", "remove", "len", "is_empty", "clear"];
const ENTRY_METHODS: &[&str] = &["or_insert", "or_insert_with", "or_default", "and_modify"];

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("let_declaration")
        .iter()
        .filter_map(|decl| site(ctx, decl))
        .collect()
}

fn site(ctx: &Ctx<'_>, decl: &N<'_>) -> Option<Site> {
    let pattern = decl.field("pattern")?;
    if pattern.kind() != "identifier" {
        return None;
    }
    let name = pattern.text().to_string();
    let ctor = decl.field("value")?;
    if ctor.kind() != "call_expression" || !syntax::args(&ctor.field("arguments")?).is_empty() {
        return None;
    }
    let function = ctor.field("function")?;
    let fn_text = ctx.text(&function);
    let (old, new, allowed) = if let Some(i) = constructor_path_end(fn_text, "BTreeMap") {
        (i, "std::collections::HashMap", MAP_METHODS)
    } else if let Some(i) = constructor_path_end(fn_text, "BTreeSet") {
        (i, "std::collections::HashSet", SET_METHODS)
    } else {
        return None;
    };
    let kind = if new.ends_with("Map") {
        "BTreeMap"
    } else {
        "BTreeSet"
    };
    let mut edits = vec![TextEdit::replace(
        function.range().start..function.range().start + old,
        new,
    )];
    if let Some(ty) = decl.field("type") {
        if ty.kind() != "generic_type" {
            return None;
        }
        let base = ty.field("type")?;
        let base_text = ctx.text(&base);
        if !(base_text == kind
            || base_text == format!("std::collections::{kind}")
            || base_text == format!("collections::{kind}"))
        {
            return None;
        }
        edits.insert(0, TextEdit::replace(base.range(), new));
    }
    let scope = decl.parent()?;
    if syntax::inline_format_mentions(&scope, &name) {
        return None;
    }
    let after = decl.range().end;
    let only_lookups = syntax::idents_named(&scope, &name)
        .iter()
        .filter(|u| u.range().start >= after)
        .all(|u| use_is_lookup(u, allowed));
    if !only_lookups {
        return None;
    }
    let replacement = new.rsplit("::").next().unwrap_or(new);
    Some(Site {
        edits,
        description: format!(
            "use a {replacement} for `{name}`: it is only used for lookups, never iterated (line {})",
            syntax::start_line(decl)
        ),
        risk: Risk::Medium,
        risk_notes: format!(
            "the keys must implement `Hash + Eq` (they implement `Ord` now; a key type without \
             `Hash` will not compile). `{name}` is local and only used through \
             {}, so its order is never observed. A `use` of `{kind}` may become unused.",
            allowed.join("/")
        ),
    })
}

/// Where `Kind` ends in a constructor path `Kind::new`, `Kind::<K, V>::new`,
/// `std::collections::Kind::new`, or `Kind::default`.
fn constructor_path_end(fn_text: &str, kind: &str) -> Option<usize> {
    let end = fn_text.find(kind)? + kind.len();
    let prefix = &fn_text[..end - kind.len()];
    if !matches!(prefix, "" | "std::collections::" | "collections::") {
        return None;
    }
    let rest = &fn_text[end..];
    let rest = match rest.strip_prefix("::<") {
        Some(generic) => &generic[generic.find(">::")? + 1..],
        None => rest,
    };
    matches!(rest, "::new" | "::default").then_some(end)
}

fn use_is_lookup(ident: &N<'_>, allowed: &[&str]) -> bool {
    match syntax::classify(ident) {
        Use::Method {
            name,
            on_part: false,
        } if allowed.contains(&name.as_str()) => {
            if name != "entry" {
                return true;
            }
            // `m.entry(k)` must go straight into an entry method both map types share.
            let Some(call) = ident.parent().and_then(|p| p.parent()) else {
                return false;
            };
            call.parent()
                .filter(|p| p.kind() == "field_expression")
                .and_then(|p| p.parent())
                .and_then(|c| syntax::method_call(&c))
                .is_some_and(|(_, m, _)| ENTRY_METHODS.contains(&m.as_str()))
        }
        // `m[&key]` reads
        Use::Read => ident
            .parent()
            .is_some_and(|p| p.kind() == "index_expression"),
        _ => false,
    }
}
