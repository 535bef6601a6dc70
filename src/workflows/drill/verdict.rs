//! The report's verdict: plain sentences, what held and what did not.

use super::engine::Drill;
use super::fault::DrillFault;
use super::report::Report;

fn pct(a: f64) -> String {
    format!("{:.1} %", a * 100.0)
}

impl Report {
    /// The report of `d`: its measurements and the verdict on them.
    pub fn of(d: &Drill) -> Report {
        let mut report = Report::measured(d);
        report.verdict = of(&report, d);
        report
    }
}

/// Within this of each other, two moments seen by samplers 100 ms apart are the same.
const SAME_S: f64 = 0.5;

/// Why the errors through the endpoint stopped at `last` s, from what the run saw: the
/// target's own apiserver answering again (and what had come back), or the target still
/// failing while no request through the endpoint did (the balancer had stopped sending it
/// any). Nothing is inferred from the balancer's configured checks.
fn why_errors_ended(r: &Report, last: f64) -> String {
    let target = &r.fault.target;
    let Some(own) = r.api.masters.get(target) else {
        return "when the errors stopped (the run did not see why)".to_string();
    };
    // The target's own outage that was under way when the endpoint's errors stopped.
    let during = own
        .outages
        .iter()
        .find(|o| o.start_s <= last + SAME_S && o.end_s + SAME_S >= last);
    match during {
        Some(o) if o.end_s > last + SAME_S => format!(
            "when the load balancer stopped sending it requests: {target} still failed until \
             {:.1} s, yet no request through the endpoint did",
            o.end_s
        ),
        _ => {
            let etcd_back = r
                .timeline
                .iter()
                .find(|e| e.text == format!("{target}'s etcd member healthy again"))
                .filter(|e| e.at_s <= last + SAME_S);
            match etcd_back {
                Some(e) => format!(
                    "when {target}'s own apiserver answered again: its etcd member was back at \
                     {:.1} s: {}",
                    e.at_s, e.why
                ),
                None => format!("when {target}'s own apiserver answered again"),
            }
        }
    }
}

pub fn of(r: &Report, d: &Drill) -> Vec<String> {
    let target = &r.fault.target;
    let mut v = Vec::new();
    if r.fault.kind == DrillFault::Kubelet {
        v.push(format!(
            "This drill proves nothing about failover: stopping the kubelet left the control \
             plane on {target} running; only its heartbeats stopped."
        ));
    }
    let ep = &r.api.endpoint;
    if ep.failed == 0 {
        v.push(format!(
            "Held: the API through the endpoint answered all {} requests.",
            ep.samples
        ));
    } else {
        v.push(format!(
            "Did not hold: the API through the endpoint answered {} of requests ({} of {} \
             failed, {} outage(s)); the longest gap was {:.1} s.",
            pct(ep.availability),
            ep.failed,
            ep.samples,
            ep.outages.len(),
            ep.longest_gap_s
        ));
        let others_ok = r
            .api
            .masters
            .iter()
            .filter(|(n, _)| *n != target)
            .any(|(_, a)| a.failed == 0);
        if others_ok {
            let last = ep.outages.last().map_or(0.0, |o| o.end_s);
            let how_long = if last >= r.fault.duration_s {
                "for the whole fault: it never stopped sending it requests".to_string()
            } else {
                format!("until {last:.1} s, {}", why_errors_ended(r, last))
            };
            v.push(format!(
                "Clients saw errors although another apiserver was ready all along: the load \
                 balancer kept sending a share of new connections to {target} {how_long}."
            ));
        }
    }
    let restore_s = r.fault.duration_s;
    let when = |after: f64| {
        if after >= restore_s {
            format!(" only after the restore ({after:.1} s after the fault)")
        } else {
            format!(" {after:.1} s after the fault")
        }
    };
    let leader = (&r.before.etcd_leader, &r.etcd.new_leader);
    match (leader, r.etcd.new_leader_after_s) {
        ((Some(_), Some(new)), Some(after)) if after >= restore_s => v.push(format!(
            "Did not hold: etcd had no leader from {:.1} s; {new} led again{}.",
            r.etcd.leader_lost_after_s.unwrap_or_default(),
            when(after)
        )),
        ((Some(old), Some(new)), Some(after)) => v.push(format!(
            "Held: etcd replaced its leader {old} with {new}{} (term {}).",
            when(after),
            r.etcd.new_term.unwrap_or_default()
        )),
        ((Some(old), None), _) if r.etcd.leader_lost_after_s.is_some() => v.push(format!(
            "Did not hold: etcd lost its leader {old} and had none until the drill ended."
        )),
        ((Some(old), None), _) => v.push(format!("Held: etcd kept its leader {old}.")),
        _ => {}
    }
    for l in &r.leases {
        let before = l.holder_before.as_deref().unwrap_or("nobody");
        let name = &l.name;
        v.push(match (&l.new_holder, l.taken_over_after_s) {
            (Some(new), Some(after)) if after >= restore_s => {
                format!("Did not hold: {name} was taken by {new}{}.", when(after))
            }
            (Some(new), Some(after)) => {
                format!("{name}: {new} took over from {before}{}.", when(after))
            }
            _ => format!("{name}: nothing moved ({before} kept it)."),
        });
    }
    match (r.test_pod.scheduled_after_s, &r.test_pod.node) {
        (Some(after), Some(node)) if after >= restore_s => v.push(format!(
            "Did not hold: the test pod was scheduled on {node}{}.",
            when(after)
        )),
        (Some(after), Some(node)) => v.push(format!(
            "Held: pods still schedule; the test pod was scheduled on {node}{}.",
            when(after)
        )),
        _ if r.source == "live" => v.push(format!(
            "Did not hold: the test pod was never scheduled during the drill ({}).",
            if r.test_pod.created_after_s.is_some() {
                "the API took it; no scheduler bound it"
            } else {
                "the API never took it"
            }
        )),
        _ => v.push(
            "Did not hold: the test pod was never scheduled during the drill (no scheduler \
             held its lease while the API answered)."
                .to_string(),
        ),
    }
    if let Some(after) = r.node.not_ready_after_s {
        v.push(format!(
            "{target} went NotReady {after:.1} s after the fault."
        ));
    }
    let rec = &r.recovery;
    if !rec.restored {
        let said = d.restore_note.clone().unwrap_or_default();
        v.push(format!("Did not hold: the restore did not run ({said})."));
    } else if d.observer.recovered() {
        let slowest = [
            rec.apiserver_ready_after_s,
            rec.etcd_healthy_after_s,
            rec.node_ready_after_s,
        ]
        .into_iter()
        .flatten()
        .fold(0.0, f64::max);
        let what = if r.api.masters.contains_key(target) {
            "apiserver ready, etcd member a healthy voter, node Ready"
        } else {
            "node Ready"
        };
        // A host that was off booted first (the lab's `--boot-time`).
        let boot = match &d.lab {
            Some(lab) if r.fault.kind.powers_off() => format!(
                ", {:.0} s of it its boot after the power-on",
                lab.boot_time_ms as f64 / 1000.0
            ),
            _ => String::new(),
        };
        v.push(format!(
            "Restored: {target} was back ({what}) {slowest:.1} s after the restore{boot}."
        ));
    } else {
        v.push(format!(
            "Did not hold: {target} was not fully back when the recovery watch ended."
        ));
    }
    v
}
