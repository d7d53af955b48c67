//! From spans to requests: each trace's root span is a request; a successful request's
//! lineage is the set of services and calls its success needed.
//!
//! A successful span needs its own service and every child span that succeeded (all of
//! them: AND). A child span that failed under a parent that still succeeded was tolerated
//! (a fallback or a retry elsewhere took over), so neither it nor anything below it is
//! needed. A call is a parent -> child span pair across two services. Alternatives (OR)
//! come from different requests of one class taking different paths.

use super::formats::Span;
use std::collections::{BTreeMap, BTreeSet};

/// A call edge: caller service -> callee service.
pub type Call = (String, String);

/// One request (the tree under one root span).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub trace_id: String,
    /// The request class (see [`class_of`]).
    pub class: String,
    /// The root span's service (never a fault candidate for its class).
    pub root_service: String,
    pub ok: bool,
    /// Services a successful request needed (its root's included).
    pub services: BTreeSet<String>,
    /// Calls a successful request needed.
    pub calls: BTreeSet<Call>,
    /// Failed calls that the caller tolerated (`caller -> callee` or the failed span's name).
    pub tolerated: BTreeSet<String>,
    /// The span tree, one line per span, indented (for bug reports).
    pub tree: Vec<String>,
}

/// Render a call as `a->b`.
pub fn call_text(c: &Call) -> String {
    format!("{}->{}", c.0, c.1)
}

/// How requests are grouped into classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// The root span's service and operation name.
    RootOperation,
    /// The value of this attribute on the root span.
    Attribute(String),
}

/// The class of a request with this root span.
pub fn class_of(root: &Span, grouping: &Grouping) -> String {
    match grouping {
        Grouping::RootOperation => format!("{} {}", root.service, root.name),
        Grouping::Attribute(a) => {
            format!("{a}={}", root.attrs.get(a).map_or("(none)", String::as_str))
        }
    }
}

/// Group spans into requests, ordered by trace id then start. Duplicate spans (the same
/// trace and span id, e.g. from overlapping files) count once: the least of them, so that
/// the result does not depend on the order of the files.
pub fn requests(spans: &[Span], grouping: &Grouping) -> Vec<Request> {
    let mut by_trace: BTreeMap<&str, BTreeMap<&str, &Span>> = BTreeMap::new();
    for s in spans {
        let e = by_trace.entry(&s.trace_id).or_default().entry(&s.span_id).or_insert(s);
        if s < *e {
            *e = s;
        }
    }
    let mut out = Vec::new();
    for (trace_id, spans) in by_trace {
        let mut children: BTreeMap<&str, Vec<&Span>> = BTreeMap::new();
        let mut roots = Vec::new();
        for s in spans.values() {
            match s.parent_id.as_deref().filter(|p| spans.contains_key(p)) {
                Some(p) => children.entry(p).or_default().push(s),
                None => roots.push(*s),
            }
        }
        for v in children.values_mut() {
            v.sort_by(|a, b| (a.start, &a.span_id).cmp(&(b.start, &b.span_id)));
        }
        roots.sort_by(|a, b| (a.start, &a.span_id).cmp(&(b.start, &b.span_id)));
        for root in roots {
            out.push(request(trace_id, root, &children, grouping));
        }
    }
    out
}

fn request(
    trace_id: &str,
    root: &Span,
    children: &BTreeMap<&str, Vec<&Span>>,
    grouping: &Grouping,
) -> Request {
    let mut r = Request {
        trace_id: trace_id.to_owned(),
        class: class_of(root, grouping),
        root_service: root.service.clone(),
        ok: !root.error,
        services: BTreeSet::new(),
        calls: BTreeSet::new(),
        tolerated: BTreeSet::new(),
        tree: Vec::new(),
    };
    tree(root, children, 0, &mut r.tree);
    if r.ok {
        needs(root, children, &mut r);
    }
    r
}

/// Record what a successful span needs: its service, its succeeded children and theirs.
fn needs(s: &Span, children: &BTreeMap<&str, Vec<&Span>>, r: &mut Request) {
    r.services.insert(s.service.clone());
    for c in children.get(s.span_id.as_str()).into_iter().flatten() {
        if c.error {
            let callee = callee_of(c, children);
            r.tolerated.insert(if callee != s.service {
                format!("{}->{callee}", s.service)
            } else {
                format!("{}: {}", s.service, c.name)
            });
            continue;
        }
        if c.service != s.service {
            r.calls.insert((s.service.clone(), c.service.clone()));
        }
        needs(c, children, r);
    }
}

/// The service a failed span was calling: the first descendant in another service, or,
/// for a client span whose callee recorded nothing, its `peer.service` /
/// `server.address` attribute.
fn callee_of(s: &Span, children: &BTreeMap<&str, Vec<&Span>>) -> String {
    for c in children.get(s.span_id.as_str()).into_iter().flatten() {
        if c.service != s.service {
            return c.service.clone();
        }
    }
    ["peer.service", "server.address", "net.peer.name"]
        .iter()
        .find_map(|k| s.attrs.get(*k).cloned())
        .unwrap_or_else(|| s.service.clone())
}

fn tree(s: &Span, children: &BTreeMap<&str, Vec<&Span>>, depth: usize, out: &mut Vec<String>) {
    out.push(format!(
        "{}{} {}{}",
        "  ".repeat(depth),
        s.service,
        s.name,
        if s.error { " [ERROR]" } else { "" }
    ));
    for c in children.get(s.span_id.as_str()).into_iter().flatten() {
        tree(c, children, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, service: &str, start: u64, error: bool) -> Span {
        Span {
            trace_id: "t1".into(),
            span_id: id.into(),
            parent_id: parent.map(Into::into),
            service: service.into(),
            name: "GET /".into(),
            start,
            error,
            attrs: BTreeMap::new(),
        }
    }

    #[test]
    fn a_tolerated_failed_child_is_not_needed() {
        // web-1 tried api-1 (failed), then api-2 (succeeded): only api-2 is needed.
        let spans = vec![
            span("a", None, "client", 0, false),
            span("b", Some("a"), "web-1", 1, false),
            span("c", Some("b"), "web-1", 2, true),
            span("d", Some("c"), "api-1", 3, true),
            span("e", Some("b"), "web-1", 4, false),
            span("f", Some("e"), "api-2", 5, false),
        ];
        let rs = requests(&spans, &Grouping::RootOperation);
        assert_eq!(rs.len(), 1);
        let r = &rs[0];
        assert!(r.ok);
        assert_eq!(r.class, "client GET /");
        let services: Vec<&str> = r.services.iter().map(String::as_str).collect();
        assert_eq!(services, ["api-2", "client", "web-1"]);
        let calls: Vec<String> = r.calls.iter().map(call_text).collect();
        assert_eq!(calls, ["client->web-1", "web-1->api-2"]);
        assert_eq!(r.tolerated.iter().collect::<Vec<_>>(), ["web-1->api-1"]);
    }

    #[test]
    fn a_failed_root_is_a_failed_request_with_its_tree() {
        let spans =
            vec![span("a", None, "client", 0, true), span("b", Some("a"), "web-1", 1, true)];
        let r = &requests(&spans, &Grouping::Attribute("http.route".into()))[0];
        assert!(!r.ok);
        assert_eq!(r.class, "http.route=(none)");
        assert!(r.services.is_empty());
        assert_eq!(r.tree, ["client GET / [ERROR]", "  web-1 GET / [ERROR]"]);
    }
}
