//! Analysis: name and arity tables, safety, stratification, locations and nodes, and the
//! lowering of the checked AST to the evaluation IR.

use crate::diag::Diagnostic;
use crate::syntax::ast;

/// The outcome of analysing a program: all diagnostics (errors and warnings), and the
/// lowered program when there was no error.
#[derive(Debug, Default)]
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
}

/// Check a parsed program (LANGUAGE.md §2) and lower it.
pub fn analyze(_program: &ast::Program) -> Analysis {
    Analysis::default()
}
