//! `Regex::new("literal").unwrap()` built on every call → a `LazyLock` static, compiled once.

use std::collections::HashMap;

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N, Use};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "regex_hoist",
    title: "Regex compiled per call hoisted into a LazyLock static",
    why_faster: "compiling a regex costs microseconds to milliseconds; a static compiles it once \
                 and every later call only matches",
    risk: Risk::Low,
};

struct Found<'r> {
    /// The `Regex::new(..).unwrap()` expression to replace.
    expr: N<'r>,
    /// How the replacement is spelled relative to the static's name.
    as_reference: bool,
    type_path: String,
    literal: String,
    /// `.unwrap()` or `.expect(..)`, as written.
    unwrap_suffix: String,
    function: N<'r>,
    body: N<'r>,
    /// The `?` form, whose literal was checked to compile.
    validated: bool,
}

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    let found: Vec<Found<'_>> = ctx
        .nodes("call_expression")
        .iter()
        .filter_map(|call| match_site(ctx, call))
        .collect();
    // Deterministic, file-unique names, so that several hoists combine.
    let mut per_function: HashMap<usize, usize> = HashMap::new();
    let mut taken: Vec<String> = Vec::new();
    let mut sites = Vec::new();
    for f in found {
        let fn_name = f
            .function
            .field("name")
            .map(|n| n.text().to_uppercase())
            .unwrap_or_else(|| "HOISTED".into());
        let nth = per_function.entry(f.function.range().start).or_insert(0);
        *nth += 1;
        let mut name = if *nth == 1 {
            format!("{fn_name}_RE")
        } else {
            format!("{fn_name}_RE_{nth}")
        };
        while word_in(ctx.src, &name) || taken.contains(&name) {
            name.push('_');
        }
        taken.push(name.clone());

        let items = syntax::block_items(&f.body);
        let open = f.body.range().start + 1;
        let indent = match items.first() {
            Some(first) if syntax::line_start_if_first(ctx.src, first.range().start).is_some() => {
                syntax::line_indent(ctx.src, first.range().start).to_string()
            }
            _ => format!(
                "{}    ",
                syntax::line_indent(ctx.src, f.function.range().start)
            ),
        };
        let decl = format!(
            "\n{indent}static {name}: std::sync::LazyLock<{ty}> = std::sync::LazyLock::new(|| {ty}::new({lit}){suffix});",
            ty = f.type_path,
            lit = f.literal,
            suffix = f.unwrap_suffix,
        );
        let use_text = if f.as_reference {
            format!("&*{name}")
        } else {
            name.clone()
        };
        sites.push(Site {
            edits: vec![
                TextEdit::insert(open, decl),
                TextEdit::replace(f.expr.range(), use_text),
            ],
            description: format!(
                "compile `{}::new({})` once in a static `{name}` instead of on every call (line {})",
                f.type_path,
                f.literal,
                syntax::start_line(&f.expr)
            ),
            risk: Risk::Low,
            risk_notes: if f.validated {
                "the pattern is a literal, so every call built the same regex; it is now built \
                 on first use. The `?` could never fail: the literal was checked with the \
                 `regex` crate when hoisting (a different `Regex` type with another syntax would \
                 panic at first use instead of returning its error)."
                    .into()
            } else {
                "the pattern is a literal, so every call built the same regex; it is now built \
                 on first use. A pattern that does not compile still panics, at first use, as \
                 the original `unwrap`/`expect` did."
                    .into()
            },
        });
    }
    sites
}

fn word_in(src: &str, word: &str) -> bool {
    src.match_indices(word).any(|(i, _)| {
        let before = src[..i].chars().next_back();
        let after = src[i + word.len()..].chars().next();
        let is_ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !is_ident(before) && !is_ident(after)
    })
}

fn match_site<'r>(ctx: &Ctx<'r>, call: &N<'r>) -> Option<Found<'r>> {
    let function = call.field("function")?;
    if function.kind() != "scoped_identifier" || function.field("name")?.text() != "new" {
        return None;
    }
    let path = function.field("path")?;
    let type_path = ctx.text(&path).to_string();
    let last = type_path.rsplit("::").next()?;
    if last != "Regex" || type_path.contains("Self") {
        return None;
    }
    let args = syntax::args(&call.field("arguments")?);
    let [lit] = args.as_slice() else {
        return None;
    };
    if !matches!(lit.kind().as_ref(), "string_literal" | "raw_string_literal") {
        return None;
    }
    let parent = call.parent()?;
    let (unwrap_call, unwrap_suffix) = if parent.kind() == "try_expression" {
        // `Regex::new(L)?`: only when the literal is a valid pattern, so the error branch
        // was dead and the static can never panic.
        let pattern = literal_value(ctx.text(lit))?;
        regex::Regex::new(&pattern).ok()?;
        (
            parent,
            ".expect(\"regex literal checked when hoisted\")".to_string(),
        )
    } else {
        // `Regex::new(L).unwrap()` / `.expect(msg)`.
        if parent.kind() != "field_expression" {
            return None;
        }
        let unwrap_call = parent.parent()?;
        let (_, method, unwrap_args) = syntax::method_call(&unwrap_call)?;
        let n_args = syntax::args(&unwrap_args).len();
        if !((method == "unwrap" && n_args == 0) || (method == "expect" && n_args == 1)) {
            return None;
        }
        let suffix = ctx.src.get(call.range().end..unwrap_call.range().end)?;
        (unwrap_call, suffix.trim_start().to_string())
    };
    let as_reference = usage_allows_hoist(&unwrap_call)?;
    let function_item = syntax::enclosing(call, "function_item")?;
    let body = function_item.field("body")?;
    let validated = unwrap_call.kind() == "try_expression";
    Some(Found {
        validated,
        expr: unwrap_call,
        as_reference,
        type_path,
        literal: ctx.text(lit).to_string(),
        unwrap_suffix,
        function: function_item,
        body,
    })
}

/// `Some(false)`: used directly as a method receiver (`NAME.is_match(..)`).
/// `Some(true)`: bound by `let re = ..;` and `re` is only ever a method receiver, so a
/// `&Regex` serves (`let re = &*NAME;`). `None`: any other use.
fn usage_allows_hoist(expr: &N<'_>) -> Option<bool> {
    let parent = expr.parent()?;
    if parent.kind() == "field_expression"
        && parent
            .parent()
            .is_some_and(|gp| gp.kind() == "call_expression")
    {
        return Some(false);
    }
    if parent.kind() != "let_declaration"
        || parent.field("type").is_some()
        || parent.children().any(|c| c.kind() == "mutable_specifier")
    {
        return None;
    }
    let pattern = parent.field("pattern")?;
    if pattern.kind() != "identifier" {
        return None;
    }
    let scope = parent.parent()?;
    let name = pattern.text();
    let after = parent.range().end;
    let uses: Vec<N<'_>> = syntax::idents_named(&scope, &name)
        .into_iter()
        .filter(|u| u.range().start >= after)
        .collect();
    if syntax::inline_format_mentions(&scope, &name) {
        return None;
    }
    let all_methods = uses
        .iter()
        .all(|u| matches!(syntax::classify(u), Use::Method { on_part: false, .. }));
    all_methods.then_some(true)
}

/// The value of a Rust string literal (`"..."` with escapes, or `r#"..."#`).
fn literal_value(text: &str) -> Option<String> {
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let inner = raw.get(hashes..raw.len().checked_sub(hashes)?)?;
        return inner
            .strip_prefix('"')?
            .strip_suffix('"')
            .map(str::to_string);
    }
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'x' => {
                let hex: String = [chars.next()?, chars.next()?].iter().collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let mut hex = String::new();
                for h in chars.by_ref() {
                    if h == '}' {
                        break;
                    }
                    if h != '_' {
                        hex.push(h);
                    }
                }
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            '\n' => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::literal_value;

    #[test]
    fn literal_values() {
        assert_eq!(literal_value(r#""a\\d+\n""#).as_deref(), Some("a\\d+\n"));
        assert_eq!(literal_value(r##"r#"x"y"#"##).as_deref(), Some("x\"y"));
        assert_eq!(literal_value(r#"r"\d""#).as_deref(), Some("\\d"));
        assert_eq!(literal_value(r#""\u{41}\x42""#).as_deref(), Some("AB"));
        assert_eq!(literal_value(r#""\q""#), None);
        assert_eq!(literal_value("b\"x\""), None);
    }
}
