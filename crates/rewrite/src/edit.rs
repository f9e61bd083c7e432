//! Byte-range edits against one original source, and their application.

/// Replace `start..end` (byte offsets into the original source) with `text`.
/// An insertion has `start == end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl TextEdit {
    pub fn replace(range: std::ops::Range<usize>, text: impl Into<String>) -> Self {
        Self {
            start: range.start,
            end: range.end,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self {
            start: at,
            end: at,
            text: text.into(),
        }
    }

    /// Two edits conflict when their replaced ranges share a byte, or when one inserts
    /// strictly inside the other's replaced range. Insertions at the same point, or at a
    /// boundary, do not conflict: they are applied in the given order.
    pub fn conflicts_with(&self, other: &TextEdit) -> bool {
        let inside = |at: usize, e: &TextEdit| e.start < at && at < e.end;
        if self.start == self.end {
            return inside(self.start, other);
        }
        if other.start == other.end {
            return inside(other.start, self);
        }
        self.start < other.end && other.start < self.end
    }
}

/// Apply edits (all relative to `source`) in one pass. The caller guarantees they do not
/// conflict; ties at the same offset keep their given order.
pub fn apply(source: &str, edits: &[&TextEdit]) -> Option<String> {
    let mut ordered: Vec<(usize, &TextEdit)> = edits.iter().copied().enumerate().collect();
    ordered.sort_by_key(|(i, e)| (e.start, e.end, *i));
    let mut out = String::with_capacity(source.len() + 64);
    let mut at = 0;
    for (_, e) in ordered {
        if e.start < at || e.end > source.len() || e.start > e.end {
            return None;
        }
        out.push_str(source.get(at..e.start)?);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(source.get(at..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_offset_order_and_keeps_other_bytes() {
        let src = "abcdef";
        let a = TextEdit::replace(4..5, "E");
        let b = TextEdit::insert(0, ">");
        let c = TextEdit::replace(1..3, "");
        assert_eq!(apply(src, &[&a, &b, &c]).as_deref(), Some(">adEf"));
    }

    #[test]
    fn overlap_rules() {
        let r = TextEdit::replace(2..5, "x");
        assert!(r.conflicts_with(&TextEdit::replace(4..6, "y")));
        assert!(!r.conflicts_with(&TextEdit::replace(5..6, "y")));
        assert!(r.conflicts_with(&TextEdit::insert(3, "y")));
        assert!(!r.conflicts_with(&TextEdit::insert(2, "y")));
        assert!(!TextEdit::insert(2, "a").conflicts_with(&TextEdit::insert(2, "b")));
    }
}
