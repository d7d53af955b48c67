//! Ready-to-apply fault specs for real injectors, one set per experiment.
//!
//! - Istio: a `networking.istio.io/v1` `VirtualService` per target host whose HTTP route
//!   aborts with 503 for 100% of requests (a service fault: every caller; a call fault:
//!   only requests from the caller's workload, matched by its `app` label, with a normal
//!   route for every other caller). JSON is valid YAML: `kubectl apply -f` takes it as is.
//! - Toxiproxy (service faults only): a `reset_peer` toxic to add to the proxy named
//!   after the service (`POST /proxies/{proxy}/toxics` with `toxic` as the body, or
//!   `toxiproxy-cli toxic add -t reset_peer -a timeout=0 {proxy}`).
//!
//! Kubernetes names are DNS-1123 labels: fault names are lowered and every other
//! character becomes `-`.

use super::state::FaultOn;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The fault specs of one experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inject {
    /// Istio VirtualService documents.
    pub istio: Vec<Value>,
    /// `{"proxy": NAME, "toxic": {...}}` items (empty for call faults).
    pub toxiproxy: Vec<Value>,
}

/// A DNS-1123 label made of `s` (lowercase alphanumerics and `-`, at most 63 chars).
pub fn dns_label(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    out.truncate(63);
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() {
        "x".to_owned()
    } else {
        out
    }
}

fn abort() -> Value {
    json!({"abort": {"httpStatus": 503, "percentage": {"value": 100.0}}})
}

fn route(host: &str) -> Value {
    json!([{"destination": {"host": host}}])
}

fn virtual_service(id: u32, host: &str, http: Vec<Value>) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {
            "name": dns_label(&format!("ldfi-e{id}-{host}")),
            "labels": {"app.kubernetes.io/managed-by": "ldfi"}
        },
        "spec": {"hosts": [host], "http": http}
    })
}

/// The fault specs for experiment `id` failing `faults` (service names or `a->b` calls).
pub fn specs(id: u32, on: FaultOn, faults: &[String]) -> Inject {
    match on {
        FaultOn::Service => Inject {
            istio: faults
                .iter()
                .map(|s| virtual_service(id, s, vec![json!({"fault": abort(), "route": route(s)})]))
                .collect(),
            toxiproxy: faults
                .iter()
                .map(|s| {
                    json!({
                        "proxy": s,
                        "toxic": {
                            "name": format!("ldfi-e{id}-down"),
                            "type": "reset_peer",
                            "stream": "downstream",
                            "toxicity": 1.0,
                            "attributes": {"timeout": 0}
                        }
                    })
                })
                .collect(),
        },
        FaultOn::Call => {
            let mut callers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for f in faults {
                if let Some((from, to)) = f.split_once("->") {
                    callers.entry(to).or_default().push(from);
                }
            }
            let istio = callers
                .into_iter()
                .map(|(host, froms)| {
                    let mut http: Vec<Value> = froms
                        .into_iter()
                        .map(|from| {
                            json!({
                                "match": [{"sourceLabels": {"app": from}}],
                                "fault": abort(),
                                "route": route(host)
                            })
                        })
                        .collect();
                    http.push(json!({"route": route(host)}));
                    virtual_service(id, host, http)
                })
                .collect();
            Inject { istio, toxiproxy: Vec::new() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label("ldfi-e1-API_1.svc"), "ldfi-e1-api-1-svc");
        assert_eq!(dns_label("__"), "x");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
    }
}
