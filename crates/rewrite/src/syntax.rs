//! Small helpers over the tree-sitter-rust syntax tree: node shapes, lines, indentation, and
//! a conservative classification of how a local variable is used.

use ast_grep_core::Node;
use ast_grep_core::tree_sitter::StrDoc;

use crate::RustLang;

pub type N<'r> = Node<'r, StrDoc<RustLang>>;

/// 1-based line of the node's first byte.
pub fn start_line(n: &N<'_>) -> u32 {
    u32::try_from(n.start_pos().line())
        .unwrap_or(u32::MAX)
        .saturating_add(1)
}

/// 1-based line of the node's last byte.
pub fn end_line(n: &N<'_>) -> u32 {
    let end = n.end_pos();
    let line = u32::try_from(end.line())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    // A node ending right after a newline ends on the previous line.
    if end.byte_point().1 == 0 && line > start_line(n) {
        line - 1
    } else {
        line
    }
}

pub fn same(a: &N<'_>, b: &N<'_>) -> bool {
    a.range() == b.range() && a.kind() == b.kind()
}

/// `recv.method(args)` or `recv.method::<T>(args)`: (receiver, method name, arguments node).
pub fn method_call<'r>(n: &N<'r>) -> Option<(N<'r>, String, N<'r>)> {
    if n.kind() != "call_expression" {
        return None;
    }
    let mut function = n.field("function")?;
    if function.kind() == "generic_function" {
        function = function.field("function")?;
    }
    if function.kind() != "field_expression" {
        return None;
    }
    let receiver = function.field("value")?;
    let name = function.field("field")?.text().to_string();
    Some((receiver, name, n.field("arguments")?))
}

/// The named argument expressions of an `arguments` node.
pub fn args<'r>(arguments: &N<'r>) -> Vec<N<'r>> {
    arguments
        .children()
        .filter(|c| c.is_named() && !is_comment(c))
        .collect()
}

pub fn is_comment(n: &N<'_>) -> bool {
    matches!(n.kind().as_ref(), "line_comment" | "block_comment")
}

/// The statement-level children of a block, without comments and braces.
pub fn block_items<'r>(block: &N<'r>) -> Vec<N<'r>> {
    block
        .children()
        .filter(|c| c.is_named() && !is_comment(c))
        .collect()
}

/// If `n` is a `for` loop, possibly wrapped in an expression statement, the loop node.
pub fn as_for<'r>(n: &N<'r>) -> Option<N<'r>> {
    match n.kind().as_ref() {
        "for_expression" => Some(n.clone()),
        "expression_statement" => n.child(0).filter(|c| c.kind() == "for_expression"),
        _ => None,
    }
}

/// A "simple place": `a`, `a.b`, `a.b.c`, `self.a` (no calls, no indexing).
pub fn is_simple_place(n: &N<'_>) -> bool {
    match n.kind().as_ref() {
        "identifier" | "self" => true,
        "field_expression" => n.field("value").is_some_and(|v| is_simple_place(&v)),
        _ => false,
    }
}

/// The leftmost identifier (or `self`) of a simple place.
pub fn place_root<'r>(n: &N<'r>) -> Option<N<'r>> {
    match n.kind().as_ref() {
        "identifier" | "self" => Some(n.clone()),
        "field_expression" => place_root(&n.field("value")?),
        _ => None,
    }
}

pub fn enclosing<'r>(n: &N<'r>, kind: &str) -> Option<N<'r>> {
    n.ancestors().find(|a| a.kind() == kind)
}

/// Leading whitespace of the line that contains byte `at`.
pub fn line_indent(src: &str, at: usize) -> &str {
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    let rest = &src[line_start..];
    let width = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..width]
}

/// Byte offset of the start of the line containing `at`, if only whitespace precedes `at`.
pub fn line_start_if_first(src: &str, at: usize) -> Option<usize> {
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    src[line_start..at]
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(line_start)
}

/// Every `identifier` node spelled `name` inside `scope`.
pub fn idents_named<'r>(scope: &N<'r>, name: &str) -> Vec<N<'r>> {
    scope
        .dfs()
        .filter(|d| matches!(d.kind().as_ref(), "identifier" | "self") && d.text() == name)
        .collect()
}

/// Whether `name` is mentioned as an inline format argument (`{name}`, `{name:?}`) in a
/// string literal inside a macro call within `scope`.
pub fn inline_format_mentions(scope: &N<'_>, name: &str) -> bool {
    let plain = format!("{{{name}}}");
    let with_spec = format!("{{{name}:");
    scope.dfs().any(|d| {
        d.kind() == "string_literal"
            && d.parent().is_some_and(|p| p.kind() == "token_tree")
            && (d.text().contains(&plain) || d.text().contains(&with_spec))
    })
}

/// Macros that only take references to their (non-first-of-write) arguments.
const FORMAT_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "unreachable",
];

/// Methods that take `&self` on the std collections and strings, and return nothing that
/// keeps a mutable borrow.
pub const READ_ONLY_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "get",
    "iter",
    "contains",
    "contains_key",
    "first",
    "starts_with",
    "ends_with",
    "as_str",
    "as_slice",
    "as_bytes",
    "keys",
    "values",
    "chars",
    "bytes",
    "lines",
    "split",
    "split_whitespace",
    "trim",
    "to_string",
    "to_owned",
    "to_vec",
    "clone",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "binary_search",
    "windows",
    "chunks",
    "get_key_value",
    "capacity",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "is_match",
];

/// How one mention of a local variable uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// `x.m(..)` (also `x.f.m(..)`, `x[i].m(..)`: `on_part` is true).
    Method { name: String, on_part: bool },
    /// `&x`, a comparison operand, a format macro argument, or a read of a field/element.
    Read,
    /// `&mut x`, assignment to it or a part of it, the target of `write!`.
    Write,
    /// Passed or bound by value (a move or copy), or anything not recognised.
    Other,
}

impl Use {
    pub fn is_read_only(&self) -> bool {
        match self {
            Use::Read => true,
            Use::Method { name, .. } => READ_ONLY_METHODS.contains(&name.as_str()),
            Use::Write | Use::Other => false,
        }
    }
}

/// Classify one `identifier` mention.
pub fn classify(ident: &N<'_>) -> Use {
    classify_place(ident, false)
}

fn classify_place(n: &N<'_>, is_part: bool) -> Use {
    let Some(p) = n.parent() else {
        return Use::Other;
    };
    let is_first_child = p
        .children()
        .find(|c| c.is_named())
        .is_some_and(|c| same(&c, n));
    match p.kind().as_ref() {
        "field_expression" if p.field("value").is_some_and(|v| same(&v, n)) => {
            if let Some(gp) = p.parent()
                && gp.kind() == "call_expression"
                && gp.field("function").is_some_and(|f| same(&f, &p))
            {
                let name = p.field("field").map(|f| f.text().to_string());
                return name.map_or(Use::Other, |name| Use::Method {
                    name,
                    on_part: is_part,
                });
            }
            classify_place(&p, true)
        }
        "index_expression" if is_first_child => classify_place(&p, true),
        "parenthesized_expression" => classify_place(&p, is_part),
        "unary_expression" if p.text().starts_with('*') => classify_place(&p, true),
        "reference_expression" => {
            if p.children().any(|c| c.kind() == "mutable_specifier") {
                Use::Write
            } else {
                Use::Read
            }
        }
        "assignment_expression" | "compound_assignment_expr"
            if p.field("left").is_some_and(|l| same(&l, n)) =>
        {
            Use::Write
        }
        "binary_expression" => {
            let op = p.field("operator").map(|o| o.text().to_string());
            match op.as_deref() {
                Some("==" | "!=" | "<" | ">" | "<=" | ">=") => Use::Read,
                _ if is_part => Use::Read,
                _ => Use::Other,
            }
        }
        "token_tree" => classify_in_macro(n, &p),
        _ if is_part => Use::Read,
        _ => Use::Other,
    }
}

fn classify_in_macro(n: &N<'_>, token_tree: &N<'_>) -> Use {
    let Some(mac) = enclosing(token_tree, "macro_invocation") else {
        return Use::Other;
    };
    let name = mac.field("macro").map(|m| m.text().to_string());
    let Some(name) = name else {
        return Use::Other;
    };
    if !FORMAT_MACROS.contains(&name.as_str()) {
        return Use::Other;
    }
    // Only a direct token of the macro's own argument list is understood.
    let direct = token_tree
        .parent()
        .is_some_and(|tp| tp.kind() == "macro_invocation");
    if !direct {
        return Use::Other;
    }
    let first = token_tree.children().find(|c| c.is_named());
    let is_first = first.is_some_and(|f| same(&f, n));
    if is_first && matches!(name.as_str(), "write" | "writeln") {
        return Use::Write;
    }
    // `x.method()` inside a macro is parsed as loose tokens: be conservative about it.
    if n.next().is_some_and(|next| next.text() == ".") {
        return Use::Other;
    }
    if n.prev()
        .is_some_and(|prev| prev.text() == "&" || prev.text() == "mut")
    {
        return Use::Other;
    }
    Use::Read
}

/// Whether every mention of `name` inside `scope` (except those inside `skip`) only reads
/// it, so that a shared borrow of it may stay alive across `scope`.
pub fn only_read_in(scope: &N<'_>, name: &str, skip: Option<&N<'_>>) -> bool {
    idents_named(scope, name).iter().all(|ident| {
        if let Some(skip) = skip {
            let (r, s) = (ident.range(), skip.range());
            if r.start >= s.start && r.end <= s.end {
                return true;
            }
        }
        classify(ident).is_read_only()
    })
}

/// A macro call's name and its top-level comma-separated arguments, as source text.
pub fn macro_call<'s>(src: &'s str, mac: &N<'_>) -> Option<(String, Vec<&'s str>)> {
    if mac.kind() != "macro_invocation" {
        return None;
    }
    let name = mac.field("macro")?.text().to_string();
    let tree = mac.children().find(|c| c.kind() == "token_tree")?;
    let inner: Vec<N<'_>> = tree.children().collect();
    let inner = inner.get(1..inner.len().checked_sub(1)?)?;
    let mut out = Vec::new();
    let mut group: Option<(usize, usize)> = None;
    for tok in inner {
        if tok.text() == "," && !tok.is_named() {
            let (s, e) = group.take()?;
            out.push(src.get(s..e)?);
            continue;
        }
        let r = tok.range();
        group = Some(group.map_or((r.start, r.end), |(s, _)| (s, r.end)));
    }
    // A trailing comma leaves no last group.
    if let Some((s, e)) = group {
        out.push(src.get(s..e)?);
    }
    Some((name, out))
}

/// The element type of a local `Vec<T>`/slice/array bound exactly once in the enclosing
/// function with a type annotation (`v: Vec<u32>`, `v: &mut [i64]`, `let v: [u8; 4]`).
pub fn element_type(src: &str, ident: &N<'_>) -> Option<String> {
    if ident.kind() != "identifier" {
        return None;
    }
    let name = ident.text();
    let function = enclosing(ident, "function_item")?;
    let mut types = function.dfs().filter_map(|d| {
        let declares = matches!(d.kind().as_ref(), "parameter" | "let_declaration")
            && d.field("pattern").is_some_and(|p| p.text() == name);
        if declares { d.field("type") } else { None }
    });
    let ty = types.next()?;
    if types.next().is_some() {
        return None;
    }
    let text = src.get(ty.range())?.replace(' ', "");
    let inner = text.trim_start_matches("&mut").trim_start_matches('&');
    let elem = inner
        .strip_prefix("Vec<")
        .and_then(|r| r.strip_suffix('>'))
        .or_else(|| inner.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?;
    // `[T; N]`
    let elem = elem.split_once(';').map_or(elem, |(t, _)| t);
    Some(elem.to_string())
}
