//! The trace-driven LDFI demo system (see `run-demo.sh`).
//!
//! One binary, three roles:
//! - `trace-demo serve NAME PORT TRACES_DIR [DOWNSTREAM=HOST:PORT]...` runs service NAME:
//!   an HTTP/1.0 server on 127.0.0.1:PORT that answers `GET /` by calling its downstreams
//!   (the first is the primary; the others are fallbacks, tried in order only when the
//!   one before is unavailable: connection refused or 503). With no downstream it is a
//!   database and answers 200. When every downstream failed it answers 502 (a 502 is not
//!   retried elsewhere: it is an application error, not an unavailable replica). When
//!   NAME is listed in the environment variable `DEMO_FAIL` (comma separated) it answers
//!   503 at once: the injected fault.
//! - `trace-demo client REQUESTS TRACES_DIR DOWNSTREAM=HOST:PORT...` sends REQUESTS
//!   requests as service `client`, one trace each, and prints how many succeeded.
//! - `trace-demo faults STATE.json` prints the faults of experiment 1 of an
//!   `ldfi traces` state document, comma separated, and `trace-demo verdict STATE.json`
//!   its verdict (so that the script needs no JSON tool).
//!
//! Every service records its spans with the OpenTelemetry SDK (a server span per request,
//! a client span per outgoing call, W3C `traceparent` propagation) and a small exporter
//! writes each finished span as one OTLP/JSON `ExportTraceServiceRequest` line to
//! `TRACES_DIR/NAME.jsonl`, the shape the OpenTelemetry Collector's file exporter writes.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// Writes each batch of finished spans as one OTLP/JSON line.
#[derive(Debug)]
struct JsonLinesExporter {
    file: Mutex<File>,
    resource: ResourceAttributesWithSchema,
}

impl SpanExporter for JsonLinesExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let req = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let line = serde_json::to_string(&req).unwrap_or_default();
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(f, "{line}")
            .and_then(|()| f.flush())
            .map_err(|e| opentelemetry_sdk::error::OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

fn provider(name: &str, dir: &Path) -> SdkTracerProvider {
    let path = dir.join(format!("{name}.jsonl"));
    let file = File::options().create(true).append(true).open(&path).unwrap_or_else(|e| {
        eprintln!("trace-demo: cannot open {}: {e}", path.display());
        std::process::exit(2)
    });
    let resource = Resource::builder_empty().with_service_name(name.to_owned()).build();
    let exporter = JsonLinesExporter { file: Mutex::new(file), resource: (&resource).into() };
    SdkTracerProvider::builder().with_resource(resource).with_simple_exporter(exporter).build()
}

/// `NAME=HOST:PORT` arguments.
fn downstreams(args: &[String]) -> Vec<(String, String)> {
    args.iter()
        .filter_map(|a| a.split_once('=').map(|(n, addr)| (n.to_owned(), addr.to_owned())))
        .collect()
}

/// `GET /` on `addr` carrying `headers`; the status code, or None when unreachable.
fn http_get(addr: &str, headers: &HashMap<String, String>) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = String::from("GET / HTTP/1.0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Call the downstreams in order (fallback on unavailable); the status to answer with.
fn call_downstreams<T: Tracer>(
    tracer: &T,
    cx: &Context,
    service: &str,
    downs: &[(String, String)],
) -> u16 {
    let prop = TraceContextPropagator::new();
    for (name, addr) in downs {
        let mut span = tracer
            .span_builder(format!("GET {name}"))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("peer.service", name.clone()),
                KeyValue::new("http.request.method", "GET"),
            ])
            .start_with_context(tracer, cx);
        let call_cx = cx.with_remote_span_context(span.span_context().clone());
        let mut headers = HashMap::new();
        prop.inject_context(&call_cx, &mut headers);
        let status = http_get(addr, &headers);
        match status {
            Some(code) => {
                span.set_attribute(KeyValue::new("http.response.status_code", code as i64))
            }
            None => span.set_attribute(KeyValue::new("error.type", "connection_refused")),
        }
        let ok = status == Some(200);
        if !ok {
            span.set_status(Status::error(format!("{service} -> {name}: {status:?}")));
        }
        span.end();
        match status {
            Some(200) => return 200,
            // Unavailable: try the next replica.
            None | Some(503) => continue,
            // Any other error is passed on, not retried.
            Some(_) => return 502,
        }
    }
    if downs.is_empty() {
        200
    } else {
        502
    }
}

fn serve(name: &str, port: &str, dir: &Path, downs: Vec<(String, String)>) {
    let provider = provider(name, dir);
    let tracer = provider.tracer("trace-demo");
    let failed =
        std::env::var("DEMO_FAIL").unwrap_or_default().split(',').any(|f| f.trim() == name);
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).unwrap_or_else(|e| {
        eprintln!("trace-demo: {name}: cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(2)
    });
    let prop = TraceContextPropagator::new();
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let mut reader = BufReader::new(match conn.try_clone() {
            Ok(c) => c,
            Err(_) => continue,
        });
        let mut headers = HashMap::new();
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        if !line.starts_with("GET / ") {
            // A readiness probe (connect and close) or anything else: no span.
            continue;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let parent = prop.extract(&headers);
        let mut span = tracer
            .span_builder("GET /")
            .with_kind(SpanKind::Server)
            .with_attributes([KeyValue::new("http.request.method", "GET")])
            .start_with_context(&tracer, &parent);
        let cx = parent.with_remote_span_context(span.span_context().clone());
        let code = if failed { 503 } else { call_downstreams(&tracer, &cx, name, &downs) };
        span.set_attribute(KeyValue::new("http.response.status_code", code as i64));
        if code != 200 {
            span.set_status(Status::error(format!("{name} answered {code}")));
        }
        span.end();
        let reason = match code {
            200 => "OK",
            502 => "Bad Gateway",
            _ => "Service Unavailable",
        };
        let _ = conn.write_all(format!("HTTP/1.0 {code} {reason}\r\n\r\n").as_bytes());
    }
    let _ = provider.shutdown();
}

fn client(requests: u32, dir: &Path, downs: Vec<(String, String)>) {
    let provider = provider("client", dir);
    let tracer = provider.tracer("trace-demo");
    let mut ok = 0;
    for _ in 0..requests {
        let mut root =
            tracer.span_builder("GET /checkout").with_kind(SpanKind::Internal).start(&tracer);
        let cx = Context::new().with_remote_span_context(root.span_context().clone());
        let code = call_downstreams(&tracer, &cx, "client", &downs);
        if code == 200 {
            ok += 1;
        } else {
            root.set_status(Status::error(format!("checkout failed: {code}")));
        }
        root.end();
    }
    let _ = provider.shutdown();
    println!("client: {ok}/{requests} requests succeeded");
}

/// Experiment 1's faults, or the verdict, of an `ldfi traces` state document.
fn state_field(path: &str, what: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let out = match what {
        "faults" => v["experiments"][0]["faults"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f.as_str()).collect::<Vec<_>>().join(","))
            .unwrap_or_default(),
        _ => v["verdict"].as_str().unwrap_or("").to_owned(),
    };
    println!("{out}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") if args.len() >= 4 => {
            serve(&args[1], &args[2], Path::new(&args[3]), downstreams(&args[4..]))
        }
        Some("client") if args.len() >= 3 => {
            let n = args[1].parse().unwrap_or(1);
            client(n, Path::new(&args[2]), downstreams(&args[3..]))
        }
        Some(what @ ("faults" | "verdict")) if args.len() == 2 => state_field(&args[1], what),
        _ => {
            eprintln!("usage: trace-demo serve NAME PORT DIR [NAME=HOST:PORT]... | client N DIR NAME=HOST:PORT... | faults STATE.json | verdict STATE.json");
            std::process::exit(2)
        }
    }
}
