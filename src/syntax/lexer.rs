//! The logos lexer: turns a source file into the token stream the lalrpop parser reads.
//!
//! Owns the lexical structure of LANGUAGE.md §1: comments, identifiers, the `_` wildcard,
//! string literals with `\"` and `\\` escapes, 64-bit integer literals, punctuation,
//! operators and the keywords `include` and `notin` (`next` and `async` are ordinary
//! identifiers; the grammar gives them meaning after `@`). Lexical errors (a stray
//! character, an unterminated string or block comment, an integer literal that does not
//! fit in an i64, an unknown escape) become [`Diagnostic`]s with code `syntax`.

use crate::diag::Diagnostic;
use crate::syntax::ast::{FileId, Span};
use logos::{FilterResult, Logos};
use std::fmt;

/// Why a piece of input is not a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LexError {
    /// A character that starts no token.
    #[default]
    InvalidChar,
    /// A `"` with no closing `"` on the same line.
    UnterminatedString,
    /// A `/*` with no closing `*/`.
    UnterminatedComment,
    /// An integer literal that does not fit in an i64.
    IntOverflow,
    /// A backslash escape other than `\"` and `\\`, at this absolute byte offset.
    BadEscape(usize),
}

/// A token. Identifiers, strings and integers carry their (decoded) value.
#[derive(Logos, Debug, Clone, PartialEq, Eq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip r"//[^\n]*")]
pub enum Tok {
    #[token("/*", block_comment)]
    BlockComment,
    #[token("include")]
    Include,
    #[token("notin")]
    Notin,
    #[token("_", priority = 10)]
    Wildcard,
    #[regex("[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_owned())]
    Ident(String),
    #[token("\"", string)]
    Str(String),
    #[regex("[0-9]+", |lex| lex.slice().parse::<i64>().map_err(|_| LexError::IntOverflow))]
    Int(i64),
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":-")]
    Arrow,
    #[token("@")]
    At,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    #[token("<=")]
    Le,
    #[token(">=")]
    Ge,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Str(s) => write!(f, "string {s:?}"),
            Tok::Int(n) => write!(f, "`{n}`"),
            other => write!(f, "`{}`", other.text()),
        }
    }
}

impl Tok {
    /// The source text of a fixed token (empty for tokens that carry a value).
    pub fn text(&self) -> &'static str {
        match self {
            Tok::BlockComment => "/*",
            Tok::Include => "include",
            Tok::Notin => "notin",
            Tok::Wildcard => "_",
            Tok::Ident(_) | Tok::Str(_) | Tok::Int(_) => "",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Semi => ";",
            Tok::Arrow => ":-",
            Tok::At => "@",
            Tok::Lt => "<",
            Tok::Gt => ">",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
        }
    }
}

/// Skips a block comment; an unterminated one is an error.
fn block_comment(lex: &mut logos::Lexer<Tok>) -> FilterResult<(), LexError> {
    let rest = lex.remainder();
    match rest.find("*/") {
        Some(i) => {
            lex.bump(i + 2);
            FilterResult::Skip
        }
        None => {
            lex.bump(rest.len());
            FilterResult::Error(LexError::UnterminatedComment)
        }
    }
}

/// Reads a string literal after its opening quote, decoding `\"` and `\\`.
fn string(lex: &mut logos::Lexer<Tok>) -> Result<String, LexError> {
    let start = lex.span().end;
    let rest = lex.remainder();
    let mut out = String::new();
    let mut bad_escape = None;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                lex.bump(i + 1);
                return match bad_escape {
                    Some(at) => Err(LexError::BadEscape(at)),
                    None => Ok(out),
                };
            }
            '\n' => {
                lex.bump(i);
                return Err(LexError::UnterminatedString);
            }
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((_, '\n')) | None => {
                    lex.bump(i);
                    return Err(LexError::UnterminatedString);
                }
                Some(_) => {
                    bad_escape.get_or_insert(start + i);
                }
            },
            c => out.push(c),
        }
    }
    lex.bump(rest.len());
    Err(LexError::UnterminatedString)
}

/// A token with its byte range, as lalrpop's external-lexer interface wants it.
pub type Spanned = (usize, Tok, usize);

/// The tokens of a file and the lexical errors found in it (lexing continues after an
/// error, so every lexical error of the file is reported).
#[derive(Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Spanned>,
    /// Each error with the byte offset where it starts.
    pub errors: Vec<(usize, Diagnostic)>,
}

/// Lex a whole file.
pub fn lex(file: FileId, text: &str) -> Lexed {
    let mut out = Lexed::default();
    let mut lexer = Tok::lexer(text);
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        match result {
            Ok(tok) => out.tokens.push((range.start, tok, range.end)),
            Err(e) => out.errors.push((range.start, lex_diagnostic(file, text, range, &e))),
        }
    }
    out
}

/// Widen `end` to the next char boundary so that a span never splits a character.
fn char_end(text: &str, mut end: usize) -> usize {
    while end < text.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    end.min(text.len())
}

/// What a stray character was probably meant to be.
fn stray_char_hint(c: char) -> &'static str {
    match c {
        '.' => "clauses end with `;`, not `.`",
        '=' => "to compare, write `==`",
        ':' => "a rule is written `head :- body;`",
        '!' => "`!=` means not equal; a negated atom is written `notin rel(...)`",
        '\'' => "strings are written in double quotes",
        _ => "identifiers use letters, digits and `_`; strings are written in double quotes",
    }
}

fn lex_diagnostic(
    file: FileId,
    text: &str,
    range: std::ops::Range<usize>,
    err: &LexError,
) -> Diagnostic {
    let span = |s: usize, e: usize| Span::new(file, s, char_end(text, e.max(s + 1)));
    match err {
        LexError::InvalidChar => {
            let found = text.get(range.start..).and_then(|r| r.chars().next()).unwrap_or(' ');
            Diagnostic::error("syntax", format!("unexpected character {found:?}"))
                .at(span(range.start, range.end), "not part of any token")
                .hint(stray_char_hint(found))
        }
        LexError::UnterminatedString => Diagnostic::error("syntax", "unterminated string literal")
            .at(span(range.start, range.end), "this string has no closing `\"`")
            .hint(
                "close the string with `\"` on the same line (write `\\\"` for a quote inside it)",
            ),
        LexError::UnterminatedComment => Diagnostic::error("syntax", "unterminated block comment")
            .at(span(range.start, range.start + 2), "this comment is never closed")
            .hint("close the comment with `*/` (block comments do not nest)"),
        LexError::IntOverflow => Diagnostic::error("syntax", "integer literal too large")
            .at(span(range.start, range.end), "does not fit in a 64-bit signed integer")
            .hint(format!("integers range from {} to {}", i64::MIN, i64::MAX)),
        LexError::BadEscape(at) => Diagnostic::error("syntax", "unknown escape in string literal")
            .at(span(*at, at + 2), "unknown escape")
            .hint("only `\\\"` and `\\\\` are escapes; other characters are written as they are"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        let lexed = lex(FileId(0), text);
        assert!(lexed.errors.is_empty(), "{:?}", lexed.errors);
        lexed.tokens.into_iter().map(|(_, t, _)| t).collect()
    }

    fn err_code(text: &str) -> Vec<String> {
        lex(FileId(0), text).errors.into_iter().map(|(_, d)| d.message).collect()
    }

    #[test]
    fn keywords_and_identifiers() {
        assert_eq!(
            toks("notin include next _ _x async"),
            vec![
                Tok::Notin,
                Tok::Include,
                Tok::Ident("next".into()),
                Tok::Wildcard,
                Tok::Ident("_x".into()),
                Tok::Ident("async".into()),
            ]
        );
    }

    #[test]
    fn operators_and_comments() {
        assert_eq!(
            toks("a<=b // c\n/* d * / */ >= :- / %"),
            vec![
                Tok::Ident("a".into()),
                Tok::Le,
                Tok::Ident("b".into()),
                Tok::Ge,
                Tok::Arrow,
                Tok::Slash,
                Tok::Percent,
            ]
        );
    }

    #[test]
    fn strings_decode_escapes() {
        assert_eq!(toks(r#""a\"b\\c""#), vec![Tok::Str("a\"b\\c".into())]);
    }

    #[test]
    fn lexical_errors() {
        assert_eq!(err_code("\"abc"), vec!["unterminated string literal"]);
        assert_eq!(err_code("x /* abc"), vec!["unterminated block comment"]);
        assert_eq!(err_code("99999999999999999999"), vec!["integer literal too large"]);
        assert_eq!(err_code("\"a\\nb\""), vec!["unknown escape in string literal"]);
        let stray = vec!["unexpected character '#'", "unexpected character 'é'"];
        assert_eq!(err_code("a # é"), stray);
    }

    #[test]
    fn max_int() {
        assert_eq!(toks("9223372036854775807"), vec![Tok::Int(i64::MAX)]);
    }
}
