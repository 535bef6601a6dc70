//! What the live sources need: clients for the kubeconfig's server (through the failover
//! route), a clock, and how often to probe and read certificates. Each source (watchers,
//! the health probe, the certificate reader) takes it; `sources.rs` makes their streams.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;

use super::Clock;
use super::failover::Route;

/// What the sources need: clients for the kubeconfig's server and a clock.
#[derive(Clone)]
pub struct Sources {
    /// Goes wherever `route` points: the endpoint, or a master while it is down.
    pub client: Client,
    /// Always the kubeconfig's server, for its probe.
    pub endpoint_client: Client,
    pub route: Arc<Route>,
    /// `host:port` of the kubeconfig's server, as the endpoint pane names it.
    pub endpoint: String,
    pub clock: Clock,
    pub probe_every: Duration,
    pub probe_timeout: Duration,
    /// How often the certificates are read again (their expiry moves in days).
    pub cert_every: Duration,
    /// Why etcd is not asked, for its pane; `None` when another source asks it.
    pub etcd_missing: Option<String>,
    /// Finding etcd failed because the API could not be reached: worth asking again.
    pub etcd_retry: bool,
}
