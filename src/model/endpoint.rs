//! The API endpoint (normally a load balancer) and each master's own apiserver.

/// Health of the control-plane endpoint every client and kubelet talks to.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointHealth {
    /// `host:port` as in `--control-plane-endpoint`.
    pub address: String,
    /// `None` until the first probe answered.
    pub ready: Option<bool>,
    /// Why it is not ready (or which path was used), in the operator's words.
    pub detail: Option<String>,
    pub latency_ms: Option<f64>,
}

impl EndpointHealth {
    pub fn unknown(address: String) -> Self {
        Self {
            address,
            ready: None,
            detail: None,
            latency_ms: None,
        }
    }
}

/// `/readyz` of one master's apiserver, asked directly (not through the load balancer).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiServerHealth {
    pub node: String,
    /// `ip:6443`, the advertise address.
    pub address: String,
    pub ready: bool,
    pub detail: Option<String>,
    pub latency_ms: Option<f64>,
    /// The `etcd` check of its `/readyz?verbose` (`[+]etcd ok`); `None` when not listed.
    pub etcd_ok: Option<bool>,
}
