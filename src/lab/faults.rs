//! Faults an operator can inject, each behaving as it would on a real host.

use crate::message::{Fault, FaultKind};
use crate::model::ClusterEvent;

use super::Lab;
use super::out::Out;

impl Lab {
    /// Applies `fault` now. Returns a `Note` saying what was done (or why nothing was) and
    /// whatever changed at once; the rest follows as the clock advances.
    pub fn inject(&mut self, fault: &Fault) -> Vec<ClusterEvent> {
        let mut out = Out::new(self.now);
        let node = &fault.node;
        let text = match self.cfg.index_of(node) {
            None => format!("LAB: {node}: no such node in this lab; nothing happened"),
            Some(i) => match self.apply_fault(i, fault.kind) {
                Ok(more) => format!("LAB: {node}: {}{more}", fault.kind.describe()),
                Err(why) => format!("LAB: {node}: nothing happened: {why}"),
            },
        };
        out.change(&self.cfg, self.now, None, ClusterEvent::Note(text));
        self.settle(&mut out);
        out.into_events()
    }

    /// Ok: a remark to append to the fault's description; Err: why it makes no sense.
    fn apply_fault(&mut self, i: usize, kind: FaultKind) -> Result<&'static str, &'static str> {
        let m = self.hosts.machines[i];
        let master = self.hosts.is_master(i);
        match kind {
            FaultKind::StopKubelet if !m.powered => Err("it is powered off: no kubelet to stop"),
            FaultKind::StopKubelet if !m.kubelet => Err("the kubelet is already stopped"),
            FaultKind::StopKubelet => {
                self.hosts.stop_kubelet(i);
                Ok("")
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
                    "; the kubelet acts on it within ~20 s"
                } else {
                    "; the kubelet is stopped, so the pods keep running until it starts"
                })
            }
            FaultKind::PowerOff if !m.powered => Err("it is already powered off"),
            FaultKind::PowerOff => {
                let mut changes = Vec::new();
                self.hosts.power_off(i, &mut changes);
                self.apply_pod_changes(&changes);
                if master {
                    // Its member's error turns from "refused" to a timeout.
                    self.etcd.touch();
                }
                Ok("")
            }
            FaultKind::Restore if self.hosts.healthy(i) => Err("it is healthy: nothing to restore"),
            FaultKind::Restore => {
                self.hosts.restore(i, self.now);
                if !m.kubelet {
                    self.nodes.kubelet_started(i, self.now);
                }
                if master && !m.powered {
                    self.etcd.touch();
                }
                Ok("")
            }
        }
    }
}
