//! `--etcd-ssh` as an operator types it: the real binary reaches a real etcd through a real
//! sshd, reading kubeadm-named certificates on the "master" with `sudo -n cat`.

use crate::support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::etcd_cluster::EtcdCluster;
use support::sshd::Sshd;

/// A real 3-member etcd and the "master's" /etc/kubernetes/pki/etcd (kubeadm's file
/// names) in `sshd`'s directory: the cluster, its leader, that directory and the first
/// member's client port.
fn etcd_behind(sshd: &Sshd) -> (EtcdCluster, String, String, String) {
    let cluster = EtcdCluster::start(3);
    cluster.wait_all_answer(Duration::from_secs(30));
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let pki = sshd.dir.join("pki-etcd");
    cluster.write_kubeadm_pki(&pki);
    let port = cluster.client_port(0);
    let pki = pki.to_str().unwrap().to_string();
    (cluster, leader, pki, port)
}

/// `hatui status --lab --json` with `args` (no ssh-agent): the real etcd's three members
/// and its leader, not the lab's. Its stdout and stderr.
fn real_etcd_status(args: &[&str], leader: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(["status", "--lab", "--json", "--seed", "3"])
        .args(args)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{stderr}"));
    // Exit code: the health's (one member reached through one tunnel: the others count as down).
    let codes = ["ok", "degraded", "critical", "unknown"];
    let health = codes
        .iter()
        .position(|h| v["health"] == *h)
        .expect("a health");
    assert_eq!(out.status.code(), Some(health as i32), "{:#}", v["reasons"]);
    let etcd = &v["etcd"];
    assert_eq!(etcd["members"].as_array().unwrap().len(), 3, "{etcd}");
    assert_eq!(etcd["leader"], leader, "{etcd}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn status_reads_etcd_through_an_ssh_tunnel() {
    let sshd = Sshd::start();
    let (_cluster, leader, pki, port) = etcd_behind(&sshd);
    let etcd_ssh = format!("root@127.0.0.1:{}", sshd.port);
    let (stdout, stderr) = real_etcd_status(
        &[
            "--etcd-ssh",
            &etcd_ssh,
            "--ssh-identity",
            sshd.ed25519_key.to_str().unwrap(),
            "--ssh-known-hosts",
            sshd.known_hosts.to_str().unwrap(),
            "--etcd-pki-dir",
            &pki,
            "--etcd-port",
            &port,
        ],
        &leader,
    );
    // The certificates travelled in memory only: nothing of the key in the output.
    assert!(!stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
}

/// One file says how to reach the masters: `--inventory` alone (its user, port, key,
/// known_hosts and bastion), no SSH flag on the command line.
#[test]
fn status_reads_etcd_through_the_inventorys_master_and_bastion() {
    let master = Sshd::start();
    let jump = Sshd::start_on(
        "127.0.0.74",
        &[format!("PermitOpen 127.0.0.1:{}", master.port)],
    );
    let key = std::fs::read_to_string(master.ed25519_key.with_extension("pub")).unwrap();
    let accepted = jump.dir.join("authorized_keys");
    let before = std::fs::read_to_string(&accepted).unwrap();
    std::fs::write(&accepted, before + &key).unwrap();
    let (_cluster, leader, pki, port) = etcd_behind(&master);
    let known_hosts = master.dir.join("both_known_hosts");
    let line = |s: &Sshd| std::fs::read_to_string(&s.known_hosts).unwrap() + "\n";
    std::fs::write(&known_hosts, line(&jump) + &line(&master)).unwrap();
    let inventory = master.dir.join("hatui.toml");
    std::fs::write(
        &inventory,
        format!(
            "endpoint = \"k8s-api.example.internal:6443\"\n\n\
             [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\n\
             bastion = \"root@127.0.0.74:{}\"\n\n\
             [[hosts]]\nname = \"cp-1\"\naddress = \"127.0.0.1\"\nrole = \"control-plane\"\n\
             port = {}\n\n\
             [[hosts]]\nname = \"worker-1\"\naddress = \"127.0.0.76\"\nrole = \"worker\"\n",
            master.ed25519_key.display(),
            known_hosts.display(),
            jump.port,
            master.port
        ),
    )
    .unwrap();
    let inventory = inventory.to_str().unwrap();
    let args = [
        "--inventory",
        inventory,
        "--etcd-pki-dir",
        &pki,
        "--etcd-port",
        &port,
    ];
    real_etcd_status(&args, &leader);
    // Through the bastion, and only to the control plane (the worker has no etcd).
    let log = std::fs::read_to_string(&jump.log).unwrap();
    assert_eq!(
        log.matches("Accepted publickey for root").count(),
        1,
        "{log}"
    );
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

#[test]
fn a_snapshot_streams_through_the_ssh_tunnel() {
    let sshd = Sshd::start();
    let (cluster, _leader, pki, port) = etcd_behind(&sshd);
    let dir = tempfile::tempdir().unwrap();
    let etcd_ssh = format!("root@127.0.0.1:{}", sshd.port);
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(["etcd", "snapshot", "--json", "--to"])
        .arg(dir.path())
        .args([
            "--etcd-ssh",
            &etcd_ssh,
            "--etcd-pki-dir",
            &pki,
            "--etcd-port",
            &port,
        ])
        .arg("--ssh-identity")
        .arg(&sshd.ed25519_key)
        .arg("--ssh-known-hosts")
        .arg(&sshd.known_hosts)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The member is named by its own URL, not the tunnel's local end.
    assert_eq!(v["endpoint"], format!("https://127.0.0.1:{port}"), "{v}");
    assert_eq!(v["member"], cluster.members[0].name, "{v}");
    let path = std::path::PathBuf::from(v["path"].as_str().unwrap());
    assert!(path.starts_with(dir.path()), "{v}");
    let checked = hatui::etcd::verify_snapshot(&path).unwrap();
    assert_eq!(v["bytes"].as_u64(), Some(checked.bytes));
    assert!(!stderr.contains("PRIVATE KEY"));
}
