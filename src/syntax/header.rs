//! `// ldfi:` header lines: run parameters and expected verdicts carried by a spec file.
//!
//! A header is a line comment of its own (leading blanks allowed) of the form
//!
//! ```text
//! // ldfi: eot=4 eff=2 crashes=0 nodes=a,b,c expect=counterexample strategy=ldfi -- why
//! ```
//!
//! Every key is optional; ` -- ` starts free prose that is ignored. A file may carry several
//! header lines (one search configuration each). Only files named on the command line are
//! scanned, never included ones. Problems are [`Diagnostic`]s with code `header`.

use crate::config::{Expect, HeaderConfig};
use crate::diag::Diagnostic;
use crate::syntax::ast::{FileId, Span};

/// The keys a header line may set.
pub const KEYS: &[&str] = &["eot", "eff", "crashes", "nodes", "expect", "strategy"];
/// The values of `strategy=`.
pub const STRATEGIES: &[&str] = &["auto", "ldfi", "random", "exhaustive"];
/// The values of `expect=`.
pub const EXPECTS: &[&str] = &["certified", "counterexample", "fault-free-violation"];

/// Scan a file for header lines.
pub fn parse_headers(file: FileId, text: &str) -> (Vec<HeaderConfig>, Vec<Diagnostic>) {
    let mut headers = Vec::new();
    let mut diags = Vec::new();
    let mut offset = 0;
    for (index, line) in text.split('\n').enumerate() {
        if let Some(body) = header_body(line) {
            let body_start = offset + (line.len() - body.len());
            let end = offset + line.trim_end().len();
            let mut header = HeaderConfig {
                span: Some(Span::new(file, offset + (line.len() - line.trim_start().len()), end)),
                line: index + 1,
                ..HeaderConfig::default()
            };
            let mut seen: Vec<(&str, Span)> = Vec::new();
            for (at, word) in words(body) {
                let pos = body_start + at;
                diags.extend(apply(&mut header, &mut seen, file, pos, word));
            }
            headers.push(header);
        }
        offset += line.len() + 1;
    }
    (headers, diags)
}

/// The text after `ldfi:` if the line is a header line.
fn header_body(line: &str) -> Option<&str> {
    let comment = line.trim_start().strip_prefix("//")?;
    comment.trim_start().strip_prefix("ldfi:")
}

/// Whitespace-separated words with their byte offsets, up to a `--` word.
fn words(body: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in body.char_indices().chain(std::iter::once((body.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                let word = &body[s..i];
                if word == "--" {
                    return out;
                }
                out.push((s, word));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// Apply one `key=value` word to the header; returns the problem with it, if any.
fn apply<'w>(
    header: &mut HeaderConfig,
    seen: &mut Vec<(&'w str, Span)>,
    file: FileId,
    pos: usize,
    word: &'w str,
) -> Option<Diagnostic> {
    let Some((key, value)) = word.split_once('=') else {
        return Some(not_a_setting(word, Span::new(file, pos, pos + word.len())));
    };
    let key_span = Span::new(file, pos, pos + key.len());
    let value_span = Span::new(file, pos + key.len() + 1, pos + word.len());
    if !KEYS.contains(&key) {
        return Some(unknown_key(key, key_span));
    }
    if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
        return Some(duplicate_key(key, key_span, *first));
    }
    seen.push((key, key_span));
    let (message, hint) = set(header, key, value).err()?;
    Some(Diagnostic::error("header", message).at(value_span, "bad value").hint(hint))
}

fn not_a_setting(word: &str, span: Span) -> Diagnostic {
    let message = format!("expected `key=value` in the header, found `{word}`");
    let hint = format!(
        "settings are written `key=value` without spaces (keys: {}); free text goes after ` -- `",
        KEYS.join(", ")
    );
    Diagnostic::error("header", message).at(span, "not a `key=value` setting").hint(hint)
}

fn duplicate_key(key: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("header", format!("`{key}` is set twice in one header line"))
        .at(span, "set again here")
        .also(first, "first set here")
        .hint("each header line is one configuration; write another `// ldfi:` line for another")
}

fn unknown_key(key: &str, span: Span) -> Diagnostic {
    let lower = key.to_ascii_lowercase();
    let hint = if KEYS.contains(&lower.as_str()) {
        format!("keys are lowercase: write `{lower}`")
    } else {
        format!("valid keys: {}", KEYS.join(", "))
    };
    Diagnostic::error("header", format!("unknown header key `{key}`"))
        .at(span, "unknown key")
        .hint(hint)
}

type BadValue = (String, String);

/// Store one value, or say why it is bad (message, hint).
fn set(header: &mut HeaderConfig, key: &str, value: &str) -> Result<(), BadValue> {
    match key {
        "eot" => header.eot = Some(number(key, value, 1)?),
        "eff" => header.eff = Some(number(key, value, 0)?),
        "crashes" => header.crashes = Some(number(key, value, 0)?),
        "nodes" => header.nodes = Some(nodes(value)?),
        "expect" => {
            header.expect = Some(Expect::parse(value).ok_or_else(|| {
                (
                    format!("`{value}` is not an expected verdict"),
                    format!("expect is one of: {}", EXPECTS.join(", ")),
                )
            })?)
        }
        _ => {
            if !STRATEGIES.contains(&value) {
                return Err((
                    format!("`{value}` is not a search strategy"),
                    format!("strategy is one of: {}", STRATEGIES.join(", ")),
                ));
            }
            header.strategy = Some(value.to_owned());
        }
    }
    Ok(())
}

fn number(key: &str, value: &str, min: u32) -> Result<u32, BadValue> {
    match value.parse::<u32>() {
        Ok(n) if n >= min => Ok(n),
        _ => {
            let what = if min == 0 { "a non-negative integer" } else { "a positive integer" };
            Err((
                format!("`{key}` must be {what}, not `{value}`"),
                format!("for example `{key}={}`", min.max(if key == "eot" { 4 } else { 1 })),
            ))
        }
    }
}

fn nodes(value: &str) -> Result<Vec<String>, BadValue> {
    let hint = || {
        "write node names separated by commas, without quotes or spaces, e.g. `nodes=a,b,c`"
            .to_owned()
    };
    let mut out: Vec<String> = Vec::new();
    for name in value.split(',') {
        if name.is_empty() || name.contains('"') {
            return Err((format!("`{value}` is not a list of node names"), hint()));
        }
        if out.iter().any(|n| n == name) {
            return Err((format!("node `{name}` is listed twice"), hint()));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<HeaderConfig>, Vec<String>) {
        let (h, d) = parse_headers(FileId(0), text);
        (h, d.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn full_header() {
        let (h, d) = parse(
            "p(1)@1;\n  // ldfi: eot=4 eff=2 crashes=1 nodes=a,b expect=counterexample \
             strategy=random -- because x=y\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let h = &h[0];
        assert_eq!((h.eot, h.eff, h.crashes, h.line), (Some(4), Some(2), Some(1), 2));
        assert_eq!(h.nodes.as_deref(), Some(&["a".to_owned(), "b".to_owned()][..]));
        assert_eq!(h.expect, Some(Expect::Counterexample));
        assert_eq!(h.strategy.as_deref(), Some("random"));
    }

    #[test]
    fn several_headers_and_non_headers() {
        let (h, d) =
            parse("//ldfi: eot=3\n// ldfi eot=4\n// ldfi: expect=certified\nx // ldfi: eot=1\n");
        assert!(d.is_empty());
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].expect, Some(Expect::Certified));
    }

    #[test]
    fn errors() {
        let (_, d) = parse(
            "// ldfi: EOT=3 eot=0 eff=x foo=1 eff=2 eff=3 nodes=a,,b expect=maybe strategy=dfs junk",
        );
        assert_eq!(d.len(), 10, "{d:?}");
        assert_eq!(d[0], "unknown header key `EOT`");
        assert_eq!(d[4], "`eff` is set twice in one header line");
    }
}
