//! Diagnostics: errors and warnings with source spans, rendered with source snippets.
//!
//! Every stage reports user-facing problems as [`Diagnostic`]s; nothing a user controls may
//! panic. Rendering (file, line, column, the offending text underlined, a one-line hint)
//! lives here so that every stage prints the same way.

use crate::syntax::ast::{FileId, Span};
use crate::syntax::SourceMap;
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

/// Render one diagnostic: `error[code]: message`, then (when it has a location) the file,
/// line and column with the source snippet underlined and labelled, secondary labels, and
/// finally its notes and `hint:`. With `color == false` the output is plain text and
/// deterministic (golden tests compare it byte for byte).
pub fn render(diag: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    render_with(diag, &mut Files::new(sources), color)
}

/// Render several diagnostics, separated by blank lines.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut files = Files::new(sources);
    let rendered: Vec<String> = diags.iter().map(|d| render_with(d, &mut files, color)).collect();
    rendered.join("\n")
}

fn render_with(diag: &Diagnostic, files: &mut Files, color: bool) -> String {
    let mut out = header_line(diag, color);
    out.push('\n');
    if let Some(snippet) = snippet(diag, files, color) {
        out.push_str(&snippet);
    }
    for note in &diag.notes {
        out.push_str(&format!("  = note: {note}\n"));
    }
    if let Some(hint) = &diag.hint {
        out.push_str(&format!("  = hint: {hint}\n"));
    }
    if color {
        out
    } else {
        out.lines().map(str::trim_end).collect::<Vec<_>>().join("\n") + "\n"
    }
}

/// `error[code]: message`.
fn header_line(diag: &Diagnostic, color: bool) -> String {
    let (word, c) = match diag.severity {
        Severity::Error => ("error", ariadne::Color::Red),
        Severity::Warning => ("warning", ariadne::Color::Yellow),
    };
    let head = format!("{word}[{}]", diag.code);
    if color {
        use ariadne::Fmt;
        format!("{}: {}", head.fg(c), diag.message)
    } else {
        format!("{head}: {}", diag.message)
    }
}

/// The source section drawn by ariadne (without its own header line), if the diagnostic
/// has a location in a known file.
fn snippet(diag: &Diagnostic, files: &mut Files, color: bool) -> Option<String> {
    use ariadne::{Config, Label, Report, ReportKind};
    let (primary, label) = diag.primary.as_ref()?;
    let primary_range = files.range(*primary)?;
    let (kind, main_color) = match diag.severity {
        Severity::Error => (ReportKind::Error, ariadne::Color::Red),
        Severity::Warning => (ReportKind::Warning, ariadne::Color::Yellow),
    };
    let config = Config::default().with_color(color);
    let mut report =
        Report::build(kind, (primary.file, primary_range.clone())).with_config(config).with_label(
            Label::new((primary.file, primary_range))
                .with_message(label)
                .with_color(main_color)
                .with_order(0),
        );
    for (i, (span, label)) in diag.secondary.iter().enumerate() {
        if let Some(range) = files.range(*span) {
            let l =
                Label::new((span.file, range)).with_message(label).with_color(ariadne::Color::Blue);
            report = report.with_label(l.with_order(i as i32 + 1));
        }
    }
    let mut buf = Vec::new();
    report.finish().write(&mut *files, &mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    // Drop ariadne's own header line: ours carries the code.
    text.split_once('\n').map(|(_, rest)| rest.to_owned())
}

/// The sources in the form ariadne reads them.
struct Files<'a> {
    map: &'a SourceMap,
    sources: Vec<ariadne::Source<String>>,
}

/// The text as ariadne should see it: lines end only at `\n` (as in [`SourceMap::line_col`]),
/// so other characters that ariadne takes for line breaks (a lone `\r`, vertical tab, form
/// feed, U+0085, U+2028, U+2029) become blanks of the same byte length. This keeps every
/// byte offset valid, and ariadne 0.5 panics on multi-byte line separators.
fn plain_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => out.push(c),
            '\r' | '\x0B' | '\x0C' | '\u{0085}' | '\u{2028}' | '\u{2029}' => {
                out.extend(std::iter::repeat_n(' ', c.len_utf8()))
            }
            c => out.push(c),
        }
    }
    out
}

impl<'a> Files<'a> {
    fn new(map: &'a SourceMap) -> Files<'a> {
        let sources =
            map.files.iter().map(|f| ariadne::Source::from(plain_lines(&f.text))).collect();
        Files { map, sources }
    }

    /// The range of a span as ariadne wants it: in characters (ariadne 0.5 mixes byte and
    /// char offsets for labels in a second file when told to use bytes), clamped to the
    /// file, and non-empty whenever the file is not (ariadne draws nothing for an empty
    /// range).
    fn range(&self, span: Span) -> Option<std::ops::Range<usize>> {
        let text = self.map.files.get(span.file.0 as usize)?.text.as_str();
        let (start, end) = byte_range(text, span);
        // Byte offsets on char boundaries of `text` are char boundaries of the plain-lines
        // copy too (it only splits characters into blanks).
        let plain = self.sources.get(span.file.0 as usize)?.text();
        let chars = |b: usize| plain.get(..b).map_or(0, |p| p.chars().count());
        Some(chars(start)..chars(end))
    }
}

/// A span's byte range clamped to `text`, on char boundaries, and widened to one character
/// when it is empty.
fn byte_range(text: &str, span: Span) -> (usize, usize) {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let mut start = floor(span.start as usize);
    let mut end = floor(span.end as usize).max(start);
    if start == end {
        match text[start..].chars().next() {
            Some(c) if c != '\n' => end = start + c.len_utf8(),
            _ => {
                if let Some(c) = text[..start].chars().next_back() {
                    start -= c.len_utf8();
                }
            }
        }
    }
    (start, end)
}

impl ariadne::Cache<FileId> for Files<'_> {
    type Storage = String;

    fn fetch(&mut self, id: &FileId) -> Result<&ariadne::Source<String>, impl std::fmt::Debug> {
        self.sources.get(id.0 as usize).ok_or("unknown file")
    }

    fn display<'b>(&self, id: &'b FileId) -> Option<impl std::fmt::Display + 'b> {
        self.map.files.get(id.0 as usize).map(|f| f.name.clone())
    }
}

/// A location in the form editors and CI problem matchers read: 1-based line and column
/// of the start and of the end of a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocationJson {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// A labelled place (the primary one, or one of the related ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelJson {
    #[serde(flatten)]
    pub location: LocationJson,
    pub label: String,
}

/// A diagnostic as JSON (`lint --format json` and the error object of `--format json`,
/// documented in docs/json-schema.md). A diagnostic without a location has
/// `location: null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosticJson {
    /// `error` or `warning`.
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub location: Option<LabelJson>,
    pub related: Vec<LabelJson>,
    pub notes: Vec<String>,
    pub hint: Option<String>,
}

/// The location of a span, when its file is known.
pub fn location(span: Span, sources: &SourceMap) -> Option<LocationJson> {
    let file = sources.files.get(span.file.0 as usize)?;
    let (line, column) = sources.line_col(span.file, span.start);
    let (end_line, end_column) = sources.line_col(span.file, span.end.max(span.start));
    Some(LocationJson { file: file.name.clone(), line, column, end_line, end_column })
}

/// A diagnostic in its JSON form.
pub fn to_json(d: &Diagnostic, sources: &SourceMap) -> DiagnosticJson {
    let label = |(span, text): &(Span, String)| {
        location(*span, sources).map(|location| LabelJson { location, label: text.clone() })
    };
    DiagnosticJson {
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        code: d.code,
        message: d.message.clone(),
        location: d.primary.as_ref().and_then(label),
        related: d.secondary.iter().filter_map(label).collect(),
        notes: d.notes.clone(),
        hint: d.hint.clone(),
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;
    use crate::syntax::SourceFile;

    #[test]
    fn a_diagnostic_in_json_has_its_line_and_column() {
        let sources = SourceMap {
            files: vec![SourceFile {
                name: "a.ded".into(),
                path: None,
                text: "p(\"a\")@1;\nq(X) :- p(Y);\n".into(),
                included_from: None,
            }],
        };
        let d = Diagnostic::error("unsafe-variable", "variable `X` is unbound")
            .at(Span::new(FileId(0), 12, 13), "unbound")
            .hint("bind it");
        let j = to_json(&d, &sources);
        let loc = j.location.expect("located");
        assert_eq!((loc.location.line, loc.location.column), (2, 3));
        assert_eq!((loc.location.end_line, loc.location.end_column), (2, 4));
        assert_eq!(loc.location.file, "a.ded");
        assert_eq!(j.severity, "error");
        assert_eq!(j.hint.as_deref(), Some("bind it"));
        let unlocated = to_json(&Diagnostic::warning("usage", "x"), &SourceMap::default());
        assert!(unlocated.location.is_none());
    }
}
