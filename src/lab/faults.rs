//! Faults an operator can inject, each behaving as it would on a real host.

use hatui_model::{ClusterEvent, Fault, FaultKind};

use super::Lab;
use super::hosts::Component;
use super::out::Out;
use super::views;

/// The kubelet's crash back-off for a container (`kuberuntime_manager.go`, `doBackOff`):
/// the first exit is restarted at the next sync, later ones after 10 s doubling to 5 min;
/// forgotten after 10 min without an exit, or when the kubelet restarts (it is in memory).
const SYNC_MS: i64 = 1_000;
const BACKOFF_FIRST_MS: i64 = 10_000;
const BACKOFF_MAX_MS: i64 = 300_000;

#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    exits: u32,
    last_exit: i64,
}

impl Backoff {
    /// After an exit at `now`: how long until the kubelet starts the container again.
    pub(super) fn next(&mut self, now: i64) -> i64 {
        if now - self.last_exit > 2 * BACKOFF_MAX_MS {
            self.exits = 0;
        }
        let wait = match self.exits {
            0 => SYNC_MS,
            n => (BACKOFF_FIRST_MS << (n - 1).min(5)).min(BACKOFF_MAX_MS),
        };
        self.exits += 1;
        self.last_exit = now;
        wait
    }
}

/// What the lab's faults beyond power and kubelet left behind.
#[derive(Debug, Clone)]
pub(crate) struct FaultState {
    /// Per master: the etcd container's back-off.
    etcd_backoff: Vec<Backoff>,
    /// Per master: the apiserver container's back-off (its probes kill it).
    pub api_backoff: Vec<Backoff>,
    /// Per node: deleted with `kubectl delete node` (not registered again yet).
    pub deleted: Vec<bool>,
}

impl FaultState {
    pub(crate) fn new(masters: usize, nodes: usize) -> Self {
        Self {
            etcd_backoff: vec![Backoff::default(); masters],
            api_backoff: vec![Backoff::default(); masters],
            deleted: vec![false; nodes],
        }
    }
}

impl Lab {
    /// Applies `fault` now. Returns a `Note` saying what was done (or why nothing was) and
    /// whatever changed at once; the rest follows as the clock advances.
    pub fn inject(&mut self, fault: &Fault) -> Vec<ClusterEvent> {
        let mut out = Out::new(self.now);
        let node = &fault.node;
        let text = match self.cfg.index_of(node) {
            None => format!("LAB: {node}: no such node in this lab; nothing happened"),
            Some(i) => match self.apply_fault(i, fault.kind, &mut out) {
                Ok(more) => format!("LAB: {node}: {}{more}", fault.kind.describe()),
                Err(why) => format!("LAB: {node}: nothing happened: {why}"),
            },
        };
        out.change(&self.cfg, self.now, None, ClusterEvent::Note(text));
        self.settle(&mut out);
        out.into_events()
    }

    /// Ok: a remark to append to the fault's description; Err: why it makes no sense.
    fn apply_fault(
        &mut self,
        i: usize,
        kind: FaultKind,
        out: &mut Out,
    ) -> Result<String, &'static str> {
        let m = self.hosts.machines[i];
        let master = self.hosts.is_master(i);
        match kind {
            FaultKind::StopKubelet if !m.powered => Err("it is powered off: no kubelet to stop"),
            FaultKind::StopKubelet if !m.kubelet => Err("the kubelet is already stopped"),
            FaultKind::StopKubelet => {
                self.hosts.stop_kubelet(i);
                Ok(String::new())
            }
            FaultKind::StopControlPlane if !master => {
                Err("not a control-plane node: it has no static-pod manifests to move")
            }
            FaultKind::StopControlPlane if !m.powered => Err("it is powered off"),
            FaultKind::StopControlPlane if !self.hosts.cps[i].manifests => {
                Err("the manifests are already moved away")
            }
            FaultKind::StopControlPlane => {
                self.hosts.move_manifests(i, self.now);
                Ok(if m.kubelet {
                    "; only etcd, kube-apiserver, kube-controller-manager and kube-scheduler \
                     (a kube-vip.yaml beside them stays): the kubelet's inotify watch stops \
                     them within about a second"
                } else {
                    "; the kubelet is stopped, so the pods keep running until it starts"
                }
                .into())
            }
            FaultKind::PowerOff | FaultKind::Shutdown if !m.powered => {
                Err("it is already powered off")
            }
            FaultKind::PowerOff => {
                self.power_off(i, false);
                Ok(String::new())
            }
            FaultKind::Shutdown => {
                self.power_off(i, true);
                Ok(String::new())
            }
            FaultKind::StopEtcd => self.stop_etcd(i),
            FaultKind::Partition => self.partition(i),
            FaultKind::DeleteNode => self.delete_node(i, out),
            FaultKind::Restore => self.restore(i, out),
        }
    }

    /// `clean`: a shutdown (SIGTERM first), else a power cut.
    fn power_off(&mut self, i: usize, clean: bool) {
        let mut changes = Vec::new();
        self.hosts.power_off(i, clean, &mut changes);
        self.apply_pod_changes(&changes);
        if self.hosts.is_master(i) {
            // Its member's error turns from "refused" to a timeout.
            self.etcd.touch();
        }
    }

    fn stop_etcd(&mut self, i: usize) -> Result<String, &'static str> {
        if !self.hosts.is_master(i) {
            return Err("not a control-plane node: no etcd runs there");
        }
        if !self.hosts.cps[i].pod(Component::Etcd).running {
            return Err("its etcd container is not running");
        }
        let wait = self.faults.etcd_backoff[i].next(self.now);
        let mut changes = Vec::new();
        self.hosts
            .stop_container(i, Component::Etcd, self.now + wait, &mut changes);
        self.apply_pod_changes(&changes);
        Ok(if !self.hosts.machines[i].kubelet {
            "; the kubelet is stopped, so etcd stays down until it starts".into()
        } else if wait <= SYNC_MS {
            "; the kubelet starts it again at its next sync (~1 s): stop it again and its \
             back-off grows (10 s, 20 s, 40 s ... 5 min)"
                .into()
        } else {
            format!(
                "; the kubelet's crash back-off starts it again in {} s",
                wait / 1000
            )
        })
    }

    fn partition(&mut self, i: usize) -> Result<String, &'static str> {
        if !self.hosts.is_master(i) {
            return Err("not a control-plane node: no etcd peer traffic to cut");
        }
        if self.etcd.cut[i] {
            return Err("it is already cut off");
        }
        self.etcd.set_cut(i, true);
        Ok(if self.cfg.external_etcd {
            "; only the lab's simulated etcd is cut (it decides the apiservers' readiness): \
             the real etcd shown in the etcd pane is not partitioned (processes on one \
             loopback cannot be cut apart without network namespaces)"
                .into()
        } else {
            "; its etcd member keeps answering locally, without a leader".into()
        })
    }

    fn delete_node(&mut self, i: usize, out: &mut Out) -> Result<String, &'static str> {
        if !self.hosts.is_master(i) {
            return Err("not a control-plane node: no etcd member would be left behind");
        }
        if self.faults.deleted[i] {
            return Err("its Node is already deleted");
        }
        if !self.feeds.api_up {
            return Err("the API endpoint is down: kubectl delete node fails");
        }
        if self.hosts.machines[i].powered {
            self.power_off(i, false);
        }
        self.faults.deleted[i] = true;
        let gone = ClusterEvent::NodeRemoved(self.cfg.name(i));
        out.change(&self.cfg, self.now, None, gone);
        Ok("; nobody ran etcdctl member remove".into())
    }

    fn restore(&mut self, i: usize, out: &mut Out) -> Result<String, &'static str> {
        let m = self.hosts.machines[i];
        let master = self.hosts.is_master(i);
        let cut = master && self.etcd.cut[i];
        let deleted = self.faults.deleted[i];
        if self.hosts.healthy(i) && !self.hosts.waiting(i) && !cut && !deleted {
            return Err("it is healthy: nothing to restore");
        }
        let boots = self.hosts.restore(i, self.now, self.cfg.boot_time_ms);
        if !boots {
            self.kubelet_started(i, !m.kubelet);
        }
        if cut {
            self.etcd.set_cut(i, false);
        }
        if deleted {
            // The kubelet registers its Node again on start; the member was never removed,
            // so it simply rejoins.
            self.faults.deleted[i] = false;
            self.nodes.nodes[i].created = self.now;
            let node = views::node(&self.cfg, i, &self.nodes.nodes[i]);
            out.change(&self.cfg, self.now, None, ClusterEvent::NodeUpsert(node));
        }
        Ok(if boots {
            format!(
                "; it boots (firmware, OS, containerd, kubelet) for {:.0} s before its kubelet \
                 starts anything",
                self.cfg.boot_time_ms as f64 / 1000.0
            )
        } else {
            String::new()
        })
    }

    /// The kubelet (re)started on node `i` (`was_stopped`: it had not been running): its
    /// back-off is forgotten; a master's etcd member answers again.
    pub(super) fn kubelet_started(&mut self, i: usize, was_stopped: bool) {
        if self.hosts.is_master(i) {
            self.faults.etcd_backoff[i] = Backoff::default();
            self.faults.api_backoff[i] = Backoff::default();
        }
        if was_stopped {
            self.nodes.kubelet_started(i, self.now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubelets_back_off_starts_at_the_next_sync_then_doubles_and_is_forgotten() {
        let mut b = Backoff::default();
        let waits: Vec<i64> = (0..9).map(|k| b.next(k * 1_000)).collect();
        assert_eq!(
            waits,
            [
                1_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000
            ]
        );
        assert_eq!(b.next(8_000 + 600_001), 1_000, "10 min without an exit");
    }
}
