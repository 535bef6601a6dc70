//! The cluster as the operator sees it, independent of where the data came from.

mod apply;
pub mod certs;
pub mod endpoint;
pub mod etcd;
pub mod event;
pub mod fault;
pub mod feed;
mod flaps;
pub mod heartbeat;
mod holders;
pub mod kubeadm_config;
pub mod leases;
pub mod members;
pub mod nodes;
pub mod quorum;
pub mod snapshot;
pub mod timeline;
pub mod tokens;

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

pub use certs::Certificate;
pub use endpoint::{ApiServerHealth, EndpointHealth, LbBackend};
pub use etcd::{EtcdMember, EtcdStatus, LeaderHistory, Quorum};
pub use event::ClusterEvent;
pub use fault::{Fault, FaultKind};
pub use feed::{FeedKind, FeedStatus, Stale};
pub use heartbeat::{GraceFrom, Heartbeat};
pub use leases::Lease;
pub use members::Standing;
pub use nodes::{Listed, Node, Nodes, PodHealth, PodState, Readiness, StaticPods};
pub use quorum::QuorumView;
pub use snapshot::Snapshot;
pub use timeline::{Severity, Timeline, TimelineEntry};
pub use tokens::{CertKey, CertKeyState, Token};

/// Where the data comes from. The lab is always labelled as such on screen and in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Lab,
    Live,
}

/// Everything hatui knows about one cluster. Only [`ClusterState::apply`] mutates it.
#[derive(Debug, Clone)]
pub struct ClusterState {
    pub source: SourceKind,
    /// Cluster time: wall time for a live cluster, the lab clock for the lab.
    pub now: Timestamp,
    pub endpoint: EndpointHealth,
    pub apiservers: BTreeMap<String, ApiServerHealth>,
    pub nodes: Nodes,
    pub static_pods: BTreeMap<String, StaticPods>,
    pub etcd: EtcdStatus,
    pub leases: BTreeMap<String, Lease>,
    pub tokens: BTreeMap<String, Token>,
    pub cert_key: CertKey,
    /// The cluster CA and the masters' serving certificates, by [`Certificate::name`].
    pub certificates: BTreeMap<String, Certificate>,
    pub feeds: BTreeMap<FeedKind, FeedStatus>,
    pub timeline: Timeline,
    pub leader_history: LeaderHistory,
    /// Node Lease renewTimes by node: the kubelets' heartbeats.
    pub node_leases: HashMap<String, Timestamp>,
    /// etcd members as seen over time: a join in progress is not a member left behind.
    member_sightings: members::Sightings,
    /// When each master's static pods were last seen restart (restarts counted up).
    pub restarts_seen: BTreeMap<String, Timestamp>,
    /// Who released each released lease (lease name → host), as seen happen.
    released_by: BTreeMap<String, String>,
    /// A `CertKey` event arrived: later uploads are news, the first one is not.
    cert_key_known: bool,
    /// `controlPlaneEndpoint` from `kubeadm-config`: `None` until read, `Some(None)` unset.
    pub control_plane_endpoint: Option<Option<String>>,
    /// The endpoint problem last put in the timeline.
    endpoint_problem_noted: Option<String>,
    /// What the timeline said of the endpoint's readiness, so flapping does not flood it.
    endpoint_flaps: flaps::Flaps,
}

impl ClusterState {
    pub fn new(source: SourceKind, endpoint: impl Into<String>, now: Timestamp) -> Self {
        Self {
            source,
            now,
            endpoint: EndpointHealth::unknown(endpoint.into()),
            apiservers: BTreeMap::new(),
            nodes: Nodes::default(),
            static_pods: BTreeMap::new(),
            etcd: EtcdStatus::default(),
            leases: BTreeMap::new(),
            tokens: BTreeMap::new(),
            cert_key: CertKey::default(),
            certificates: BTreeMap::new(),
            feeds: BTreeMap::new(),
            timeline: Timeline::default(),
            leader_history: LeaderHistory::default(),
            released_by: BTreeMap::new(),
            restarts_seen: BTreeMap::new(),
            node_leases: HashMap::new(),
            member_sightings: members::Sightings::default(),
            cert_key_known: false,
            control_plane_endpoint: None,
            endpoint_problem_noted: None,
            endpoint_flaps: flaps::Flaps::default(),
        }
    }

    /// Remaining lifetime of the certificate key: the owner token's expiration minus now.
    /// `None` when there is no `kubeadm-certs` Secret or its owner token is unknown.
    pub fn cert_key_expires_in_s(&self) -> Option<i64> {
        if !self.cert_key.secret_present {
            return None;
        }
        let owner = self.tokens.get(self.cert_key.owner_token_id.as_deref()?)?;
        owner.expires_in_s(self.now)
    }

    /// The owner token of `kubeadm-certs` is gone while the Secret is still there: the garbage
    /// collector is about to delete it.
    pub fn cert_key_orphaned(&self) -> bool {
        self.cert_key.secret_present
            && self
                .cert_key
                .owner_token_id
                .as_deref()
                .is_some_and(|id| !self.tokens.contains_key(id))
    }

    /// Bootstrap tokens an operator can join with: not the certificate-key owner, nor the
    /// owners of earlier uploads (re-running upload-certs leaves them until they expire).
    pub fn join_tokens(&self) -> impl Iterator<Item = &Token> {
        let owner = self.cert_key.owner_token_id.as_deref();
        self.tokens
            .values()
            .filter(move |t| Some(t.id.as_str()) != owner && !t.owns_cert_key())
    }

    /// What is known of the certificate key's `kubeadm-certs` Secret.
    pub fn cert_key_state(&self) -> CertKeyState {
        let unread = self
            .feed(FeedKind::Tokens)
            .is_some_and(|f| f.last_ok.is_none());
        if self.cert_key_orphaned() {
            CertKeyState::Orphaned
        } else if self.cert_key.secret_present {
            CertKeyState::Present
        } else if unread {
            CertKeyState::Unknown
        } else {
            CertKeyState::Absent
        }
    }

    /// The host that released lease `name`, when it is released and hatui saw it happen.
    pub fn lease_released_by(&self, name: &str) -> Option<&str> {
        self.leases.get(name).filter(|l| l.released())?;
        self.released_by.get(name).map(String::as_str)
    }

    pub fn feed(&self, kind: FeedKind) -> Option<&FeedStatus> {
        self.feeds.get(&kind)
    }

    /// Whether `kind`'s data is not current now, how old it is and why.
    pub fn stale(&self, kind: FeedKind) -> Option<Stale> {
        self.feeds.get(&kind)?.stale(kind, self.now)
    }

    /// Every feed whose data is not current now.
    pub fn stale_feeds(&self) -> Vec<Stale> {
        self.feeds
            .iter()
            .filter_map(|(kind, f)| f.stale(*kind, self.now))
            .collect()
    }
}
