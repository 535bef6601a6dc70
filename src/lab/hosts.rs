//! The machines themselves: power and kubelet for every node, and on masters the static-pod
//! manifests and the four control-plane containers they run. The key lesson lives here: the
//! containers run while the host is powered and the manifests are in place, whether or not
//! the kubelet runs; only the kubelet acts on a manifest change.

/// The kubelet watches `/etc/kubernetes/manifests` with inotify
/// (`pkg/kubelet/config/file_linux.go`), so a moved manifest takes effect within about a
/// second; its 20 s `fileCheckFrequency` is only the fallback re-list.
pub(crate) const MANIFEST_WATCH_MS: i64 = 1_000;
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
    /// Just installed: its first start is no restart.
    fresh: bool,
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
    /// Node `i` finished booting after a power-on: its kubelet runs again.
    Booted(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    /// Every node, masters first.
    pub machines: Vec<Machine>,
    pub cps: Vec<ControlPlane>,
    /// Per node: powered on and booting (firmware, OS, containerd, kubelet) until then.
    booting: Vec<Option<i64>>,
    /// Went off by a clean shutdown (systemd stopped every process with SIGTERM).
    off_cleanly: Vec<bool>,
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
            fresh: false,
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
            booting: vec![None; nodes],
            off_cleanly: vec![false; nodes],
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
        if !pod.installed {
            pod.fresh = true;
        }
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

    /// The control plane's four manifests (etcd, kube-apiserver, kube-controller-manager,
    /// kube-scheduler) moved out; a `kube-vip.yaml` beside them stays (see
    /// [`Hosts::kube_vip_runs`]). The containers keep running until the kubelet's inotify
    /// watch fires (about a second).
    pub(crate) fn move_manifests(&mut self, i: usize, now: i64) {
        let cp = &mut self.cps[i];
        cp.manifests = false;
        cp.stop_at = Some(now + MANIFEST_WATCH_MS);
        for pod in &mut cp.pods {
            pod.start_at = None;
        }
    }

    /// kube-vip is a static pod of its own (`kube-vip.yaml`): the control-plane fault moves
    /// only the four control-plane manifests, so it runs while the host is powered and it
    /// was ever set up (an installed control plane).
    pub(crate) fn kube_vip_runs(&self, i: usize) -> bool {
        let installed = self
            .cps
            .get(i)
            .is_some_and(|cp| cp.pods.iter().any(|p| p.installed));
        self.machines[i].powered && installed
    }

    /// Off after a clean shutdown: its processes were stopped with SIGTERM, as on a stop.
    pub(crate) fn off_cleanly(&self, i: usize) -> bool {
        !self.machines[i].powered && self.off_cleanly[i]
    }

    /// Powered on and not yet booted.
    pub(crate) fn booting(&self, i: usize) -> bool {
        self.booting[i].is_some()
    }

    /// The host goes off. `clean`: a shutdown (`systemctl poweroff`): systemd SIGTERMs every
    /// container first; otherwise a power cut: they just vanish.
    pub(crate) fn power_off(&mut self, i: usize, clean: bool, changes: &mut Vec<PodChange>) {
        self.machines[i] = Machine {
            powered: false,
            kubelet: false,
        };
        self.booting[i] = None;
        self.off_cleanly[i] = clean;
        let Some(cp) = self.cps.get_mut(i) else {
            return;
        };
        cp.stop_at = None;
        for (c, pod) in Component::ALL.into_iter().zip(&mut cp.pods) {
            pod.start_at = None;
            if pod.running {
                pod.running = false;
                changes.push(PodChange::Stopped(i, c, clean));
            }
        }
    }

    /// Manifests back, kubelet started: the kubelet starts whatever is not running. A host
    /// that is off is powered on and is back `boot_ms` later: until then nothing on it
    /// runs (returns whether it boots).
    pub(crate) fn restore(&mut self, i: usize, now: i64, boot_ms: i64) -> bool {
        if let Some(cp) = self.cps.get_mut(i) {
            cp.manifests = cp.pods.iter().any(|p| p.installed);
            cp.stop_at = None;
        }
        if !self.machines[i].powered {
            let at = now + boot_ms.max(0);
            self.booting[i] = Some(self.booting[i].map_or(at, |t| t.min(at)));
            return true;
        }
        self.start_kubelet(i, now);
        false
    }

    /// The kubelet (re)starts: it has forgotten any back-off and starts every installed
    /// container that is not running.
    fn start_kubelet(&mut self, i: usize, now: i64) {
        self.machines[i] = Machine {
            powered: true,
            kubelet: true,
        };
        if let Some(cp) = self.cps.get_mut(i) {
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

    /// A node booting, or a master with a container waiting for the kubelet to start it.
    pub(crate) fn waiting(&self, i: usize) -> bool {
        let pods = self.cps.get(i).map(|cp| cp.pods.iter());
        self.booting(i) || pods.into_iter().flatten().any(|p| p.start_at.is_some())
    }

    /// The process exited on its own (a leader that lost its lease exits) or the kubelet
    /// killed it (a failed liveness probe); the kubelet, if it runs, starts it again.
    pub(crate) fn crash(&mut self, i: usize, c: Component, now: i64, changes: &mut Vec<PodChange>) {
        self.crash_for(i, c, now, CRASH_RESTART_MS, changes);
    }

    /// As [`Hosts::crash`], started again `wait` ms later (the kubelet's crash back-off).
    pub(crate) fn crash_for(
        &mut self,
        i: usize,
        c: Component,
        now: i64,
        wait: i64,
        changes: &mut Vec<PodChange>,
    ) {
        let kubelet = self.machines[i].kubelet;
        let pod = &mut self.cps[i].pods[c.slot()];
        if !pod.running {
            return;
        }
        pod.running = false;
        pod.start_at = kubelet.then_some(now + wait);
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
        for i in 0..self.booting.len() {
            if self.booting[i].is_some_and(|t| t <= now) {
                self.booting[i] = None;
                self.start_kubelet(i, now);
                changes.push(PodChange::Booted(i));
            }
        }
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
                    if !std::mem::take(&mut pod.fresh) {
                        pod.restarts += 1;
                    }
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
            .chain(self.booting.iter().copied())
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
    fn moved_manifests_stop_cleanly_within_a_second_and_only_with_a_kubelet() {
        let mut h = Hosts::new(1, 1);
        let mut changes = Vec::new();
        h.move_manifests(0, 0);
        assert!(h.kube_vip_runs(0), "kube-vip.yaml stays where it is");
        h.step(MANIFEST_WATCH_MS - 10, &mut changes);
        assert!(changes.is_empty());
        h.stop_kubelet(0);
        h.step(MANIFEST_WATCH_MS, &mut changes);
        assert!(changes.is_empty(), "no kubelet, nobody acts");
        assert_eq!(h.next_due(), None);
        h.machines[0].kubelet = true;
        // inotify: within about a second, not at a 20 s re-list.
        h.step(1_000, &mut changes);
        assert_eq!(changes.len(), 4);
        assert!(changes.contains(&PodChange::Stopped(0, Component::Etcd, true)));
    }

    #[test]
    fn restore_boots_the_host_then_restarts_what_power_loss_killed() {
        let mut h = Hosts::new(1, 1);
        let mut changes = Vec::new();
        h.power_off(0, false, &mut changes);
        assert!(changes.contains(&PodChange::Stopped(0, Component::ApiServer, false)));
        changes.clear();
        assert!(h.restore(0, 0, 45_000), "powered on: it boots");
        assert_eq!(h.next_due(), Some(45_000));
        h.step(44_990, &mut changes);
        assert!(
            changes.is_empty() && !h.machines[0].powered,
            "still booting"
        );
        h.step(45_000, &mut changes);
        assert_eq!(changes, [PodChange::Booted(0)]);
        h.step(47_000, &mut changes);
        assert_eq!(
            changes,
            [PodChange::Booted(0), PodChange::Started(0, Component::Etcd)]
        );
        h.step(49_000, &mut changes);
        assert_eq!(changes.len(), 5);
        assert_eq!(h.cps[0].pod(Component::Scheduler).restarts, 1);
        assert_eq!(h.next_due(), None);
    }

    #[test]
    fn a_shutdown_stops_the_pods_cleanly_a_cut_does_not() {
        let mut h = Hosts::new(1, 1);
        let mut changes = Vec::new();
        h.power_off(0, true, &mut changes);
        assert_eq!(changes.len(), 4);
        assert!(
            changes
                .iter()
                .all(|c| matches!(c, PodChange::Stopped(0, _, true)))
        );
        let mut h = Hosts::new(1, 1);
        changes.clear();
        h.power_off(0, false, &mut changes);
        assert!(
            changes
                .iter()
                .all(|c| matches!(c, PodChange::Stopped(0, _, false)))
        );
    }
}
