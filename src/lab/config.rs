//! The lab's shape, and the names and addresses kubeadm's machines would have.

use jiff::Timestamp;

/// What to simulate. Out-of-range sizes are clamped by [`LabConfig::new`] and `Lab::new`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabConfig {
    /// 1..=7 masters (`cp-1`..), each with stacked etcd.
    pub control_planes: usize,
    /// 0..=5000 workers (`worker-1`..).
    pub workers: usize,
    /// Same seed and same calls: same cluster, same events.
    pub seed: u64,
    /// Lab time right after `Lab::new`.
    pub start: Timestamp,
    /// The `--control-plane-endpoint` (the load balancer in front of the apiservers).
    pub endpoint: String,
    /// A real etcd answers for the lab's (`--etcd-endpoints`): the lab publishes no etcd
    /// view of its own, so the two never fight over the etcd pane.
    pub external_etcd: bool,
    /// The load balancer behind `endpoint` (`--lb`).
    pub lb: super::LbKind,
    /// The balancer's active check (`--lb-check INTERVAL/UNHEALTHY/HEALTHY`); `None`: the
    /// kind's own defaults.
    pub lb_check: Option<super::LbCheck>,
    /// Built from bare hosts by the wizard: its steps and how each ended. `None` for a
    /// lab built at start.
    pub built_by_wizard: Option<Vec<String>>,
    /// How long a powered-off machine takes from power-on to its kubelet running
    /// (firmware, OS, containerd, kubelet), in ms (`--boot-time`).
    pub boot_time_ms: i64,
}

impl LabConfig {
    pub const DEFAULT_ENDPOINT: &str = "lab-api.hatui.local:6443";
    pub const MAX_CONTROL_PLANES: usize = 7;
    pub const MAX_WORKERS: usize = 5000;
    /// The default `--boot-time`: a VM's firmware, OS, containerd and kubelet.
    pub const DEFAULT_BOOT_TIME_MS: i64 = 45_000;

    pub fn new(control_planes: usize, workers: usize, seed: u64, start: Timestamp) -> Self {
        Self {
            control_planes,
            workers,
            seed,
            start,
            endpoint: Self::DEFAULT_ENDPOINT.to_string(),
            external_etcd: false,
            lb: super::LbKind::default(),
            lb_check: None,
            built_by_wizard: None,
            boot_time_ms: Self::DEFAULT_BOOT_TIME_MS,
        }
        .clamped()
    }

    /// The fields are public, so `Lab::new` clamps again rather than trusting them.
    pub(crate) fn clamped(mut self) -> Self {
        self.control_planes = self.control_planes.clamp(1, Self::MAX_CONTROL_PLANES);
        self.workers = self.workers.min(Self::MAX_WORKERS);
        self.boot_time_ms = self.boot_time_ms.clamp(0, 3_600_000);
        self
    }

    pub(crate) fn nodes(&self) -> usize {
        self.control_planes + self.workers
    }

    /// Node index `i`: masters first, then workers.
    pub fn name(&self, i: usize) -> String {
        match i.checked_sub(self.control_planes) {
            None => format!("cp-{}", i + 1),
            Some(w) => format!("worker-{}", w + 1),
        }
    }

    /// Masters from 10.0.0.11; workers from 10.0.1.1, 254 per /24 so no address ends in
    /// .0 or .255 (5,000 workers reach 10.0.20.x).
    pub fn ip(&self, i: usize) -> String {
        match i.checked_sub(self.control_planes) {
            None => format!("10.0.0.{}", 11 + i),
            Some(w) => format!("10.0.{}.{}", 1 + w / 254, 1 + w % 254),
        }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        let parse = |s: &str| s.parse::<usize>().ok().filter(|&n| n >= 1);
        if let Some(n) = name.strip_prefix("cp-").and_then(parse) {
            return (n <= self.control_planes).then(|| n - 1);
        }
        let n = name.strip_prefix("worker-").and_then(parse)?;
        (n <= self.workers).then(|| self.control_planes + n - 1)
    }
}

impl Default for LabConfig {
    fn default() -> Self {
        let start = "2026-01-01T00:00:00Z".parse().expect("valid timestamp");
        Self::new(3, 2, 1, start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_round_trip() {
        let cfg = LabConfig::new(3, 5000, 1, Timestamp::UNIX_EPOCH);
        assert_eq!(cfg.name(0), "cp-1");
        assert_eq!(cfg.ip(2), "10.0.0.13");
        assert_eq!(cfg.name(3), "worker-1");
        assert_eq!(cfg.ip(3), "10.0.1.1");
        assert_eq!(cfg.ip(3 + 253), "10.0.1.254");
        assert_eq!(cfg.ip(3 + 254), "10.0.2.1");
        assert_eq!(cfg.ip(3 + 4999), "10.0.20.174");
        for i in [0, 2, 3, 4000, 5002] {
            assert_eq!(cfg.index_of(&cfg.name(i)), Some(i));
        }
        assert_eq!(cfg.index_of("cp-4"), None);
        assert_eq!(cfg.index_of("worker-0"), None);
        assert_eq!(cfg.index_of("etcd-1"), None);
    }

    #[test]
    fn sizes_are_clamped() {
        let cfg = LabConfig::new(0, 9999, 1, Timestamp::UNIX_EPOCH);
        assert_eq!((cfg.control_planes, cfg.workers), (1, 5000));
        assert_eq!(
            LabConfig::new(9, 0, 1, Timestamp::UNIX_EPOCH).control_planes,
            7
        );
    }
}
