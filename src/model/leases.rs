//! Leader-election Leases (`kube-scheduler`, `kube-controller-manager`, kube-vip's ...).

use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub name: String,
    pub namespace: String,
    /// `<hostname>_<uuid>`; `None` or empty once released.
    pub holder_identity: Option<String>,
    pub acquire_time: Option<Timestamp>,
    pub renew_time: Option<Timestamp>,
    pub duration_s: u32,
    pub transitions: u32,
}

impl Lease {
    /// The host part of the holder identity (the host name, not always the Node name:
    /// [`crate::ClusterState::holder_node`] maps it to a Node).
    pub fn holder_node(&self) -> Option<&str> {
        let id = self.holder_identity.as_deref().filter(|s| !s.is_empty())?;
        Some(id.split_once('_').map_or(id, |(host, _)| host))
    }

    pub fn renewed_ago_s(&self, now: Timestamp) -> Option<i64> {
        self.renew_time.map(|t| now.as_second() - t.as_second())
    }

    /// Its holder emptied it on a clean stop (client-go's `ReleaseOnCancel`: holder cleared,
    /// duration 1 s): free for the next candidate, nobody "stopped renewing".
    pub fn released(&self) -> bool {
        self.holder_node().is_none() && self.renew_time.is_some()
    }

    /// A held lease is expired when `renewTime + leaseDurationSeconds < now`: its holder
    /// stopped renewing. A released lease is not called expired.
    pub fn expired(&self, now: Timestamp) -> bool {
        if self.released() {
            return false;
        }
        match self.renew_time {
            Some(t) => {
                t.as_millisecond() + i64::from(self.duration_s) * 1000 < now.as_millisecond()
            }
            None => true,
        }
    }
}
