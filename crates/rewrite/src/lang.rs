//! The Rust grammar wired into ast-grep-core.
//!
//! `$` cannot start a Rust identifier, so patterns written with `$VAR` meta-variables are
//! rewritten to an expando character that the Rust grammar accepts as an identifier (the same
//! trick ast-grep-language uses).

use std::borrow::Cow;

use ast_grep_core::matcher::PatternBuilder;
use ast_grep_core::tree_sitter::{LanguageExt, StrDoc, TSLanguage};
use ast_grep_core::{Language, Pattern, PatternError};

const EXPANDO: char = 'µ';

#[derive(Clone, Copy, Debug, Default)]
pub struct RustLang;

impl Language for RustLang {
    fn pre_process_pattern<'q>(&self, query: &'q str) -> Cow<'q, str> {
        if query.contains('$') {
            Cow::Owned(query.replace('$', &EXPANDO.to_string()))
        } else {
            Cow::Borrowed(query)
        }
    }

    fn expando_char(&self) -> char {
        EXPANDO
    }

    fn kind_to_id(&self, kind: &str) -> u16 {
        self.get_ts_language().id_for_node_kind(kind, true)
    }

    fn field_to_id(&self, field: &str) -> Option<u16> {
        self.get_ts_language()
            .field_id_for_name(field)
            .map(|id| id.get())
    }

    fn build_pattern(&self, builder: &PatternBuilder<'_>) -> Result<Pattern, PatternError> {
        builder.build(|src| StrDoc::try_new(src, *self))
    }
}

impl LanguageExt for RustLang {
    fn get_ts_language(&self) -> TSLanguage {
        tree_sitter_rust::LANGUAGE.into()
    }
}
