//! hatui's test kit: the real parts the tests start and stop (a TLS etcd cluster, sshds,
//! tmux, the tests' Kubernetes API server) and the screen helpers (a buffer as text or SVG).
//! It knows the layers up to the sources, never the app, so every crate's tests can use it.
#![allow(clippy::unwrap_used)] // test machinery: a setup that cannot go on panics, and says where

pub mod apiserver;
pub mod cluster;
pub mod etcd_cluster;
pub mod etcd_exec;
pub mod etcd_join;
pub mod host_doubles;
mod query;
pub mod reaper;
pub mod screen;
pub mod sshd;
pub mod svg;
pub mod tls;
pub mod tmux;

pub use apiserver::{ApiServer, Exec, ExecOutput};
pub use cluster::{ADMIN, Cluster, TOKEN, VIEWER};

use jiff::Timestamp;
use serde_json::Value;

/// The moment the fixtures were taken: clocks that stand still there make every countdown
/// and age exact.
pub fn fixture_now() -> Timestamp {
    "2026-03-14T09:00:00Z".parse().unwrap()
}

/// One of the realistic kubeadm objects in tests/fixtures/kubeadm, as JSON values.
pub fn fixture(file: &str) -> Vec<Value> {
    let path = format!("{}/../fixtures/kubeadm/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The masters of the fixtures, by advertise address.
pub const MASTERS: [(&str, &str); 3] = [
    ("cp-1", "127.0.0.11"),
    ("cp-2", "127.0.0.12"),
    ("cp-3", "127.0.0.13"),
];

/// The masters' etcd pods (`etcd-<node>`), each with the etcd member of the same index.
pub fn etcd_pods() -> Vec<(String, usize)> {
    (0..)
        .zip(MASTERS)
        .map(|(i, (node, _))| (format!("etcd-{node}"), i))
        .collect()
}
