//! `--etcd-ssh` as an operator types it: the real binary reaches a real etcd through a real
//! sshd, reading kubeadm-named certificates on the "master" with `sudo -n cat`.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::etcd_cluster::EtcdCluster;
use support::sshd::Sshd;

#[test]
fn status_reads_etcd_through_an_ssh_tunnel() {
    let sshd = Sshd::start();
    let cluster = EtcdCluster::start(3);
    cluster.wait_all_answer(Duration::from_secs(30));
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    // The "master's" /etc/kubernetes/pki/etcd, with kubeadm's file names.
    let pki = sshd.dir.join("pki-etcd");
    std::fs::create_dir_all(&pki).unwrap();
    let c = &cluster.certs;
    for (from, to) in [
        (&c.ca, "ca.crt"),
        (&c.client_cert, "healthcheck-client.crt"),
        (&c.client_key, "healthcheck-client.key"),
    ] {
        std::fs::copy(from, pki.join(to)).unwrap();
    }
    let port = cluster.members[0]
        .client_url
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(["status", "--lab", "--json", "--seed", "3"])
        .args(["--etcd-ssh", &format!("root@127.0.0.1:{}", sshd.port)])
        .args(["--ssh-identity", sshd.ed25519_key.to_str().unwrap()])
        .args(["--ssh-known-hosts", sshd.known_hosts.to_str().unwrap()])
        .args([
            "--etcd-pki-dir",
            pki.to_str().unwrap(),
            "--etcd-port",
            &port,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let etcd = &v["etcd"];
    assert_eq!(etcd["members"].as_array().unwrap().len(), 3, "{etcd}");
    assert_eq!(etcd["leader"], leader.as_str(), "{etcd}");
    // The certificates travelled in memory only: nothing of the key in the output.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
}

#[test]
fn an_unknown_host_key_is_refused_with_the_fix() {
    let sshd = Sshd::start();
    let empty = sshd.dir.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args([
            "status",
            "--lab",
            "--etcd-ssh",
            &format!("root@127.0.0.1:{}", sshd.port),
        ])
        .args(["--ssh-identity", sshd.ed25519_key.to_str().unwrap()])
        .args(["--ssh-known-hosts", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ssh-keyscan"), "{err}");
}
