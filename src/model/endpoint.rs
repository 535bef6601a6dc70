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
    /// What the load balancer is and how it checks its backends, when known
    /// (`nlb: TCP :6443 every 30s, fall 2, rise 5, passive`).
    pub balancer: Option<String>,
    /// The load balancer's own view of each master, when known (empty otherwise): it can
    /// differ from what `/readyz` says, and requests follow it, not `/readyz`.
    pub backends: Vec<LbBackend>,
}

impl EndpointHealth {
    pub fn unknown(address: String) -> Self {
        Self {
            address,
            ready: None,
            detail: None,
            latency_ms: None,
            balancer: None,
            backends: Vec::new(),
        }
    }

    /// The load balancer's view of master `node`, if it said.
    pub fn backend(&self, node: &str) -> Option<&LbBackend> {
        self.backends.iter().find(|b| b.node == node)
    }
}

/// One master as the load balancer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbBackend {
    pub node: String,
    /// The load balancer sends it new connections (in service, or holds the VIP).
    pub serving: bool,
    /// Its health-check state in the balancer's words (`healthy`, `1/3 checks failed`,
    /// `out: 3 checks failed`, `holds the VIP`).
    pub detail: String,
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
