//! How fresh each kind of data is, and why it cannot refresh.
//!
//! Two kinds of feed: a watch pushes changes and is current while it is connected (its
//! source says when it is not); a polled feed (etcd, `/readyz`, certificates) promises an
//! answer every so often, and the model counts the age of its last answer in cluster time,
//! so a poller that hangs without erroring still turns its pane stale.

use std::time::Duration;

use jiff::Timestamp;

/// One stream of data behind a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeedKind {
    Nodes,
    Pods,
    Leases,
    /// Node Leases in kube-node-lease: the kubelets' heartbeats.
    NodeLeases,
    Tokens,
    Etcd,
    /// The `kubeadm-config` ConfigMap (the ClusterConfiguration).
    Config,
    /// The `/readyz` probes of the endpoint and of each master's apiserver.
    Endpoint,
    /// The cluster CA and the masters' serving certificates, read by TLS handshakes.
    Certificates,
}

impl FeedKind {
    /// Who a polled feed waits for, as in `no answer from <what>`.
    pub fn answers_from(self) -> &'static str {
        match self {
            Self::Etcd => "the etcd poller",
            Self::Endpoint => "the /readyz probes",
            Self::Certificates => "the certificate reads",
            Self::Nodes => "the nodes watch",
            Self::Pods => "the pods watch",
            Self::Leases => "the leases watch",
            Self::NodeLeases => "the node leases watch",
            Self::Tokens => "the secrets watch",
            Self::Config => "the kubeadm-config watch",
        }
    }
}

/// Past this many refresh intervals without an answer, a polled feed's data is stale.
pub const STALE_AFTER_INTERVALS: u32 = 3;
/// But never sooner: the cluster clock moves about once a second, and answers are dated
/// by it, so a shorter silence could be nothing but the clock's step.
pub const MIN_SILENCE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedStatus {
    /// When the feed last delivered current data, in cluster time. For a polled feed the
    /// model sets it when the answer arrives (a source's own clock may not be the
    /// cluster's: the lab's runs at `--speed`).
    pub last_ok: Option<Timestamp>,
    /// Set while the feed cannot refresh: the pane shows it with the age of its data.
    pub error: Option<String>,
    /// A polled feed: an answer is due at least this often, in cluster time; every `Feed`
    /// event it sends is one. `None`: a watch, current while `error` is `None`.
    pub every: Option<Duration>,
}

/// Data a pane shows that is not current, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub kind: FeedKind,
    /// Seconds since the data was last current; `None`: it never was.
    pub age_s: Option<i64>,
    pub why: String,
}

impl FeedStatus {
    /// Whether (and why) this feed's data is not current at `now`: its source says it
    /// cannot refresh, or a polled feed has not answered for [`STALE_AFTER_INTERVALS`].
    pub fn stale(&self, kind: FeedKind, now: Timestamp) -> Option<Stale> {
        let age_s = self.last_ok.map(|t| now.as_second() - t.as_second());
        if let Some(err) = &self.error {
            return Some(Stale {
                kind,
                age_s,
                why: err.clone(),
            });
        }
        let every = self.every?;
        let last = self.last_ok?;
        let silent_ms = now.as_millisecond() - last.as_millisecond();
        let limit = every.saturating_mul(STALE_AFTER_INTERVALS).max(MIN_SILENCE);
        let limit_ms = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
        (silent_ms > limit_ms).then(|| Stale {
            kind,
            age_s,
            why: format!("no answer from {}", kind.answers_from()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn polled(every_ms: u64, last_ok: i64) -> FeedStatus {
        FeedStatus {
            last_ok: Some(at(last_ok)),
            error: None,
            every: Some(Duration::from_millis(every_ms)),
        }
    }

    #[test]
    fn a_polled_feed_is_stale_only_past_three_intervals_with_its_age() {
        let f = polled(2000, 0);
        assert_eq!(
            f.stale(FeedKind::Endpoint, at(6)),
            None,
            "exactly 3 intervals"
        );
        let s = f
            .stale(FeedKind::Endpoint, at(7))
            .expect("stale past 3 intervals");
        assert_eq!(s.age_s, Some(7));
        assert_eq!(s.why, "no answer from the /readyz probes");
        let etcd = polled(1000, 0);
        assert_eq!(etcd.stale(FeedKind::Etcd, at(3)), None);
        let s = etcd.stale(FeedKind::Etcd, at(12)).unwrap();
        assert_eq!(
            (s.age_s, s.why.as_str()),
            (Some(12), "no answer from the etcd poller")
        );
    }

    #[test]
    fn a_fast_feed_is_not_stale_within_the_clocks_step() {
        let f = polled(100, 0);
        let ms = |ms| Timestamp::from_millisecond(at(0).as_millisecond() + ms).unwrap();
        assert_eq!(f.stale(FeedKind::Etcd, ms(1000)), None);
        assert_eq!(f.stale(FeedKind::Etcd, ms(2000)), None);
        assert!(f.stale(FeedKind::Etcd, ms(2001)).is_some());
    }

    #[test]
    fn a_watch_is_current_however_old_until_its_source_says_otherwise() {
        let quiet = FeedStatus {
            last_ok: Some(at(0)),
            ..FeedStatus::default()
        };
        assert_eq!(quiet.stale(FeedKind::Nodes, at(86_400)), None);
        let broken = FeedStatus {
            error: Some("401 Unauthorized".into()),
            ..quiet
        };
        let s = broken.stale(FeedKind::Nodes, at(42)).unwrap();
        assert_eq!((s.age_s, s.why.as_str()), (Some(42), "401 Unauthorized"));
    }

    #[test]
    fn an_error_wins_over_age_and_data_never_read_has_no_age() {
        let f = FeedStatus {
            last_ok: None,
            error: Some("connection refused".into()),
            every: Some(Duration::from_secs(1)),
        };
        let s = f.stale(FeedKind::Etcd, at(0)).unwrap();
        assert_eq!((s.age_s, s.why.as_str()), (None, "connection refused"));
    }
}
