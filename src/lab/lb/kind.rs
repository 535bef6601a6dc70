//! Which load balancer the lab puts in front of the apiservers, and the timing of its active
//! check (`--lb`, `--lb-check`); what each kind does is in the module above.

use std::fmt;
use std::str::FromStr;

/// Which load balancer fronts the apiservers (`hatui lab --lb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LbKind {
    /// AWS Network Load Balancer with a TCP health check, as the seed builds it.
    #[default]
    Nlb,
    /// HAProxy with kubeadm's HA-doc configuration, behind keepalived's VIP.
    Haproxy,
    /// kube-vip in ARP mode: a VIP that follows a leader election.
    KubeVip,
}

/// An active health check's timing (`--lb-check INTERVAL/UNHEALTHY/HEALTHY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbCheck {
    /// Seconds between two checks of a target.
    pub interval_s: u32,
    /// Failed checks in a row that take a target out.
    pub unhealthy: u32,
    /// Passed checks in a row that bring it back.
    pub healthy: u32,
}

impl fmt::Display for LbCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.interval_s, self.unhealthy, self.healthy)
    }
}

impl FromStr for LbCheck {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a health check: INTERVAL/UNHEALTHY/HEALTHY, e.g. 10/3/3 \
                 (interval 1 to 300 s, thresholds 1 to 10)"
            )
        };
        let parts: Vec<u32> = s
            .split('/')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        match parts[..] {
            [interval_s @ 1..=300, unhealthy @ 1..=10, healthy @ 1..=10] => Ok(Self {
                interval_s,
                unhealthy,
                healthy,
            }),
            _ => Err(bad()),
        }
    }
}

impl LbKind {
    pub const ALL: [LbKind; 3] = [LbKind::Nlb, LbKind::Haproxy, LbKind::KubeVip];

    /// The `--lb` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nlb => "nlb",
            Self::Haproxy => "haproxy",
            Self::KubeVip => "kube-vip",
        }
    }

    /// The active check as it comes: AWS's defaults for a TCP target group (interval 30 s,
    /// unhealthy threshold 2, healthy threshold 5), HAProxy's `check` defaults (`inter 2s`,
    /// `fall 3`, `rise 2`); `None`: no checks.
    pub fn default_check(self) -> Option<LbCheck> {
        let check = |interval_s, unhealthy, healthy| {
            Some(LbCheck {
                interval_s,
                unhealthy,
                healthy,
            })
        };
        match self {
            Self::Nlb => check(30, 2, 5),
            Self::Haproxy => check(2, 3, 2),
            Self::KubeVip => None,
        }
    }

    /// How long a check waits for a target that does not answer: the NLB's timeout for
    /// TCP (10 s by default), HAProxy's connect timeout for checks (the smaller of
    /// `timeout connect` 5 s and `inter`).
    pub(super) fn check_timeout_s(self, check: LbCheck) -> i64 {
        match self {
            Self::Nlb => 10.min(i64::from(check.interval_s)),
            Self::Haproxy | Self::KubeVip => 5.min(i64::from(check.interval_s)),
        }
    }

    /// How it decides where requests go, for the Endpoint pane.
    pub fn describe(self, check: Option<LbCheck>) -> String {
        let Some(c) = check.or(self.default_check()) else {
            return "kube-vip: VIP on the plndr-cp-lock holder (lease 5s)".into();
        };
        let (i, u, h) = (c.interval_s, c.unhealthy, c.healthy);
        match self {
            Self::Nlb => format!("nlb: TCP :6443 every {i}s, fall {u}, rise {h}, passive"),
            _ => format!("haproxy: GET /healthz every {i}s, fall {u}, rise {h}"),
        }
    }
}

impl fmt::Display for LbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LbKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a load balancer kind: use nlb, haproxy or kube-vip")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_parse_as_interval_unhealthy_healthy() {
        let c: LbCheck = "10/3/3".parse().unwrap();
        assert_eq!((c.interval_s, c.unhealthy, c.healthy), (10, 3, 3));
        assert_eq!(c.to_string(), "10/3/3");
        for bad in ["10/3", "0/2/2", "10/0/2", "10/2/11", "a/b/c", "301/2/2"] {
            let err = bad.parse::<LbCheck>().unwrap_err();
            assert!(err.contains("INTERVAL/UNHEALTHY/HEALTHY"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_nlb_comes_with_aws_defaults_for_a_tcp_target_group() {
        // AWS CreateTargetGroup: TCP target groups default to a 30 s interval, a 10 s
        // timeout, unhealthy threshold 2 and healthy threshold 5 (not 10 s x 3).
        let c = LbKind::Nlb.default_check().unwrap();
        assert_eq!((c.interval_s, c.unhealthy, c.healthy), (30, 2, 5));
        assert_eq!(LbKind::Nlb.check_timeout_s(c), 10);
        assert!(
            LbKind::Nlb
                .describe(None)
                .contains("every 30s, fall 2, rise 5")
        );
        assert_eq!(LbKind::KubeVip.default_check(), None);
    }

    #[test]
    fn kinds_parse_from_their_names() {
        for k in LbKind::ALL {
            assert_eq!(k.name().parse::<LbKind>(), Ok(k));
        }
        assert!(
            "elb"
                .parse::<LbKind>()
                .unwrap_err()
                .contains("nlb, haproxy or kube-vip")
        );
    }
}
