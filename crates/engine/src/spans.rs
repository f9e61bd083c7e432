//! Whole-function spans for suspects. A profile only knows the lines that had samples, which
//! misses a function's signature and its cold lines (a changed return type, a changed
//! `::new()` before the loop); widening each suspect to its enclosing `fn` item lets those
//! hunks meet the suspect too.

/// The 1-based inclusive span of the `fn` item (with its doc comments and attributes) that
/// encloses `line`, found by scanning for the `fn` header above it and matching braces
/// (outside strings, chars and comments). `None` when no enclosing function is found.
pub fn enclosing_function(source: &str, line: u32) -> Option<(u32, u32)> {
    let lines: Vec<&str> = source.lines().collect();
    let idx = usize::try_from(line).ok()?.checked_sub(1)?;
    if idx >= lines.len() {
        return None;
    }
    for header in (0..=idx).rev() {
        if !is_fn_header(lines[header]) {
            continue;
        }
        let end = body_end(&lines, header)?;
        if end < idx {
            // The nearest `fn` above ends before our line: we are not inside a function body
            // that starts above (e.g. between items).
            return None;
        }
        let mut start = header;
        while start > 0 && is_leading_decoration(lines[start - 1]) {
            start -= 1;
        }
        return Some((start as u32 + 1, end as u32 + 1));
    }
    None
}

fn is_fn_header(line: &str) -> bool {
    let mut rest = line.trim_start();
    if let Some(r) = rest.strip_prefix("pub") {
        rest = r.trim_start();
        if rest.starts_with('(') {
            rest = rest
                .split_once(')')
                .map(|(_, r)| r.trim_start())
                .unwrap_or(rest);
        }
    }
    for qualifier in [
        "default ",
        "const ",
        "async ",
        "unsafe ",
        "extern \"C\" ",
        "extern ",
    ] {
        if let Some(r) = rest.strip_prefix(qualifier) {
            rest = r.trim_start();
        }
    }
    rest.starts_with("fn ")
}

fn is_leading_decoration(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("///") || t.starts_with("#[") || t.starts_with("//!")
}

/// The line index of the brace closing the body that opens at or after `header`.
fn body_end(lines: &[&str], header: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut opened = false;
    let mut in_block_comment = false;
    for (i, line) in lines.iter().enumerate().skip(header) {
        let mut chars = line.chars().peekable();
        let mut in_string = false;
        while let Some(c) = chars.next() {
            if in_block_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    in_block_comment = false;
                }
                continue;
            }
            if in_string {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '/' if chars.peek() == Some(&'/') => break,
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    in_block_comment = true;
                }
                '"' => in_string = true,
                '\'' => {
                    // A char literal ('{', '\n'); a lifetime ('a) has no closing quote soon.
                    let ahead: String = chars.clone().take(3).collect();
                    if let Some(escaped) = ahead.strip_prefix('\\') {
                        if let Some(close) = escaped.find('\'') {
                            for _ in 0..close + 2 {
                                chars.next();
                            }
                        }
                    } else if ahead.chars().nth(1) == Some('\'') {
                        chars.next();
                        chars.next();
                    }
                }
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => {
                    depth -= 1;
                    if opened && depth == 0 {
                        return Some(i);
                    }
                }
                ';' if !opened && depth == 0 => return None, // a declaration without a body
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"use std::collections::BTreeMap;

/// How often each word occurs.
#[inline]
pub fn word_counts(text: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for word in text.split_whitespace() {
        let braces = "{ not a brace }"; // nor } this
        let c = '{';
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts
}

fn other<'a>(x: &'a str) -> &'a str {
    x
}
"#;

    #[test]
    fn widens_a_sampled_line_to_the_whole_function() {
        assert_eq!(enclosing_function(SOURCE, 10), Some((3, 13)));
        assert_eq!(enclosing_function(SOURCE, 5), Some((3, 13)));
        assert_eq!(enclosing_function(SOURCE, 16), Some((15, 17)));
    }

    #[test]
    fn lines_outside_functions_have_no_span() {
        assert_eq!(enclosing_function(SOURCE, 1), None);
        assert_eq!(enclosing_function(SOURCE, 14), None);
        assert_eq!(enclosing_function(SOURCE, 99), None);
    }
}
