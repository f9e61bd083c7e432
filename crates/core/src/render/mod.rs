//! Rendering of reports for people: terminal tables, markdown tables and PR bodies.

pub mod compare_table;
pub mod pr_body;
