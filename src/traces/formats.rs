//! Reading trace files: OpenTelemetry OTLP/JSON, Jaeger's JSON export and Zipkin v2 JSON,
//! told apart by their content (never by the file name), into one flat [`Span`] list.
//!
//! A file may hold one JSON document or several (JSON Lines, as the OpenTelemetry
//! Collector's file exporter writes: one `ExportTraceServiceRequest` per line). Each
//! document is recognised by its shape: an object with `resourceSpans` is OTLP, an object
//! with `data` is Jaeger, an array of spans is Zipkin v2. OTLP uses the
//! `opentelemetry-proto` serde types (hex ids, integer enums, 64-bit integers as strings,
//! per the OTLP JSON mapping); Zipkin uses `zipkin-types`; Jaeger has small types here.
//!
//! A span is an error when its status says so (OTLP `STATUS_CODE_ERROR`, the
//! `otel.status_code=ERROR` tag), when it carries an `error` tag, or when its HTTP status
//! code is 5xx.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// One span of any format, reduced to what LDFI needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    /// The parent span's id (`None` for a root).
    pub parent_id: Option<String>,
    /// The service that recorded the span (`service.name`).
    pub service: String,
    /// The operation name.
    pub name: String,
    /// Start time in nanoseconds since the epoch (orders siblings; 0 when unknown).
    pub start: u64,
    /// The span records a failure.
    pub error: bool,
    /// Attributes / tags as text (for `--group-by`).
    pub attrs: BTreeMap<String, String>,
}

/// Which format a document was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Otlp,
    Jaeger,
    Zipkin,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Otlp => "OTLP/JSON",
            Format::Jaeger => "Jaeger JSON",
            Format::Zipkin => "Zipkin v2 JSON",
        }
    }
}

/// A trace file that cannot be read, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    pub file: String,
    /// 1-based line and column (0 when the problem is the whole file).
    pub line: usize,
    pub column: usize,
    /// The offending text (a short excerpt of the line), if any.
    pub excerpt: String,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            writeln!(f, "error: {}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        } else {
            writeln!(f, "error: {}: {}", self.file, self.message)?;
        }
        if !self.excerpt.is_empty() {
            writeln!(f, "  | {}", self.excerpt)?;
        }
        write!(f, "  = hint: {}", self.hint)
    }
}

const HINT_FORMATS: &str = "expected OTLP/JSON (`{\"resourceSpans\": [...]}`, one per line is fine), \
Jaeger's JSON export (`{\"data\": [{\"spans\": [...], \"processes\": {...}}]}`) or Zipkin v2 JSON (`[{\"traceId\": ..., \"id\": ...}]`)";

/// Read one trace file; `Err` says where it is malformed.
pub fn read_file(path: &Path) -> Result<Vec<Span>, TraceError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TraceError {
        file: file.clone(),
        line: 0,
        column: 0,
        excerpt: String::new(),
        message: format!("cannot read: {e}"),
        hint: "pass trace files exported as JSON".into(),
    })?;
    parse(&file, &text)
}

/// Parse the text of one trace file (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<Vec<Span>, TraceError> {
    let mut spans = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    let mut start = skip_ws(text, 0);
    loop {
        let next = stream.next();
        let end = stream.byte_offset();
        let Some(doc) = next else { break };
        let doc = doc.map_err(|e| json_error(file, text, 0, &e, HINT_FORMATS))?;
        let slice = &text[start..end];
        let format = detect(&doc).ok_or_else(|| {
            let (line, column) = line_col(text, start);
            TraceError {
                file: file.into(),
                line,
                column,
                excerpt: excerpt(text, start),
                message: "not a trace document in a known format".into(),
                hint: HINT_FORMATS.into(),
            }
        })?;
        let parsed = match format {
            Format::Otlp => otlp(slice),
            Format::Jaeger => jaeger(slice),
            Format::Zipkin => zipkin(slice),
        };
        spans.extend(parsed.map_err(|e| {
            json_error(
                file,
                text,
                start,
                &e,
                &format!("this document looks like {}; {HINT_FORMATS}", format.name()),
            )
        })?);
        start = skip_ws(text, end);
    }
    // An empty file is an export with no spans (a service that served no request).
    Ok(spans)
}

fn skip_ws(text: &str, from: usize) -> usize {
    from + text[from..].len() - text[from..].trim_start().len()
}

/// Which format a parsed document is, by its shape.
pub fn detect(doc: &serde_json::Value) -> Option<Format> {
    match doc {
        serde_json::Value::Object(m) if m.contains_key("resourceSpans") => Some(Format::Otlp),
        serde_json::Value::Object(m) if m.get("data").is_some_and(|d| d.is_array()) => {
            Some(Format::Jaeger)
        }
        serde_json::Value::Array(a)
            if a.iter().all(|s| s.get("traceId").is_some() && s.get("id").is_some()) =>
        {
            Some(Format::Zipkin)
        }
        _ => None,
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}

fn excerpt(text: &str, offset: usize) -> String {
    let line_start = text[..offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line: &str = text[line_start..].lines().next().unwrap_or("");
    let col = offset.saturating_sub(line_start);
    let from = col.saturating_sub(30);
    let to = (col + 50).min(line.len());
    let (from, to) = (floor_char(line, from), floor_char(line, to));
    line[from..to].to_owned()
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A serde error inside the document starting at `doc_start`, placed in the whole file.
fn json_error(
    file: &str,
    text: &str,
    doc_start: usize,
    e: &serde_json::Error,
    hint: &str,
) -> TraceError {
    let (l0, c0) = line_col(text, doc_start);
    let (line, column) = if e.line() == 0 {
        (l0, c0)
    } else if e.line() == 1 {
        (l0, c0 + e.column().saturating_sub(1))
    } else {
        (l0 + e.line() - 1, e.column())
    };
    let offset = offset_of(text, line, column);
    let mut message = e.to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    TraceError {
        file: file.into(),
        line,
        column,
        excerpt: excerpt(text, offset),
        message,
        hint: hint.into(),
    }
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut off = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return floor_char(text, (off + column.saturating_sub(1)).min(off + l.len()));
        }
        off += l.len();
    }
    text.len()
}

/// Is this HTTP status code (as text) a server error?
fn is_5xx(v: &str) -> bool {
    v.trim().parse::<u32>().is_ok_and(|c| (500..600).contains(&c))
}

/// The error rules shared by the tag-based formats.
fn tags_say_error(attrs: &BTreeMap<String, String>) -> bool {
    attrs.get("error").is_some_and(|v| v != "false")
        || attrs.get("otel.status_code").is_some_and(|v| v.eq_ignore_ascii_case("error"))
        || ["http.status_code", "http.response.status_code"]
            .iter()
            .any(|k| attrs.get(*k).is_some_and(|v| is_5xx(v)))
}

// ---------------------------------------------------------------- OTLP/JSON

fn any_text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn kv_map(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter().map(|kv| (kv.key.clone(), any_text(&kv.value))).collect()
}

/// OTLP's `STATUS_CODE_ERROR`.
const OTLP_STATUS_ERROR: i32 = 2;

fn otlp(slice: &str) -> Result<Vec<Span>, serde_json::Error> {
    let req: ExportTraceServiceRequest = serde_json::from_str(slice)?;
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        let res = rs.resource.as_ref().map(|r| kv_map(&r.attributes)).unwrap_or_default();
        let service =
            res.get("service.name").cloned().unwrap_or_else(|| "unknown_service".to_owned());
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                let attrs = kv_map(&s.attributes);
                let status_error = s.status.as_ref().is_some_and(|st| st.code == OTLP_STATUS_ERROR);
                out.push(Span {
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent_id: (!s.parent_span_id.is_empty()).then(|| hex(&s.parent_span_id)),
                    service: service.clone(),
                    name: s.name.clone(),
                    start: s.start_time_unix_nano,
                    error: status_error || tags_say_error(&attrs),
                    attrs,
                });
            }
        }
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- Jaeger

#[derive(Deserialize)]
struct JaegerExport {
    data: Vec<JaegerTrace>,
}

#[derive(Deserialize)]
struct JaegerTrace {
    spans: Vec<JaegerSpan>,
    #[serde(default)]
    processes: BTreeMap<String, JaegerProcess>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerSpan {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
    operation_name: String,
    #[serde(default)]
    references: Vec<JaegerRef>,
    #[serde(default)]
    start_time: u64,
    #[serde(default)]
    tags: Vec<JaegerTag>,
    #[serde(rename = "processID", default)]
    process_id: String,
    /// Some exports inline the process instead of naming it.
    #[serde(default)]
    process: Option<JaegerProcess>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerRef {
    ref_type: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct JaegerProcess {
    service_name: String,
}

#[derive(Deserialize)]
struct JaegerTag {
    key: String,
    value: serde_json::Value,
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn jaeger(slice: &str) -> Result<Vec<Span>, serde_json::Error> {
    let export: JaegerExport = serde_json::from_str(slice)?;
    let mut out = Vec::new();
    for t in export.data {
        for s in t.spans {
            let attrs: BTreeMap<String, String> =
                s.tags.iter().map(|t| (t.key.clone(), json_text(&t.value))).collect();
            let service = s
                .process
                .clone()
                .or_else(|| t.processes.get(&s.process_id).cloned())
                .map(|p| p.service_name)
                .unwrap_or_else(|| "unknown_service".to_owned());
            let parent = s
                .references
                .iter()
                .find(|r| r.ref_type == "CHILD_OF")
                .or_else(|| s.references.first())
                .map(|r| r.span_id.clone());
            out.push(Span {
                trace_id: s.trace_id,
                span_id: s.span_id,
                parent_id: parent,
                service,
                name: s.operation_name,
                // Jaeger times are microseconds.
                start: s.start_time.saturating_mul(1000),
                error: tags_say_error(&attrs),
                attrs,
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- Zipkin v2

fn zipkin(slice: &str) -> Result<Vec<Span>, serde_json::Error> {
    let spans: Vec<zipkin_types::Span> = serde_json::from_str(slice)?;
    let mut out = Vec::new();
    for s in spans {
        let attrs: BTreeMap<String, String> =
            s.tags().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let id = s.id().to_string();
        // A shared span (B3 single-id RPC) is the server half of the client span with the
        // same id: give it its own id, with the client half as its parent.
        let (span_id, parent_id) = if s.shared() {
            (format!("{id}:server"), Some(id))
        } else {
            (id, s.parent_id().map(|p| p.to_string()))
        };
        let start = s
            .timestamp()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        out.push(Span {
            trace_id: s.trace_id().to_string(),
            span_id,
            parent_id,
            service: s
                .local_endpoint()
                .and_then(|e| e.service_name())
                .unwrap_or("unknown_service")
                .to_owned(),
            name: s.name().unwrap_or("").to_owned(),
            start,
            error: tags_say_error(&attrs),
            attrs,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_hex_ids_string_ints_and_error_status() {
        let doc = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api-1"}}]},
          "scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
          "parentSpanId":"eee19b7ec3c1b173","name":"GET /q","kind":2,"startTimeUnixNano":"1544712660000000000",
          "endTimeUnixNano":"1544712661000000000","attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}],
          "status":{"code":2}}]}]}]}"#;
        let spans = parse("t.json", doc).expect("parses");
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(s.parent_id.as_deref(), Some("eee19b7ec3c1b173"));
        assert_eq!(s.service, "api-1");
        assert_eq!(s.start, 1_544_712_660_000_000_000);
        assert!(s.error);
        assert_eq!(s.attrs["http.response.status_code"], "200");
    }

    #[test]
    fn http_5xx_tags_are_errors_and_4xx_are_not() {
        let mut a = BTreeMap::new();
        a.insert("http.status_code".to_owned(), "503".to_owned());
        assert!(tags_say_error(&a));
        a.insert("http.status_code".to_owned(), "404".to_owned());
        assert!(!tags_say_error(&a));
        a.insert("error".to_owned(), "false".to_owned());
        assert!(!tags_say_error(&a));
    }

    #[test]
    fn errors_point_at_the_offending_text() {
        let text = "{\"resourceSpans\": []}\n{\"data\": [{\"spans\": [{\"traceID\": 7}]}]}\n";
        let e = parse("x.json", text).expect_err("bad jaeger");
        assert_eq!((e.line, e.file.as_str()), (2, "x.json"));
        assert!(e.message.contains("invalid type"), "{}", e.message);
        assert!(e.excerpt.contains("traceID"), "{}", e.excerpt);
        assert!(e.hint.contains("Jaeger"), "{}", e.hint);
        let e = parse("y.json", "{\"foo\": 1}").expect_err("unknown");
        assert!(e.message.contains("known format"));
        let e = parse("z.json", "{\"resourceSpans\": [}").expect_err("syntax");
        assert_eq!((e.line, e.column), (1, 20));
    }
}
