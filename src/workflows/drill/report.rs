//! The drill's report: the JSON schema (documented in docs/drill.md and
//! docs/drill-report.md) built from a finished (or running) [`Drill`]. No secret is ever read by the drill, so none can
//! appear here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::engine::{Drill, Phase};
use super::fault::DrillFault;
use super::observe::Event;
use super::plan::LEASES;
use super::series::{Availability, secs};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `lab` or `live`.
    pub source: &'static str,
    pub fault: FaultJson,
    pub before: BeforeJson,
    pub etcd: EtcdJson,
    pub leases: Vec<LeaseJson>,
    pub api: ApiJson,
    pub node: NodeJson,
    pub test_pod: TestPodJson,
    pub recovery: RecoveryJson,
    pub verdict: Vec<String>,
    /// Beyond the fields: the quorum arithmetic shown before the start.
    pub quorum: String,
    /// Beyond the fields: the lab's shape and seed (the same replays the drill);
    /// `null` on a live cluster.
    pub lab: Option<LabJson>,
    /// Beyond the fields: every event in seconds since the fault, with why.
    pub timeline: Vec<Event>,
    /// Seconds from the fault to the last sample: the span the chart draws.
    pub ran_s: f64,
    /// The operator cut the drill short; `null` when it ran to its end.
    pub interrupted: Option<InterruptedJson>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterruptedJson {
    /// Seconds since the fault.
    pub at_s: f64,
    /// `fault` (the restore ran at once) or `recovery` (the watch stopped early).
    pub during: &'static str,
    /// What cut it short: `Esc in the cockpit`, `quitting the cockpit`, ...
    pub by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LabJson {
    pub seed: u64,
    pub control_planes: usize,
    pub workers: usize,
    /// `nlb`, `haproxy` or `kube-vip`.
    pub lb: String,
    /// `--real-etcd`: the etcd figures come from real etcd processes (wall clock).
    pub real_etcd: bool,
    /// `wizard`: built from bare hosts by the wizard's plan (`hatui wizard --lab --drill`,
    /// or `w` then `d` in `hatui lab --bare`); `start`: built when the lab started.
    pub built_by: &'static str,
    /// With `built_by: wizard`: the plan's steps and how each ended.
    pub wizard_steps: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaultJson {
    pub kind: DrillFault,
    pub target: String,
    pub commands: Vec<String>,
    pub restore_commands: Vec<String>,
    /// RFC 3339 (lab time in the lab).
    pub started_at: String,
    pub restored_at: Option<String>,
    /// Beyond the fields: seconds from the fault to the restore.
    pub restored_after_s: Option<f64>,
    /// Beyond the fields: what a real cluster does, said before the start.
    pub expectation: &'static str,
    pub duration_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BeforeJson {
    pub etcd_leader: Option<String>,
    pub raft_term: u64,
    /// Lease name: its holder's node (`null` when not held).
    pub leases: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EtcdJson {
    pub leader_lost_after_s: Option<f64>,
    pub new_leader: Option<String>,
    pub new_leader_after_s: Option<f64>,
    pub new_term: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaseJson {
    pub name: String,
    pub holder_before: Option<String>,
    /// `null`: nothing moved.
    pub new_holder: Option<String>,
    pub taken_over_after_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiJson {
    pub endpoint: Availability,
    /// Beyond the fields: one kept-alive connection through the endpoint.
    pub keepalive: Availability,
    pub masters: BTreeMap<String, Availability>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeJson {
    pub not_ready_after_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestPodJson {
    pub created_after_s: Option<f64>,
    pub scheduled_after_s: Option<f64>,
    pub node: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecoveryJson {
    pub restored: bool,
    /// Seconds since the restore.
    pub apiserver_ready_after_s: Option<f64>,
    pub etcd_healthy_after_s: Option<f64>,
    pub node_ready_after_s: Option<f64>,
}

/// RFC 3339 to the millisecond.
fn rfc3339(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Millisecond).unwrap_or(t).to_string()
}

fn s(ms: Option<i64>) -> Option<f64> {
    ms.map(secs)
}

impl Report {
    /// The measurements of `d`, without the verdict ([`Report::of`] adds it).
    pub(super) fn measured(d: &Drill) -> Report {
        let o = &d.observer;
        let g = &o.got;
        let fault = d.plan.spec.fault;
        let before = BeforeJson {
            etcd_leader: o.before.etcd_leader.clone(),
            raft_term: o.before.raft_term,
            leases: LEASES
                .iter()
                .zip(&o.before.leases)
                .map(|(n, l)| (n.to_string(), l.holder.clone()))
                .collect(),
        };
        let new_leader = g.new_leader.as_ref();
        let leases = (0..LEASES.len())
            .map(|k| LeaseJson {
                name: LEASES[k].to_string(),
                holder_before: o.before.leases[k].holder.clone(),
                new_holder: g.lease_taken[k].as_ref().map(|(h, _)| h.clone()),
                taken_over_after_s: s(g.lease_taken[k].as_ref().map(|(_, t)| *t)),
            })
            .collect();
        Report {
            source: if d.lab.is_some() { "lab" } else { "live" },
            fault: FaultJson {
                kind: fault,
                target: d.plan.target.clone(),
                commands: d.plan.commands.clone(),
                restore_commands: d.plan.restore_commands.clone(),
                started_at: rfc3339(d.started_at),
                restored_at: d.restored_at.map(rfc3339),
                restored_after_s: s(d.restored_ms()),
                expectation: fault.expectation(),
                duration_s: secs(d.plan.spec.duration_ms),
            },
            before,
            etcd: EtcdJson {
                leader_lost_after_s: s(g.leader_lost_ms),
                new_leader: new_leader.map(|l| l.0.clone()),
                new_leader_after_s: s(new_leader.map(|l| l.1)),
                new_term: new_leader.map(|l| l.2),
            },
            leases,
            api: ApiJson {
                endpoint: d.endpoint.summary(),
                keepalive: d.keepalive.summary(),
                masters: d
                    .masters
                    .iter()
                    .map(|(n, series)| (n.clone(), series.summary()))
                    .collect(),
            },
            node: NodeJson {
                not_ready_after_s: s(g.not_ready_ms),
            },
            test_pod: TestPodJson {
                created_after_s: s(g.pod_created_ms),
                scheduled_after_s: s(g.pod_scheduled.as_ref().map(|p| p.1)),
                node: g.pod_scheduled.as_ref().map(|p| p.0.clone()),
            },
            recovery: RecoveryJson {
                restored: d.restored,
                apiserver_ready_after_s: s(g.api_ready_ms),
                etcd_healthy_after_s: s(g.etcd_healthy_ms),
                node_ready_after_s: s(g.node_ready_ms),
            },
            verdict: Vec::new(),
            quorum: d.plan.arithmetic.clone(),
            lab: d.lab.as_ref().map(|lab| LabJson {
                seed: lab.seed,
                control_planes: lab.control_planes,
                workers: lab.workers,
                lb: lab.lb.name().to_string(),
                real_etcd: lab.external_etcd,
                built_by: if lab.built_by_wizard.is_some() {
                    "wizard"
                } else {
                    "start"
                },
                wizard_steps: lab.built_by_wizard.clone(),
            }),
            timeline: o.timeline.clone(),
            ran_s: secs(d.t()),
            interrupted: d.interrupted.as_ref().map(|i| InterruptedJson {
                at_s: secs(i.at_ms),
                during: match i.during {
                    Phase::Fault => "fault",
                    _ => "recovery",
                },
                by: i.by.clone(),
            }),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }
}
