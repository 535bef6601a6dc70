//! The report as Markdown, for a slide or a ticket: the same data as the JSON.

use std::fmt::Write;

use super::observe::Event;
use super::report::Report;
use super::series::{Availability, Outage};

fn opt(v: Option<f64>) -> String {
    v.map_or("—".into(), |s| format!("{s:.1} s"))
}

fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |s| format!("{s:.1}"))
}

fn row(out: &mut String, name: &str, a: &Availability) {
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {:.2} % | {:.1} s | {} | {} | {} |",
        a.samples,
        a.failed,
        a.availability * 100.0,
        a.longest_gap_s,
        ms(a.latency_ms.p50),
        ms(a.latency_ms.p99),
        ms(a.latency_ms.max)
    );
}

/// Timeline events of one kind: the same text, or the same target failing whatever the
/// error (`API through the endpoint failing: ...`).
fn kind(text: &str) -> &str {
    match text.find(" failing: ") {
        Some(at) => &text[..at + " failing".len()],
        None => text,
    }
}

/// The timeline with repeated failures folded into the place of the first: each entry is
/// the first event of its kind and every later one of that kind. Other events stay one a
/// line, in order (a node Ready, NotReady, then Ready again says something in that order).
pub fn fold(timeline: &[Event]) -> Vec<Vec<&Event>> {
    let mut out: Vec<Vec<&Event>> = Vec::new();
    for ev in timeline {
        let k = kind(&ev.text);
        let repeats = k.len() < ev.text.len();
        match out.iter_mut().find(|g| repeats && kind(&g[0].text) == k) {
            Some(g) => g.push(ev),
            None => out.push(vec![ev]),
        }
    }
    out
}

/// One folded line: `API through the endpoint failing ×5 between 0.3 and 1.8 s (...)`.
fn folded(g: &[&Event]) -> String {
    let first = g[0];
    if g.len() == 1 {
        return format!("- **{:.1} s** {}: {}", first.at_s, first.text, first.why);
    }
    let last = g[g.len() - 1];
    let mut said: Vec<&str> = Vec::new();
    for e in g {
        let detail = e.text.split_once(" failing: ").map(|(_, d)| d);
        if let Some(d) = detail.filter(|d| !said.contains(d)) {
            said.push(d);
        }
    }
    let detail = if said.is_empty() {
        String::new()
    } else {
        format!(" ({})", said.join("; "))
    };
    format!(
        "- **{:.1} s** {} ×{} between {:.1} and {:.1} s{detail}: {}",
        first.at_s,
        kind(&first.text),
        g.len(),
        first.at_s,
        last.at_s,
        first.why
    )
}

/// Outages folded by error, in order of their first: `connection refused ×7 between ...`.
fn outage_lines(outages: &[Outage]) -> Vec<String> {
    let mut groups: Vec<Vec<&Outage>> = Vec::new();
    for o in outages {
        match groups.iter_mut().find(|g| g[0].error == o.error) {
            Some(g) => g.push(o),
            None => groups.push(vec![o]),
        }
    }
    groups
        .iter()
        .map(|g| {
            let (first, last) = (g[0], g[g.len() - 1]);
            if g.len() == 1 {
                return format!(
                    "- {:.1}–{:.1} s: {}",
                    first.start_s, first.end_s, first.error
                );
            }
            let longest = g.iter().map(|o| o.end_s - o.start_s).fold(0.0, f64::max);
            format!(
                "- {} ×{} between {:.1} and {:.1} s (the longest {longest:.1} s)",
                first.error,
                g.len(),
                first.start_s,
                last.end_s
            )
        })
        .collect()
}

/// The cluster drilled, in one line: the lab's shape and seed, or a live cluster's masters.
fn shape(r: &Report) -> String {
    match &r.lab {
        Some(l) => format!(
            "Cluster: the lab, {} control planes, {} workers, {} in front{}, seed {} (the same \
             seed replays this drill{}).",
            l.control_planes,
            l.workers,
            l.lb,
            if l.built_by == "wizard" {
                ", built by the wizard"
            } else {
                ""
            },
            l.seed,
            if l.real_etcd {
                "; etcd ran as real processes on the wall clock"
            } else {
                ""
            }
        ),
        None => {
            let masters: Vec<&str> = r.api.masters.keys().map(String::as_str).collect();
            format!(
                "Cluster: live, {} control planes ({}).",
                masters.len(),
                masters.join(", ")
            )
        }
    }
}

/// The Markdown of `r`; `chart`: the chart's file name beside it, linked when given.
pub fn render(r: &Report, chart: Option<&str>) -> String {
    let mut out = String::new();
    let f = &r.fault;
    let _ = writeln!(
        out,
        "# Failover drill: {} ({})\n",
        f.kind.headline(&f.target),
        r.source
    );
    if let Some(i) = &r.interrupted {
        let what = if i.during == "fault" {
            "the fault was restored at once, and the figures cover the run until then"
        } else {
            "the recovery watch stopped early, so the recovery figures may be missing"
        };
        let _ = writeln!(
            out,
            "**Interrupted** at {:.1} s during the {} ({}): {what}.\n",
            i.at_s, i.during, i.by
        );
    }
    let _ = writeln!(out, "{}\n", shape(r));
    let _ = writeln!(
        out,
        "Started {}, restored {}.\n",
        f.started_at,
        f.restored_at.as_deref().unwrap_or("never")
    );
    if let Some(name) = chart {
        let _ = writeln!(
            out,
            "![Each target's answers over time (green answered, red failed), the fault and the \
             restore marked, the control plane's events ticked]({name})\n"
        );
    }
    let _ = writeln!(out, "{}\n\n{}\n", f.expectation, r.quorum);
    let _ = writeln!(out, "## Verdict\n");
    for v in &r.verdict {
        let _ = writeln!(out, "- {v}");
    }
    let _ = writeln!(out, "\n## Fault\n\nRan on {}:\n\n```sh", f.target);
    for c in &f.commands {
        let _ = writeln!(out, "{c}");
    }
    let _ = writeln!(out, "```\n\nRestored with:\n\n```sh");
    for c in &f.restore_commands {
        let _ = writeln!(out, "{c}");
    }
    let _ = writeln!(out, "```\n\n## Figures\n");
    let b = &r.before;
    let _ = writeln!(
        out,
        "- before: etcd leader {}, term {}; leases {}",
        b.etcd_leader.as_deref().unwrap_or("none"),
        b.raft_term,
        b.leases
            .iter()
            .map(|(n, h)| format!("{n} on {}", h.as_deref().unwrap_or("nobody")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let e = &r.etcd;
    let _ = writeln!(
        out,
        "- etcd: leader lost after {}, new leader {} after {} (term {})",
        opt(e.leader_lost_after_s),
        e.new_leader.as_deref().unwrap_or("—"),
        opt(e.new_leader_after_s),
        e.new_term.map_or("—".into(), |t| t.to_string())
    );
    for l in &r.leases {
        let _ = writeln!(
            out,
            "- {}: {} → {} after {}",
            l.name,
            l.holder_before.as_deref().unwrap_or("nobody"),
            l.new_holder.as_deref().unwrap_or("(nothing moved)"),
            opt(l.taken_over_after_s)
        );
    }
    let _ = writeln!(
        out,
        "- node NotReady after {}",
        opt(r.node.not_ready_after_s)
    );
    let p = &r.test_pod;
    let _ = writeln!(
        out,
        "- test pod: created after {}, scheduled after {} on {}",
        opt(p.created_after_s),
        opt(p.scheduled_after_s),
        p.node.as_deref().unwrap_or("—")
    );
    let rec = &r.recovery;
    let _ = writeln!(
        out,
        "- recovery (since the restore{}): apiserver ready {}, etcd healthy {}, node Ready {}",
        if rec.restored {
            ""
        } else {
            ", which did NOT run"
        },
        opt(rec.apiserver_ready_after_s),
        opt(rec.etcd_healthy_after_s),
        opt(rec.node_ready_after_s)
    );
    let _ = writeln!(out, "\n## API, sampled every 100 ms\n");
    let _ = writeln!(
        out,
        "| target | samples | failed | availability | longest gap | p50 ms | p99 ms | max ms |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    row(&mut out, "endpoint", &r.api.endpoint);
    row(&mut out, "endpoint, kept alive", &r.api.keepalive);
    for (n, a) in &r.api.masters {
        row(&mut out, &format!("{n} /readyz"), a);
    }
    let outages = &r.api.endpoint.outages;
    if !outages.is_empty() {
        let _ = writeln!(out, "\nOutages through the endpoint:\n");
        for line in outage_lines(outages) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out, "\n## Timeline (seconds since the fault)\n");
    for g in fold(&r.timeline) {
        let _ = writeln!(out, "{}", folded(&g));
    }
    out
}
