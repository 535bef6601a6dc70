//! The kubelet's probes of each kube-apiserver's `/livez`, as kubeadm's static pod manifest
//! sets them (`cmd/kubeadm/app/util/staticpod/utils.go`): a startupProbe (initialDelaySeconds
//! 10, periodSeconds 10, failureThreshold 24: the control plane's 4 min health-check timeout
//! over the period) and a livenessProbe (initialDelaySeconds 10, periodSeconds 10,
//! timeoutSeconds 15, failureThreshold 8). The kubelet runs the livenessProbe only once the
//! startupProbe has passed, and every new container starts under its startupProbe. `/livez`
//! checks etcd, so an apiserver that was running when its local member went away is killed
//! after about 80 s; started again without etcd, it is under its startupProbe and is killed
//! again only after about 240 s (plus the kubelet's crash back-off), and so on while the
//! member stays away.

/// initialDelaySeconds, for both probes.
const INITIAL_DELAY_MS: i64 = 10_000;
/// periodSeconds, for both probes.
pub(crate) const PERIOD_MS: i64 = 10_000;
/// The livenessProbe's failureThreshold.
pub(crate) const FAILURE_THRESHOLD: u32 = 8;
/// The startupProbe's failureThreshold.
pub(crate) const STARTUP_FAILURE_THRESHOLD: u32 = 24;

#[derive(Debug, Clone)]
pub(crate) struct Liveness {
    /// The next probe of each master's apiserver, on the once-a-second grid.
    next_probe: Vec<i64>,
    failures: Vec<u32>,
    /// Its startupProbe has passed: the livenessProbe applies.
    started_up: Vec<bool>,
}

/// The first whole second at or after `ms`: the lab probes on its once-a-second tick.
fn on_second(ms: i64) -> i64 {
    ms.div_euclid(1_000) * 1_000 + if ms.rem_euclid(1_000) == 0 { 0 } else { 1_000 }
}

impl Liveness {
    /// Containers that started at `started[i]` (lab ms) and passed their startupProbe (a
    /// healthy cluster's apiservers).
    pub(crate) fn new(started: impl IntoIterator<Item = i64>) -> Self {
        let next_probe: Vec<i64> = started
            .into_iter()
            .map(|t| on_second(t + INITIAL_DELAY_MS))
            .collect();
        let n = next_probe.len();
        Self {
            next_probe,
            failures: vec![0; n],
            started_up: vec![true; n],
        }
    }

    /// A new container: under its startupProbe, after the initial delay.
    pub(crate) fn started(&mut self, i: usize, now: i64) {
        self.next_probe[i] = on_second(now + INITIAL_DELAY_MS);
        self.failures[i] = 0;
        self.started_up[i] = false;
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
                None => self.failures[i] = 0,
                Some(true) => {
                    self.failures[i] = 0;
                    self.started_up[i] = true;
                }
                Some(false) => {
                    self.failures[i] += 1;
                    let threshold = if self.started_up[i] {
                        FAILURE_THRESHOLD
                    } else {
                        STARTUP_FAILURE_THRESHOLD
                    };
                    if self.failures[i] >= threshold {
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
    fn eight_failed_liveness_probes_kill_it_then_the_startup_probe_waits_24() {
        let mut l = Liveness::new([0]);
        let mut killed_at = Vec::new();
        for t in (1..=600).map(|s| s * 1_000) {
            if !l.check(t, |_| Some(t < 35_000)).is_empty() {
                killed_at.push(t);
                l.started(0, t);
            }
        }
        // Probes at 10, 20, 30 s pass; 40..110 s fail: killed at the 8th failure.
        assert_eq!(killed_at.first(), Some(&110_000));
        // The new container is under its startupProbe: 24 failures 10 s apart after its
        // initial delay, not 8.
        assert_eq!(killed_at.get(1), Some(&(110_000 + 10_000 + 230_000)));
        assert_eq!(killed_at.get(2), Some(&(350_000 + 240_000)));
    }

    #[test]
    fn once_the_startup_probe_passes_the_liveness_probe_applies() {
        let mut l = Liveness::new([0]);
        l.started(0, 0);
        let mut killed_at = None;
        for t in (1..=200).map(|s| s * 1_000) {
            // Passes once at 10 s, then fails.
            if !l.check(t, |_| Some(t <= 10_000)).is_empty() {
                killed_at.get_or_insert(t);
            }
        }
        assert_eq!(killed_at, Some(90_000));
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
