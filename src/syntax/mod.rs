//! Syntax: source files, the logos lexer, the lalrpop parser, include resolution and the
//! `// ldfi:` header lines. Produces an [`ast::Program`] with spans into a [`SourceMap`].

pub mod ast;
pub mod header;
pub mod lexer;
mod loader;
pub mod parser;

use crate::config::HeaderConfig;
use crate::diag::Diagnostic;
use ast::{FileId, Program, Span};
use std::path::{Path, PathBuf};

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user (or the include) named it, for messages.
    pub name: String,
    /// Canonical path (for the load-once rule); `None` for in-memory sources.
    pub path: Option<PathBuf>,
    pub text: String,
    /// The include that loaded this file, if any.
    pub included_from: Option<Span>,
}

/// All files of a program, indexed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    /// 1-based (line, column) of a byte offset; column counts characters.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let text = &self.file(file).text;
        let mut offset = (offset as usize).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
    /// The source text under a span.
    pub fn snippet(&self, span: Span) -> &str {
        let text = &self.file(span.file).text;
        text.get(span.start as usize..span.end as usize).unwrap_or("")
    }
}

/// The result of loading a spec: its sources, the spliced program and the header lines of
/// the files named on the command line.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub program: Program,
    pub headers: Vec<HeaderConfig>,
    /// Warnings found while loading.
    pub warnings: Vec<Diagnostic>,
}

/// Load files named on the command line (in order), resolving includes.
///
/// On success, `Loaded::warnings` holds the loader's warnings; on failure, every error and
/// warning found (in every file) comes back with the sources they point into.
pub fn load(paths: &[&Path]) -> Result<Loaded, (SourceMap, Vec<Diagnostic>)> {
    let root_dir = paths.first().and_then(|p| p.parent()).map(Path::to_owned).unwrap_or_default();
    let mut loader = loader::Loader::new(root_dir);
    for path in paths {
        loader.load_path(path);
    }
    loader.finish()
}

/// Load a program from a string (tests, benches). Includes resolve relative to the current
/// directory.
pub fn load_str(name: &str, text: &str) -> Result<Loaded, (SourceMap, Vec<Diagnostic>)> {
    let mut loader = loader::Loader::new(PathBuf::new());
    loader.load_text(name, text);
    loader.finish()
}
