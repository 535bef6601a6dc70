//! How late is a new etcd leader seen? SIGKILLs the leader of a real 3-member TLS
//! cluster on loopback N times (default 5) and compares, against the time etcd logged
//! "elected leader", when hatui's poller saw the new leader and when a
//! `watch -n 1 etcdctl endpoint status` loop (etcdctl run, then 1 s sleep) saw it.
//!
//! Run: `RUNS=10 cargo bench --bench etcd_failover` (needs /usr/bin/etcd, and etcdctl from
//! Debian's `etcd-client`). Under `cargo test` it only says how to run it: it is a
//! measurement, not a test.
#![allow(clippy::unwrap_used)] // a test that cannot go on panics, and says where

use std::process::Command;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use hatui::etcd::spawn_poller;
use hatui::message::Message;
use hatui::model::ClusterEvent;
use hatui_testkit::etcd_cluster::EtcdCluster;
use jiff::Timestamp;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("etcd_failover is a measurement: run `RUNS=10 cargo bench --bench etcd_failover`");
        return;
    }
    let runs: usize = std::env::var("RUNS").map_or(5, |n| n.parse().expect("RUNS is a number"));
    let mut cluster = EtcdCluster::start(3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let _poller = rt.block_on(async { spawn_poller(cluster.config(), tx) });
    // hatui's view, flattened to (when received, leader) on a std channel.
    let (seen_tx, seen) = std_mpsc::channel();
    rt.spawn(async move {
        while let Some(Message::Cluster(events)) = rx.recv().await {
            for e in events {
                if let ClusterEvent::Etcd(s) = e {
                    let _ = seen_tx.send((Timestamp::now(), s.leader));
                }
            }
        }
    });
    let watch = spawn_etcdctl_loop(&cluster);

    println!("run  kill->elected  hatui seen after  watch etcdctl seen after (first of 3)");
    let (mut hatui_ms, mut watch_ms) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        cluster.wait_all_answer(Duration::from_secs(30));
        let old = leader_now(&seen);
        std::thread::sleep(Duration::from_millis(1500));
        let _ = seen.try_iter().count();
        let _ = watch.try_iter().count();
        let killed_at = Timestamp::now();
        let idx = cluster
            .members
            .iter()
            .position(|m| m.name == cluster.wait_for_leader(Duration::from_secs(10)));
        let idx = idx.expect("leader is a member");
        cluster.kill(idx);
        let hatui_at = first_new_leader(&seen, old);
        let watch_at = first_new_leader(&watch, old);
        let elected = elected_at(&cluster, killed_at).expect("an 'elected leader' log line");
        let ms = |t: Timestamp| (t - elected).total(jiff::Unit::Millisecond).unwrap();
        let (h, w) = (ms(hatui_at), ms(watch_at));
        println!(
            "{run:>3}  {:>10.0} ms  {h:>13.0} ms  {w:>14.0} ms",
            (elected - killed_at)
                .total(jiff::Unit::Millisecond)
                .unwrap()
        );
        hatui_ms.push(h);
        watch_ms.push(w);
        cluster.restart(idx);
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        format!(
            "median {:.0} ms, max {:.0} ms",
            v[v.len() / 2],
            v[v.len() - 1]
        )
    };
    println!(
        "hatui poller (100 ms status poll per member): {}",
        stats(&mut hatui_ms)
    );
    println!(
        "3 x watch -n 1 etcdctl endpoint status (one per member), first: {}",
        stats(&mut watch_ms)
    );
}

fn leader_now(seen: &std_mpsc::Receiver<(Timestamp, Option<u64>)>) -> u64 {
    loop {
        if let (_, Some(l)) = seen.recv_timeout(Duration::from_secs(10)).expect("views") {
            return l;
        }
    }
}

/// When a view first names a leader other than `old`.
fn first_new_leader(views: &std_mpsc::Receiver<(Timestamp, Option<u64>)>, old: u64) -> Timestamp {
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        let (at, leader) = views.recv_timeout(left).expect("a new leader within 30 s");
        if leader.is_some_and(|l| l != old) {
            return at;
        }
    }
}

/// etcd's own record: the first "elected leader" line any member logged after the kill.
fn elected_at(cluster: &EtcdCluster, after: Timestamp) -> Option<Timestamp> {
    cluster
        .members
        .iter()
        .filter_map(|m| std::fs::read_to_string(&m.log).ok())
        .flat_map(|log| {
            log.lines()
                .filter(|l| l.contains("elected leader"))
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["ts"].as_str()?.parse::<Timestamp>().ok())
                .collect::<Vec<_>>()
        })
        .filter(|t| *t > after)
        .min()
}

/// `watch -n 1 etcdctl endpoint status` per member (etcdctl 3.4 prints nothing but an
/// error once any of several endpoints is down): run it, wait for it, sleep 1 s, repeat.
fn spawn_etcdctl_loop(cluster: &EtcdCluster) -> std_mpsc::Receiver<(Timestamp, Option<u64>)> {
    let (tx, rx) = std_mpsc::channel();
    let c = &cluster.certs;
    for endpoint in cluster.endpoints() {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoint}"))
            .arg(format!("--cacert={}", c.ca.display()))
            .arg(format!("--cert={}", c.client_cert.display()))
            .arg(format!("--key={}", c.client_key.display()))
            .args(["endpoint", "status", "-w", "json"]);
        let tx = tx.clone();
        std::thread::spawn(move || {
            loop {
                let out = cmd.output().expect("run etcdctl");
                let at = Timestamp::now();
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
                let leader = v[0]["Status"]["leader"].as_u64().filter(|l| *l != 0);
                if tx.send((at, leader)).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    }
    rx
}
