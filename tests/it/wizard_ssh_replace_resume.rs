//! Day 2 over SSH, resumed: `hatui wizard --inventory FILE --replace NODE --yes` killed
//! mid-plan and run again continues where the cluster is (nothing saved on the bastion):
//! killed during the reset, and killed after the join (during the cleanup), when the
//! replacement answers like a healthy master and only the plan's mark, its join token's
//! description, tells the rerun to finish instead of refusing. The fleet of
//! `wizard_ssh_fleet/` (real sshds on 127.0.0.61-65, doubles), the cluster built and cp-1
//! dead, a fresh machine at its address.

use crate::wizard_ssh_fleet;

use std::time::{Duration, Instant};

use serde_json::json;
use wizard_ssh_fleet::*;

const PLAN: [&str; 10] = [
    "check",
    "snapshot",
    "remove-member/cp-1",
    "delete-node/cp-1",
    "reset/cp-1",
    "upload-certs",
    "token-create",
    "join-control-plane/cp-1",
    "cleanup",
    "verify",
];

fn dead_site() -> Site {
    let site = Site::new();
    site.built_with_dead("cp-1");
    site
}

#[test]
fn killed_during_the_reset_the_rerun_continues_where_the_cluster_is() {
    let site = dead_site();
    site.set("hold", "reset-cp-1", "3");
    let _slot = run_slot();
    let mut child = site.replace_start("cp-1", &["--yes", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !site
        .commands("cp-1")
        .iter()
        .any(|c| c == "kubeadm reset -f")
    {
        assert!(Instant::now() < deadline, "the reset never started");
        if let Some(s) = child.try_wait().unwrap() {
            panic!("hatui ended before the reset: {s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(site.state.join("hold/reset-cp-1")).unwrap();

    let out = site.replace_run("cp-1", &["--yes", "--json"]);
    let (v, text) = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_eq!(v["verified"], true, "{text}");
    for id in [
        "check",
        "snapshot",
        "remove-member/cp-1",
        "delete-node/cp-1",
    ] {
        let s = step(&v, id);
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&json!("ok"), &json!(0)),
            "{s}"
        );
        // The check's own note (the quorum arithmetic) comes first.
        let notes = s["notes"].as_array().unwrap();
        let said = |n: &serde_json::Value| n.as_str().unwrap().starts_with("already done");
        assert!(notes.iter().any(said), "{s}");
    }
    for id in ["reset/cp-1", "join-control-plane/cp-1", "cleanup", "verify"] {
        assert_eq!(step(&v, id)["attempts"], 1, "{id}");
    }
    let count = |host: &str, what: &str| {
        let c = site.commands(host);
        c.iter().filter(|c| c.contains(what)).count()
    };
    assert_eq!(count("cp-2", " snapshot save "), 1, "one snapshot");
    assert_eq!(count("cp-2", " member remove "), 1, "one removal");
    assert_eq!(count("cp-2", " delete node "), 1);
    assert_eq!(count("cp-1", "kubeadm join"), 1);
    assert_eq!(site.snapshots().len(), 1);
    assert_no_secret_in(&text);
    assert_no_secret_in(&site.audit());
}

/// The join tokens in the cluster described as the replacement's mark.
fn marked(site: &Site) -> usize {
    let encoded = wizard_ssh_fleet::base64("hatui-replacing-cp-1").to_string();
    let objects = std::fs::read_dir(site.state.join("objects")).unwrap();
    let texts = objects.map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap());
    texts
        .filter(|t| t.contains(&format!("\"description\":{encoded}")))
        .count()
}

#[test]
fn killed_after_the_join_the_rerun_without_force_finishes_the_replacement() {
    let site = dead_site();
    // The cleanup never completes: the run is killed during it, the join done.
    site.set("hold", "cleanup", "3");
    let _slot = run_slot();
    let mut child = site.replace_start("cp-1", &["--yes", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let cleanup = |c: &String| c.contains("delete secret kubeadm-certs");
    while !site.commands("cp-2").iter().any(cleanup) {
        assert!(Instant::now() < deadline, "the cleanup never started");
        if let Some(s) = child.try_wait().unwrap() {
            panic!("hatui ended before the cleanup: {s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(site.state.join("hold/cleanup")).unwrap();
    // The replacement answers and is Ready: without the mark, "not dead".
    assert!(site.state.join("objects/certs.json").exists());
    assert_eq!(marked(&site), 1, "the join token carries the mark");

    let out = site.replace_run("cp-1", &["--yes", "--json"]);
    let (v, text) = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_eq!(v["verified"], true, "{text}");
    for id in &PLAN[..5] {
        let s = step(&v, id);
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&json!("ok"), &json!(0)),
            "{s}"
        );
    }
    let join = step(&v, "join-control-plane/cp-1");
    assert_eq!(
        (&join["status"], &join["attempts"]),
        (&json!("ok"), &json!(0)),
        "{join}"
    );
    for id in ["upload-certs", "token-create", "cleanup", "verify"] {
        assert_eq!(step(&v, id)["attempts"], 1, "{id}");
    }
    let count = |host: &str, what: &str| {
        let c = site.commands(host);
        c.iter().filter(|c| c.contains(what)).count()
    };
    assert_eq!(count("cp-1", "kubeadm join"), 1, "joined once");
    assert_eq!(
        count("cp-1", "kubeadm reset"),
        1,
        "the new master is not reset"
    );
    assert_eq!(count("cp-2", " member remove "), 1);
    assert!(!site.state.join("objects/certs.json").exists());
    assert_eq!(marked(&site), 0, "no mark left");
    assert_no_secret_in(&text);
    assert_no_secret_in(&site.audit());

    // Finished: cp-1 is a healthy master nobody replaces, refused again.
    let out = site.replace_run("cp-1", &["--yes"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cp-1 is not dead"), "{err}");
    assert!(
        err.contains("If an earlier --replace cp-1 ran its cleanup, cp-1 is replaced"),
        "{err}"
    );
}
