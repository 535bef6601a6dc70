//! `hatui drill --lab --real-etcd`, the real binary: the lab's etcd runs as real etcd
//! processes that follow the lab's masters, and the drill's etcd figures are theirs.
//! Powering off the leader SIGKILLs its member: the others elect after their own election
//! timeout, and after the restore the member is started again and becomes a healthy voter.

use std::process::Command;

use serde_json::Value;

use hatui_testkit::etcd_cluster;

#[test]
fn powering_off_the_leader_measures_the_real_members_reelection() {
    etcd_cluster::etcd_bin(); // fails first, saying what to install
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args([
            "drill",
            "--lab",
            "--real-etcd",
            "--seed",
            "3",
            "--fault",
            "power",
            "--duration",
            "3s",
            "--boot-time",
            "5s",
            "--yes",
            "--json",
        ])
        .current_dir(dir.path())
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("starting 3 real etcd members"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"], "lab");
    assert_eq!(r["lab"]["real_etcd"], true);
    // The target is the real leader; a real member took over, in a later term.
    let target = r["fault"]["target"].as_str().unwrap();
    assert_eq!(r["before"]["etcd_leader"], target);
    let e = &r["etcd"];
    assert!(
        e["new_leader"].is_string() && e["new_leader"] != target,
        "{e}"
    );
    assert!(
        e["new_term"].as_u64().unwrap() > r["before"]["raft_term"].as_u64().unwrap(),
        "{e}"
    );
    // Real followers go on naming the dead leader until their election timeout (etcd's
    // default: 1 s); the lab's simulated poll loses it at the first sample (0.1 s).
    let lost = e["leader_lost_after_s"].as_f64().unwrap();
    assert!(lost >= 0.5, "real etcd's figures, not the lab's: {e}");
    assert!(e["new_leader_after_s"].as_f64().unwrap() >= lost, "{e}");
    let rec = &r["recovery"];
    assert!(rec["etcd_healthy_after_s"].as_f64().is_some(), "{rec}");
    let timeline = r["timeline"].to_string();
    assert!(
        timeline.contains(&format!("{target}'s etcd member a healthy voter")),
        "{timeline}"
    );
}
