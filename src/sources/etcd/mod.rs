//! Live etcd: members, leader and quorum as etcd itself reports them.
//!
//! [`spawn_poller`] asks every member for its status every 100 ms through one client per
//! endpoint and sends [`hatui_model::ClusterEvent::Etcd`] views; [`poll_once`] is the
//! same for a one-shot `hatui status`. [`TlsMaterial`] loads kubeadm's etcd client
//! certificates with errors that name the file; [`etcd_over_ssh`] reaches the members
//! through SSH tunnels when only SSH reaches the masters. [`snapshot`] streams a
//! member's snapshot to a file and checks it.

mod config;
pub mod etcdctl;
mod exec;
mod flags;
mod merge;
mod over_ssh;
mod poller;
pub mod probe;
#[cfg(test)]
pub(crate) mod scripted;
pub mod snapshot;
pub mod tls;

pub use config::{PollerConfig, Via};
pub use flags::{EtcdAccess, EtcdSettings};
pub use over_ssh::{EtcdMaster, EtcdOverSsh, PkiPaths, etcd_over_ssh, read_tls};
pub use poller::{Poller, poll_once, spawn_poller};
pub use snapshot::{Destination, Taken, Verified, choose_member, take_snapshot, verify_snapshot};
pub use tls::{TlsError, TlsMaterial};
