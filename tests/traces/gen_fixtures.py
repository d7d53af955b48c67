#!/usr/bin/env python3
"""Writes the trace fixtures of tests/traces/ (run from the repository root).

The example system: a client calls one of two web servers, which call one of two API
servers, which call one of two databases. Each request is a chain of hops; a hop may
first try a replica that fails (an error span the caller tolerates) before the one that
answers. Every fixture is written in the real export shape of its format: OTLP/JSON as
the OpenTelemetry Collector's file exporter writes it (one ExportTraceServiceRequest per
line), Jaeger's query-API JSON export, Zipkin v2 JSON.
"""
import json, os

BASE_NS = 1_700_000_000_000_000_000

def build(requests, trace_base):
    """requests: list of hop lists; a hop is a service name, or a tuple of replicas tried
    in order (all but the last fail; a trailing None: all fail).
    Returns traces: list of (trace_id, spans); a span is a dict."""
    traces = []
    for n, hops in enumerate(requests):
        tid = f"{trace_base:08x}{n + 1:024x}"
        spans, t = [], [0]
        def new(service, name, kind, parent, error, status):
            t[0] += 1
            s = dict(trace=tid, id=f"{trace_base:04x}{n + 1:04x}{len(spans) + 1:08x}",
                     parent=parent, service=service, name=name, kind=kind,
                     start=BASE_NS + n * 1_000_000_000 + t[0] * 1000, error=error, status=status)
            spans.append(s)
            return s
        root = new("client", "GET /checkout", "internal", None, False, None)
        def call(parent, hop_list):
            if not hop_list:
                return True
            hop = hop_list[0]
            tries = list(hop) if isinstance(hop, tuple) else [hop]
            # A hop ending in None has no replica that answers: the request fails.
            all_fail = tries[-1] is None
            tries = [t for t in tries if t is not None]
            caller = parent["service"]
            for i, target in enumerate(tries):
                failed = all_fail or i < len(tries) - 1
                c = new(caller, f"GET {target}", "client", parent["id"], failed, 503 if failed else 200)
                sv = new(target, "GET /", "server", c["id"], failed, 503 if failed else 200)
                if not failed:
                    return call(sv, hop_list[1:])
            return False
        if not call(root, hops):
            root["error"] = True
        traces.append((tid, spans))
    return traces

KIND_OTLP = {"internal": 1, "server": 2, "client": 3}

def otlp(traces):
    lines = []
    for tid, spans in traces:
        by_service = {}
        for s in spans:
            by_service.setdefault(s["service"], []).append(s)
        rs = []
        for service in sorted(by_service):
            out = []
            for s in by_service[service]:
                attrs = []
                if s["status"] is not None:
                    attrs = [{"key": "http.request.method", "value": {"stringValue": "GET"}},
                             {"key": "http.response.status_code", "value": {"intValue": str(s["status"])}}]
                span = {"traceId": tid, "spanId": s["id"], "flags": 257, "name": s["name"],
                        "kind": KIND_OTLP[s["kind"]],
                        "startTimeUnixNano": str(s["start"]), "endTimeUnixNano": str(s["start"] + 500),
                        "attributes": attrs,
                        "status": {"code": 2, "message": "503 Service Unavailable"} if s["error"] else {}}
                if s["parent"]:
                    span["parentSpanId"] = s["parent"]
                out.append(span)
            rs.append({"resource": {"attributes": [
                           {"key": "service.name", "value": {"stringValue": service}},
                           {"key": "telemetry.sdk.language", "value": {"stringValue": "rust"}}]},
                       "scopeSpans": [{"scope": {"name": "trace-demo", "version": "0.1.0"}, "spans": out}],
                       "schemaUrl": "https://opentelemetry.io/schemas/1.26.0"})
        lines.append(json.dumps({"resourceSpans": rs}, separators=(",", ":")))
    return "\n".join(lines) + "\n"

def jaeger(traces):
    data = []
    for tid, spans in traces:
        services = sorted({s["service"] for s in spans})
        pid = {svc: f"p{i + 1}" for i, svc in enumerate(services)}
        out = []
        for s in spans:
            tags = [{"key": "span.kind", "type": "string", "value": s["kind"]}]
            if s["status"] is not None:
                tags.append({"key": "http.status_code", "type": "int64", "value": s["status"]})
            if s["error"]:
                tags.append({"key": "error", "type": "bool", "value": True})
            refs = [{"refType": "CHILD_OF", "traceID": tid, "spanID": s["parent"]}] if s["parent"] else []
            out.append({"traceID": tid, "spanID": s["id"], "flags": 1, "operationName": s["name"],
                        "references": refs, "startTime": s["start"] // 1000, "duration": 1,
                        "tags": tags, "logs": [], "processID": pid[s["service"]], "warnings": None})
        data.append({"traceID": tid, "spans": out,
                     "processes": {pid[svc]: {"serviceName": svc, "tags": []} for svc in services},
                     "warnings": None})
    return json.dumps({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": None}, indent=1) + "\n"

def zipkin(traces):
    out = []
    for tid, spans in traces:
        for s in spans:
            z = {"traceId": tid, "id": s["id"], "name": s["name"],
                 "timestamp": s["start"] // 1000, "duration": 1,
                 "localEndpoint": {"serviceName": s["service"]}, "tags": {}}
            if s["kind"] != "internal":
                z["kind"] = s["kind"].upper()
            if s["parent"]:
                z["parentId"] = s["parent"]
            if s["status"] is not None:
                z["tags"]["http.status_code"] = str(s["status"])
            if s["error"]:
                z["tags"]["error"] = "503 Service Unavailable"
            out.append(z)
    return json.dumps(out, indent=1) + "\n"

def write(name, text):
    path = os.path.join("tests", "traces", name)
    with open(path, "w") as f:
        f.write(text)

# Every (web, api, db) combination, in the order a round-robin load balancer at each
# tier would produce them.
ALL = [["web-%d" % w, "api-%d" % a, "db-%d" % d] for w in (1, 2) for a in (1, 2) for d in (1, 2)]
all_paths = build(ALL, 0xa11)
write("all_paths.otlp.jsonl", otlp(all_paths))
write("all_paths.jaeger.json", jaeger(all_paths))
write("all_paths.zipkin.json", zipkin(all_paths))
# Only two disjoint paths seen: mixed pairs (web-1 + api-2, ...) cut both.
write("two_paths.otlp.jsonl", otlp(build([["web-1", "api-1", "db-1"], ["web-2", "api-2", "db-2"]], 0x2)))
# The primary path only, and a request where api-1 failed and web-1 fell back to api-2.
write("fallback.jaeger.json", jaeger(build([["web-1", "api-1", "db-1"], ["web-1", ("api-1", "api-2"), "db-1"]], 0xfb)))
# What the demo's experiments record, for the --learn tests: with db-1 down, api-1 fell
# back to db-2 (the request survived) ...
write("learn_db1_survived.zipkin.json", zipkin(build([["web-1", "api-1", ("db-1", "db-2")]], 0xd1)))
# ... and with web-1 down, the client had no fallback (the request failed).
write("learn_web1_failed.otlp.jsonl", otlp(build([[("web-1", None)]], 0xe1)))
