//! `s.push_str(&format!(..))`, `s += &format!(..)` and `s = format!("{}..", s, ..)` →
//! `write!(s, ..)`, formatting straight into the existing String.

use super::{Ctx, Site};
use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo};

pub const INFO: RuleInfo = RuleInfo {
    id: "format_push_string",
    title: "format! appended to a String replaced by write! into it",
    why_faster: "`format!` allocates a temporary String that is then copied; `s = format!(\"{}..\", \
                 s, ..)` even copies the whole of `s` each time, quadratic in a loop. `write!` \
                 appends in place",
    risk: Risk::Low,
};

pub fn find(ctx: &Ctx<'_>) -> Vec<Site> {
    ctx.nodes("expression_statement")
        .iter()
        .filter_map(|stmt| site(ctx, stmt))
        .collect()
}

fn site(ctx: &Ctx<'_>, stmt: &N<'_>) -> Option<Site> {
    let expr = stmt.child(0)?;
    if !stmt.text().trim_end().ends_with(';') {
        return None;
    }
    let (target, fmt_args, shape) = match expr.kind().as_ref() {
        "call_expression" => {
            let (recv, method, arguments) = syntax::method_call(&expr)?;
            let args = syntax::args(&arguments);
            let [arg] = args.as_slice() else {
                return None;
            };
            if method != "push_str" || arg.kind() != "reference_expression" {
                return None;
            }
            (
                recv,
                format_call(ctx, &arg.field("value")?)?,
                "push_str(&format!(..))",
            )
        }
        "compound_assignment_expr" => {
            if expr.field("operator")?.text() != "+=" {
                return None;
            }
            let right = expr.field("right")?;
            if right.kind() != "reference_expression" {
                return None;
            }
            let fmt_args = format_call(ctx, &right.field("value")?)?;
            (expr.field("left")?, fmt_args, "+= &format!(..)")
        }
        "assignment_expression" => {
            let target = expr.field("left")?;
            let fmt_args = format_call(ctx, &expr.field("right")?)?;
            let rest = strip_leading_self(&fmt_args, ctx.text(&target))?;
            (target, rest, "= format!(\"{}..\", s, ..)")
        }
        _ => return None,
    };
    if !syntax::is_simple_place(&target) {
        return None;
    }
    let target_text = ctx.text(&target);
    let root = syntax::place_root(&target)?.text().to_string();
    // The target is mutably borrowed by `write!`: the arguments must not mention it.
    let mentions_target = fmt_args.iter().any(|a| mentions_word(a, &root));
    if mentions_target || fmt_args.is_empty() {
        return None;
    }
    let replacement = format!(
        "{{ use std::fmt::Write as _; let _ = write!({target_text}, {}); }}",
        fmt_args.join(", ")
    );
    Some(Site {
        edits: vec![TextEdit::replace(stmt.range(), replacement)],
        description: format!(
            "format straight into `{target_text}` instead of `{shape}` (line {})",
            syntax::start_line(stmt)
        ),
        risk: Risk::Low,
        risk_notes: "writing into a String cannot fail, so the ignored `fmt::Result` is always \
                     `Ok` unless a `Display` impl itself returns an error (where `format!` \
                     would have panicked). The text appended is the same."
            .into(),
    })
}

/// `format!(args)`: its arguments.
fn format_call(ctx: &Ctx<'_>, n: &N<'_>) -> Option<Vec<String>> {
    let (name, args) = syntax::macro_call(ctx.src, n)?;
    (name == "format" && !args.is_empty()).then(|| args.iter().map(|a| a.to_string()).collect())
}

/// `format!("{}rest", s, more..)` or `format!("{s}rest", more..)` assigned to `s`: the
/// arguments that append `rest`. Gives up on positional or repeated uses of `s`.
fn strip_leading_self(args: &[String], target: &str) -> Option<Vec<String>> {
    let fmt = args.first()?;
    let body = fmt.strip_prefix('"')?.strip_suffix('"')?;
    if fmt.starts_with('r') || body.contains("{0") || body.contains("{:") {
        return None;
    }
    let inline = format!("{{{target}}}");
    let (rest_body, rest_args): (&str, Vec<String>) = if let Some(r) = body.strip_prefix("{}") {
        if args.get(1).map(String::as_str) != Some(target) {
            return None;
        }
        (r, args[2..].to_vec())
    } else if let Some(r) = body.strip_prefix(inline.as_str()) {
        (r, args[1..].to_vec())
    } else {
        return None;
    };
    if rest_body.is_empty() && rest_args.is_empty() {
        return None;
    }
    // Rebuild the format string without the leading placeholder; it stays a literal.
    let mut out = vec![format!("\"{rest_body}\"")];
    out.extend(rest_args);
    Some(out)
}

fn mentions_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let is_ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !is_ident(before) && !is_ident(after)
    })
}
