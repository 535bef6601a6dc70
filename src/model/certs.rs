//! Certificates whose expiry takes the control plane down: the cluster CA and each
//! master's apiserver serving certificate (kubeadm issues them for 10 years and 1 year).

use jiff::Timestamp;

use super::Severity;

/// Below this, a certificate needs renewing: the pane turns yellow and shows how.
pub const RENEW_WITHIN_S: i64 = 30 * 86_400;

/// One certificate as read (from the kubeconfig, or a master's TLS handshake).
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// What the operator calls it: `CA`, `apiserver cp-1`. The state's key.
    pub name: String,
    /// The master that serves it; `None` for the CA.
    pub node: Option<String>,
    pub not_after: Timestamp,
    /// Subject alternative names (DNS names and IPs), as the certificate lists them.
    pub sans: Vec<String>,
}

impl Certificate {
    pub const CA: &str = "CA";

    /// `apiserver cp-1`: the name of a master's serving certificate.
    pub fn apiserver_name(node: &str) -> String {
        format!("apiserver {node}")
    }

    pub fn is_ca(&self) -> bool {
        self.node.is_none()
    }

    /// Seconds until it expires; negative once expired.
    pub fn expires_in_s(&self, now: Timestamp) -> i64 {
        self.not_after.as_second() - now.as_second()
    }

    /// Expired, or inside the renewal window.
    pub fn needs_renewal(&self, now: Timestamp) -> bool {
        self.expires_in_s(now) < RENEW_WITHIN_S
    }

    /// What the timeline says when the clock moving from `before` to `now` takes this
    /// certificate into the renewal window or past its expiry.
    pub fn crossing(&self, before: Timestamp, now: Timestamp) -> Option<(Severity, String)> {
        let (was, is) = (self.expires_in_s(before), self.expires_in_s(now));
        let name = &self.name;
        if was > 0 && is <= 0 {
            Some((Severity::Bad, format!("certificate {name} EXPIRED")))
        } else if was >= RENEW_WITHIN_S && is < RENEW_WITHIN_S {
            let text = format!("certificate {name} expires in less than 30 days: renew it");
            Some((Severity::Warn, text))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClusterEvent, ClusterState, SourceKind};

    const DAY: i64 = 86_400;

    fn state_with(left_s: i64) -> ClusterState {
        let now: Timestamp = "2026-03-14T09:00:00Z".parse().unwrap();
        let mut s = ClusterState::new(SourceKind::Live, "lb:6443", now);
        let cert = Certificate {
            name: Certificate::apiserver_name("cp-1"),
            node: Some("cp-1".into()),
            not_after: Timestamp::from_second(now.as_second() + left_s).unwrap(),
            sans: vec!["cp-1".into()],
        };
        assert!(s.apply(ClusterEvent::Certificate(cert)));
        s
    }

    fn tick(s: &mut ClusterState, by_s: i64) {
        let t = Timestamp::from_second(s.now.as_second() + by_s).unwrap();
        s.apply(ClusterEvent::Clock(t));
    }

    fn texts(s: &ClusterState) -> Vec<String> {
        s.timeline.iter().map(|e| e.text.clone()).collect()
    }

    #[test]
    fn crossing_into_the_renewal_window_and_expiry_are_noted_once() {
        let mut s = state_with(30 * DAY + 5);
        assert!(texts(&s).is_empty(), "a first reading is not news");
        tick(&mut s, 4);
        assert!(texts(&s).is_empty());
        tick(&mut s, 2);
        assert_eq!(
            texts(&s),
            ["certificate apiserver cp-1 expires in less than 30 days: renew it"]
        );
        assert_eq!(s.timeline.iter().last().unwrap().severity, Severity::Warn);
        tick(&mut s, DAY);
        assert_eq!(texts(&s).len(), 1);
        tick(&mut s, 30 * DAY);
        assert_eq!(texts(&s)[1], "certificate apiserver cp-1 EXPIRED");
        assert_eq!(
            s.certificates["apiserver cp-1"].expires_in_s(s.now),
            -DAY - 1
        );
    }

    #[test]
    fn a_renewed_certificate_replaces_the_old_one() {
        let mut s = state_with(3 * DAY);
        assert!(s.certificates["apiserver cp-1"].needs_renewal(s.now));
        let mut renewed = s.certificates["apiserver cp-1"].clone();
        renewed.not_after = Timestamp::from_second(s.now.as_second() + 365 * DAY).unwrap();
        assert!(s.apply(ClusterEvent::Certificate(renewed.clone())));
        assert!(!s.apply(ClusterEvent::Certificate(renewed)), "no change");
        assert_eq!(texts(&s), ["certificate apiserver cp-1 renewed"]);
        assert!(!s.certificates["apiserver cp-1"].needs_renewal(s.now));
    }
}
