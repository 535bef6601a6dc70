//! The machines themselves: power and kubelet for every node, and on masters the static-pod
//! manifests and the four control-plane containers they run. The key lesson lives here: the
//! containers run while the host is powered and the manifests are in place, whether or not
//! the kubelet runs; only the kubelet acts on a manifest change.

/// The kubelet re-reads `/etc/kubernetes/manifests` this often, so a moved manifest takes
/// effect up to this long after the move (kubeadm docs: "about 20 s").
pub(crate) const FILE_CHECK_MS: i64 = 20_000;
/// A container that exited is started again after this (the first back-off step).
const CRASH_RESTART_MS: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    Etcd,
    ApiServer,
    Scheduler,
    ControllerManager,
}

impl Component {
    pub(crate) const ALL: [Component; 4] = [
        Component::Etcd,
        Component::ApiServer,
        Component::Scheduler,
        Component::ControllerManager,
    ];

    fn slot(self) -> usize {
        self as usize
    }

    /// From the kubelet starting the pod to the container running: etcd is quick, the
    /// apiserver waits for etcd and its post-start hooks.
    fn start_ms(self) -> i64 {
        match self {
            Component::Etcd => 2_000,
            Component::ApiServer => 4_000,
            Component::Scheduler | Component::ControllerManager => 3_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Machine {
    pub powered: bool,
    /// The kubelet service runs (implies powered).
    pub kubelet: bool,
}

impl Machine {
    pub(crate) fn healthy(&self) -> bool {
        self.powered && self.kubelet
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pod {
    /// kubeadm wrote its manifest (init or join): until then the kubelet has nothing to run.
    pub installed: bool,
    pub running: bool,
    pub restarts: u32,
    /// The kubelet will start the container then.
    start_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct ControlPlane {
    pub manifests: bool,
    pods: [Pod; 4],
    /// The kubelet's next manifest check after the manifests were moved away.
    stop_at: Option<i64>,
}

impl ControlPlane {
    pub(crate) fn pod(&self, c: Component) -> Pod {
        self.pods[c.slot()]
    }

    /// Its manifests are where kubeadm put them (or it has none yet).
    pub(crate) fn in_place(&self) -> bool {
        self.manifests || !self.pods.iter().any(|p| p.installed)
    }

    pub(crate) fn starting(&self, c: Component) -> bool {
        self.pods[c.slot()].start_at.is_some()
    }
}

/// A container started or stopped; the etcd and leader-election models react to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PodChange {
    Started(usize, Component),
    /// `clean`: SIGTERM (etcd hands over leadership, leases are released); otherwise the
    /// process just vanished.
    Stopped(usize, Component, bool),
}

#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    /// Every node, masters first.
    pub machines: Vec<Machine>,
    pub cps: Vec<ControlPlane>,
}

impl Hosts {
    pub(crate) fn new(masters: usize, nodes: usize) -> Self {
        let up = Machine {
            powered: true,
            kubelet: true,
        };
        let running = Pod {
            installed: true,
            running: true,
            restarts: 0,
            start_at: None,
        };
        let cp = ControlPlane {
            manifests: true,
            pods: [running; 4],
            stop_at: None,
        };
        Self {
            machines: vec![up; nodes],
            cps: vec![cp; masters],
        }
    }

    /// Hosts with a container runtime, kubelet and kubeadm installed, nothing initialised:
    /// no manifests, no containers.
    pub(crate) fn bare(masters: usize, nodes: usize) -> Self {
        let mut h = Self::new(masters, nodes);
        for cp in &mut h.cps {
            cp.manifests = false;
            for pod in &mut cp.pods {
                (pod.installed, pod.running) = (false, false);
            }
        }
        h
    }

    /// kubeadm writes a static-pod manifest: the kubelet (if it runs) starts it at once.
    pub(crate) fn install(&mut self, i: usize, c: Component, now: i64) {
        let cp = &mut self.cps[i];
        cp.manifests = true;
        let pod = &mut cp.pods[c.slot()];
        pod.installed = true;
        if !pod.running {
            pod.start_at = Some(now);
        }
    }

    /// Whether kubeadm has written `c`'s manifest on master `i`.
    pub(crate) fn installed(&self, i: usize, c: Component) -> bool {
        self.cps
            .get(i)
            .is_some_and(|cp| cp.pods[c.slot()].installed)
    }

    /// `kubeadm reset`: the manifests are deleted and the kubelet stops their containers.
    pub(crate) fn uninstall(&mut self, i: usize, changes: &mut Vec<PodChange>) {
        let Some(cp) = self.cps.get_mut(i) else {
            return;
        };
        (cp.manifests, cp.stop_at) = (false, None);
        for (c, pod) in Component::ALL.into_iter().zip(&mut cp.pods) {
            (pod.installed, pod.start_at, pod.restarts) = (false, None, 0);
            if pod.running {
                pod.running = false;
                changes.push(PodChange::Stopped(i, c, true));
            }
        }
    }

    pub(crate) fn is_master(&self, i: usize) -> bool {
        i < self.cps.len()
    }

    /// Nothing to undo: powered, kubelet running, manifests in place.
    pub(crate) fn healthy(&self, i: usize) -> bool {
        self.machines[i].healthy() && self.cps.get(i).is_none_or(ControlPlane::in_place)
    }

    pub(crate) fn stop_kubelet(&mut self, i: usize) {
        self.machines[i].kubelet = false;
    }

    /// The containers keep running until the kubelet's next check of the directory.
    pub(crate) fn move_manifests(&mut self, i: usize, now: i64) {
        let cp = &mut self.cps[i];
        cp.manifests = false;
        cp.stop_at = Some(now + FILE_CHECK_MS);
        for pod in &mut cp.pods {
            pod.start_at = None;
        }
    }

    pub(crate) fn power_off(&mut self, i: usize, changes: &mut Vec<PodChange>) {
        self.machines[i] = Machine {
            powered: false,
            kubelet: false,
        };
        let Some(cp) = self.cps.get_mut(i) else {
            return;
        };
        cp.stop_at = None;
        for (c, pod) in Component::ALL.into_iter().zip(&mut cp.pods) {
            pod.start_at = None;
            if pod.running {
                pod.running = false;
                changes.push(PodChange::Stopped(i, c, false));
            }
        }
    }

    /// Power on, manifests back, kubelet started: the kubelet starts whatever is not running.
    pub(crate) fn restore(&mut self, i: usize, now: i64) {
        self.machines[i] = Machine {
            powered: true,
            kubelet: true,
        };
        if let Some(cp) = self.cps.get_mut(i) {
            cp.manifests = cp.pods.iter().any(|p| p.installed);
            cp.stop_at = None;
            for (c, pod) in Component::ALL.into_iter().zip(&mut cp.pods) {
                // A restarted kubelet has forgotten any back-off: it starts them all now.
                if pod.installed && !pod.running {
                    let start = now + c.start_ms();
                    pod.start_at = Some(pod.start_at.map_or(start, |t| t.min(start)));
                }
            }
        }
    }

    /// `crictl stop`: SIGTERM to one container; the kubelet starts it again at `start_at`.
    pub(crate) fn stop_container(
        &mut self,
        i: usize,
        c: Component,
        start_at: i64,
        changes: &mut Vec<PodChange>,
    ) {
        let pod = &mut self.cps[i].pods[c.slot()];
        if pod.running {
            pod.running = false;
            pod.start_at = Some(start_at);
            changes.push(PodChange::Stopped(i, c, true));
        }
    }

    /// A master with a container waiting for the kubelet to start it.
    pub(crate) fn waiting(&self, i: usize) -> bool {
        let pods = self.cps.get(i).map(|cp| cp.pods.iter());
        pods.into_iter().flatten().any(|p| p.start_at.is_some())
    }

    /// The process exited on its own (a leader that lost its lease exits) or the kubelet
    /// killed it (a failed liveness probe); the kubelet, if it runs, starts it again.
    pub(crate) fn crash(&mut self, i: usize, c: Component, now: i64, changes: &mut Vec<PodChange>) {
        let kubelet = self.machines[i].kubelet;
        let pod = &mut self.cps[i].pods[c.slot()];
        if !pod.running {
            return;
        }
        pod.running = false;
        pod.start_at = kubelet.then_some(now + CRASH_RESTART_MS);
        changes.push(PodChange::Stopped(i, c, false));
    }

    /// A container that stopped and stays stopped (for tests of what follows).
    #[cfg(test)]
    pub(crate) fn stop_for_good(&mut self, i: usize, c: Component, changes: &mut Vec<PodChange>) {
        let pod = &mut self.cps[i].pods[c.slot()];
        (pod.running, pod.start_at) = (false, None);
        changes.push(PodChange::Stopped(i, c, false));
    }

    /// Carries out what the kubelets have scheduled for `now`. A stopped kubelet does nothing.
    pub(crate) fn step(&mut self, now: i64, changes: &mut Vec<PodChange>) {
        for (i, cp) in self.cps.iter_mut().enumerate() {
            if !self.machines[i].kubelet {
                continue;
            }
            if cp.stop_at.is_some_and(|t| t <= now) {
                cp.stop_at = None;
                for (c, pod) in Component::ALL.into_iter().zip(&mut cp.pods) {
                    if pod.running {
                        pod.running = false;
                        changes.push(PodChange::Stopped(i, c, true));
                    }
                }
            }
            for (c, pod) in Component::ALL.into_iter().zip(&mut cp.pods) {
                if pod.start_at.is_some_and(|t| t <= now) {
                    pod.start_at = None;
                    pod.running = true;
                    pod.restarts += 1;
                    changes.push(PodChange::Started(i, c));
                }
            }
        }
    }

    /// The earliest moment [`Hosts::step`] has something to do.
    pub(crate) fn next_due(&self) -> Option<i64> {
        let acting = self
            .cps
            .iter()
            .zip(&self.machines)
            .filter(|(_, m)| m.kubelet);
        acting
            .flat_map(|(cp, _)| cp.pods.iter().map(|p| p.start_at).chain([cp.stop_at]))
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_the_kubelet_leaves_the_pods_running() {
        let mut h = Hosts::new(1, 1);
        let mut changes = Vec::new();
        h.stop_kubelet(0);
        h.step(60_000, &mut changes);
        assert!(changes.is_empty());
        assert!(Component::ALL.iter().all(|&c| h.cps[0].pod(c).running));
    }

    #[test]
    fn moved_manifests_stop_cleanly_after_the_file_check_and_only_with_a_kubelet() {
        let mut h = Hosts::new(1, 1);
        let mut changes = Vec::new();
        h.move_manifests(0, 0);
        h.step(FILE_CHECK_MS - 10, &mut changes);
        assert!(changes.is_empty());
        h.stop_kubelet(0);
        h.step(FILE_CHECK_MS, &mut changes);
        assert!(changes.is_empty(), "no kubelet, nobody acts");
        assert_eq!(h.next_due(), None);
        h.machines[0].kubelet = true;
        h.step(FILE_CHECK_MS, &mut changes);
        assert_eq!(changes.len(), 4);
        assert!(changes.contains(&PodChange::Stopped(0, Component::Etcd, true)));
    }

    #[test]
    fn restore_restarts_what_power_loss_killed() {
        let mut h = Hosts::new(1, 1);
        let mut changes = Vec::new();
        h.power_off(0, &mut changes);
        assert!(changes.contains(&PodChange::Stopped(0, Component::ApiServer, false)));
        changes.clear();
        h.restore(0, 0);
        h.step(2_000, &mut changes);
        assert_eq!(changes, [PodChange::Started(0, Component::Etcd)]);
        h.step(4_000, &mut changes);
        assert_eq!(changes.len(), 4);
        assert_eq!(h.cps[0].pod(Component::Scheduler).restarts, 1);
        assert_eq!(h.next_due(), None);
    }
}
