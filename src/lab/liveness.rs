//! The kubelet's livenessProbe on each kube-apiserver, as kubeadm's static pod manifest sets
//! it: `GET /livez`, initialDelaySeconds 10, periodSeconds 10, timeoutSeconds 15,
//! failureThreshold 8 (`cmd/kubeadm/app/phases/controlplane/manifests.go`). `/livez` checks
//! etcd, so an apiserver whose local member is gone is killed after about 80 s and started
//! again, and its restart count climbs while the member stays away.

/// initialDelaySeconds.
const INITIAL_DELAY_MS: i64 = 10_000;
/// periodSeconds.
pub(crate) const PERIOD_MS: i64 = 10_000;
/// failureThreshold.
pub(crate) const FAILURE_THRESHOLD: u32 = 8;

#[derive(Debug, Clone)]
pub(crate) struct Liveness {
    /// The next probe of each master's apiserver, on the once-a-second grid.
    next_probe: Vec<i64>,
    failures: Vec<u32>,
}

/// The first whole second at or after `ms`: the lab probes on its once-a-second tick.
fn on_second(ms: i64) -> i64 {
    ms.div_euclid(1_000) * 1_000 + if ms.rem_euclid(1_000) == 0 { 0 } else { 1_000 }
}

impl Liveness {
    /// Containers that started at `started[i]` (lab ms).
    pub(crate) fn new(started: impl IntoIterator<Item = i64>) -> Self {
        let next_probe: Vec<i64> = started
            .into_iter()
            .map(|t| on_second(t + INITIAL_DELAY_MS))
            .collect();
        let failures = vec![0; next_probe.len()];
        Self {
            next_probe,
            failures,
        }
    }

    /// A new container: probes start again after the initial delay.
    pub(crate) fn started(&mut self, i: usize, now: i64) {
        self.next_probe[i] = on_second(now + INITIAL_DELAY_MS);
        self.failures[i] = 0;
    }

    /// Once a second: probes every apiserver that is due. `probe(i)`: `None` when nobody
    /// probes (no kubelet, no container), else whether `/livez` passed. Returns the masters
    /// whose apiserver the kubelet kills now.
    pub(crate) fn check(&mut self, now: i64, probe: impl Fn(usize) -> Option<bool>) -> Vec<usize> {
        let mut kill = Vec::new();
        for i in 0..self.next_probe.len() {
            if self.next_probe[i] > now {
                continue;
            }
            self.next_probe[i] = now + PERIOD_MS;
            match probe(i) {
                None | Some(true) => self.failures[i] = 0,
                Some(false) => {
                    self.failures[i] += 1;
                    if self.failures[i] >= FAILURE_THRESHOLD {
                        self.failures[i] = 0;
                        kill.push(i);
                    }
                }
            }
        }
        kill
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_failed_probes_ten_seconds_apart_kill_the_container() {
        let mut l = Liveness::new([0]);
        let mut killed_at = Vec::new();
        for t in (1..=200).map(|s| s * 1_000) {
            if !l.check(t, |_| Some(t < 35_000)).is_empty() {
                killed_at.push(t);
                l.started(0, t);
            }
        }
        // Probes at 10, 20, 30 s pass; 40..110 s fail: killed at the 8th failure.
        assert_eq!(killed_at.first(), Some(&110_000));
        // A new container waits its initial delay, then fails 8 more times.
        assert_eq!(killed_at.get(1), Some(&(110_000 + 10_000 + 70_000)));
    }

    #[test]
    fn nobody_probing_resets_the_count() {
        let mut l = Liveness::new([0]);
        for t in (1..=60).map(|s| s * 1_000) {
            assert!(l.check(t, |_| Some(false)).is_empty());
        }
        for t in (61..=70).map(|s| s * 1_000) {
            l.check(t, |_| None);
        }
        for t in (71..=130).map(|s| s * 1_000) {
            assert!(l.check(t, |_| Some(false)).is_empty(), "{t}");
        }
    }
}
