//! The `--etcd-*` flags as an operator uses them: `hatui status --lab` with a real etcd
//! cluster answering for the lab's, and the errors for files that are wrong.

use crate::support;

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::etcd_cluster::EtcdCluster;

fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .output()
        .expect("hatui runs")
}

#[test]
fn status_shows_the_real_etcd_instead_of_the_lab_one() {
    let cluster = EtcdCluster::start(3);
    cluster.wait_all_answer(Duration::from_secs(30));
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let endpoints = cluster.endpoints().join(",");
    let c = &cluster.certs;
    let out = hatui(&[
        "status",
        "--lab",
        "--json",
        "--seed",
        "7",
        "--etcd-endpoints",
        &endpoints,
        "--etcd-cacert",
        c.ca.to_str().unwrap(),
        "--etcd-cert",
        c.client_cert.to_str().unwrap(),
        "--etcd-key",
        c.client_key.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "lab", "still the lab for everything else");
    let members = v["etcd"]["members"].as_array().unwrap();
    let mut names: Vec<_> = members
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut real: Vec<_> = cluster.members.iter().map(|m| m.name.clone()).collect();
    real.sort();
    assert_eq!(
        names, real,
        "members come from etcd, not from the lab's cp-N"
    );
    assert_eq!(v["etcd"]["leader"], leader.as_str());
    assert_eq!(v["etcd"]["quorum"]["healthy"], 3);
    // The real members have no lab node of their name: an expert calls them stale.
    assert_eq!(v["nodes"][0]["name"], "cp-1");
    let warnings = v["etcd"]["warnings"].as_array().unwrap();
    let stale = warnings
        .iter()
        .filter(|w| w.as_str().unwrap().contains("etcdctl member remove"))
        .count();
    assert_eq!(stale, 3, "{warnings:?}");
}

#[test]
fn a_wrong_ca_file_is_named_before_anything_starts() {
    let out = hatui(&[
        "status",
        "--lab",
        "--etcd-endpoints",
        "https://127.0.0.1:2",
        "--etcd-cacert",
        "/nonexistent/etcd/ca.crt",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/etcd/ca.crt"), "{err}");
}

#[test]
fn https_endpoints_without_a_ca_say_which_flag_to_add() {
    let out = hatui(&["lab", "--etcd-endpoints", "https://127.0.0.1:2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--etcd-cacert"), "{err}");
}
