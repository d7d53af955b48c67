//! Diagnostics: errors and warnings with source spans, rendered with source snippets.
//!
//! Every stage reports user-facing problems as [`Diagnostic`]s; nothing a user controls may
//! panic. Rendering (file, line, column, the offending text underlined, a one-line hint)
//! lives here so that every stage prints the same way.

use crate::syntax::ast::Span;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable short code naming the class of problem, e.g. `arity`, `unsafe-variable`.
    pub code: &'static str,
    /// One line saying what is wrong.
    pub message: String,
    /// Where it is, with a label printed under the underlined text.
    pub primary: Option<(Span, String)>,
    /// Other places worth showing (e.g. the first use of a relation with another arity).
    pub secondary: Vec<(Span, String)>,
    /// A one-line suggestion for how to fix it.
    pub hint: Option<String>,
    /// Extra lines (e.g. the include chain, a negative cycle).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            hint: None,
            notes: Vec::new(),
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.primary = Some((span, label.into()));
        self
    }
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push((span, label.into()));
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
