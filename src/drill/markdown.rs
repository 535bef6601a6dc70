//! The report as Markdown, for a slide or a ticket: the same data as the JSON.

use std::fmt::Write;

use super::report::Report;
use super::series::Availability;

/// Outages listed one per line; the JSON has them all.
const OUTAGES_LISTED: usize = 10;

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

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let f = &r.fault;
    let _ = writeln!(
        out,
        "# Failover drill: {} ({})\n",
        f.kind.headline(&f.target),
        r.source
    );
    let _ = writeln!(
        out,
        "Started {}, restored {}.\n",
        f.started_at,
        f.restored_at.as_deref().unwrap_or("never")
    );
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
        for o in outages.iter().take(OUTAGES_LISTED) {
            let _ = writeln!(out, "- {:.1}–{:.1} s: {}", o.start_s, o.end_s, o.error);
        }
        if let Some(more) = outages.len().checked_sub(OUTAGES_LISTED).filter(|&n| n > 0) {
            let last = outages.last().map_or(0.0, |o| o.end_s);
            let _ = writeln!(
                out,
                "- … {more} more, the last ending at {last:.1} s (all in the JSON)"
            );
        }
    }
    let _ = writeln!(out, "\n## Timeline (seconds since the fault)\n");
    for ev in &r.timeline {
        let _ = writeln!(out, "- **{:.1} s** {}: {}", ev.at_s, ev.text, ev.why);
    }
    out
}
