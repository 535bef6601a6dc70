//! `hatui etcd snapshot` against a real 3-member TLS etcd cluster on loopback: the
//! snapshot of a cluster with keys written restores with `etcdctl snapshot restore`
//! (etcd 3.4's) into a single etcd that serves those keys; a snapshot with bytes flipped
//! is refused by hatui's integrity check. The other ways in: `--inventory` (its masters
//! over SSH, a real sshd) and `--lab --real-etcd` (the lab's real members, started for the
//! snapshot and stopped after it).

use hatui_testkit::etcd_cluster;
use hatui_testkit::sshd;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use etcd_cluster::{EtcdCluster, etcd_bin, etcdctl_bin, free_ports};
use serde_json::Value;

const HATUI: &str = env!("CARGO_BIN_EXE_hatui");

fn hatui(args: &[&str]) -> Output {
    Command::new(HATUI)
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("hatui runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `etcdctl` (API v3) with the cluster's client certificate, or plain for `http://`.
fn etcdctl(cluster: Option<&EtcdCluster>, endpoints: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(etcdctl_bin());
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg("--command-timeout=5s");
    if let Some(c) = cluster {
        let s = |p: &Path| p.display().to_string();
        cmd.arg(format!("--cacert={}", s(&c.certs.ca)))
            .arg(format!("--cert={}", s(&c.certs.client_cert)))
            .arg(format!("--key={}", s(&c.certs.client_key)));
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .expect("etcdctl runs")
}

fn tls_flags(c: &EtcdCluster) -> Vec<String> {
    vec![
        "--etcd-endpoints".into(),
        c.endpoints().join(","),
        "--etcd-cacert".into(),
        c.certs.ca.display().to_string(),
        "--etcd-cert".into(),
        c.certs.client_cert.display().to_string(),
        "--etcd-key".into(),
        c.certs.client_key.display().to_string(),
    ]
}

/// A single etcd started from a restored data directory, SIGKILLed on drop.
struct Restored {
    child: Child,
    client_url: String,
}

impl Drop for Restored {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `etcdctl snapshot restore` as the disaster-recovery doc gives it, for one member.
fn restore(snapshot: &Path, dir: &Path) -> Restored {
    let ports = free_ports(2);
    let client_url = format!("http://127.0.0.1:{}", ports[0]);
    let peer_url = format!("http://127.0.0.1:{}", ports[1]);
    let data_dir = dir.join("restored.etcd");
    let out = etcdctl(
        None,
        &client_url,
        &[
            "snapshot",
            "restore",
            &snapshot.display().to_string(),
            "--name=r0",
            &format!("--initial-cluster=r0={peer_url}"),
            "--initial-cluster-token=hatui-restored",
            &format!("--initial-advertise-peer-urls={peer_url}"),
            &format!("--data-dir={}", data_dir.display()),
        ],
    );
    assert!(
        out.status.success(),
        "etcdctl snapshot restore: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let log = dir.join("restored.log");
    let child = Command::new(etcd_bin())
        .args([
            "--name=r0".to_string(),
            format!("--data-dir={}", data_dir.display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            "--logger=zap".into(),
            format!("--log-outputs={}", log.display()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the restored etcd");
    Restored { child, client_url }
}

/// `etcdctl get KEY --print-value-only`, retried while the restored etcd starts.
fn get(restored: &Restored, key: &str) -> String {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let out = etcdctl(
            None,
            &restored.client_url,
            &["get", key, "--print-value-only"],
        );
        if out.status.success() {
            return text(&out.stdout).trim().to_string();
        }
        assert!(
            Instant::now() < end,
            "the restored etcd never answered: {}",
            text(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn a_snapshot_restores_into_an_etcd_that_serves_its_keys_and_a_flipped_one_is_refused() {
    let cluster = EtcdCluster::start(3);
    let endpoints = cluster.endpoints().join(",");
    let keys: Vec<(String, String)> = (0..20)
        .map(|i| {
            (
                format!("/hatui/key-{i}"),
                format!("value-{i}-{}", "x".repeat(i * 10)),
            )
        })
        .collect();
    for (k, v) in &keys {
        let out = etcdctl(Some(&cluster), &endpoints, &["put", k, v]);
        assert!(out.status.success(), "etcdctl put: {}", text(&out.stderr));
    }

    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("backups");
    std::fs::create_dir(&dir).unwrap();
    let dir_s = dir.display().to_string();
    let mut args: Vec<String> = vec!["etcd".into(), "snapshot".into(), "--to".into(), dir_s];
    args.extend(tls_flags(&cluster));
    args.push("--json".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = hatui(&args);
    assert!(
        out.status.success(),
        "hatui etcd snapshot: {}",
        text(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress off a terminal: {}",
        text(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let path = PathBuf::from(json["path"].as_str().unwrap());
    assert_eq!(
        files_in(&dir),
        std::slice::from_ref(&path),
        "only the snapshot, no temp file"
    );
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("etcd-snapshot-127.0.0.1-") && name.ends_with("Z.db"),
        "{name}"
    );
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(json["bytes"].as_u64(), Some(meta.len()));
    assert!(
        json["revision"].as_i64().unwrap() >= keys.len() as i64,
        "{json}"
    );
    let member = json["member"].as_str().unwrap();
    assert!(["m0", "m1", "m2"].contains(&member), "{json}");
    let endpoint = json["endpoint"].as_str().unwrap();
    assert!(cluster.endpoints().iter().any(|e| e == endpoint), "{json}");
    let sha = json["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64, "{json}");
    let checked = hatui::etcd::verify_snapshot(&path).unwrap();
    assert_eq!((checked.bytes, checked.sha256.as_str()), (meta.len(), sha));

    // The text form: one line naming path, size, revision and member; --to FILE.
    let file = work.path().join("named.db");
    let mut args: Vec<String> = vec!["etcd".into(), "snapshot".into(), "--to".into()];
    args.push(file.display().to_string());
    args.extend(tls_flags(&cluster));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = hatui(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with(&format!("snapshot saved to {}: ", file.display()))
            && line.contains(" bytes), revision ")
            && line.contains("from member m"),
        "{line}"
    );

    // etcd's own restore takes it, and a single etcd started from it has the keys.
    let restored = restore(&path, work.path());
    for (k, v) in &keys {
        assert_eq!(&get(&restored, k), v, "{k}");
    }
    drop(restored);

    // Bytes flipped in the middle of a copy: refused by the check and by --verify.
    let flipped = work.path().join("flipped.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8] {
        *b ^= 0x5a;
    }
    std::fs::write(&flipped, &bytes).unwrap();
    let e = hatui::etcd::verify_snapshot(&flipped)
        .unwrap_err()
        .to_string();
    assert!(e.contains("corrupt") && e.contains("flipped.db"), "{e}");
    let out = hatui(&[
        "etcd",
        "snapshot",
        "--verify",
        &flipped.display().to_string(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = hatui(&["etcd", "snapshot", "--verify", &path.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("SHA-256 intact"));
}

#[test]
fn no_member_answering_is_a_plain_error_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let cluster_free_port = free_ports(1)[0];
    let url = format!("http://127.0.0.1:{cluster_free_port}");
    let d = dir.path().display().to_string();
    let out = hatui(&["etcd", "snapshot", "--to", &d, "--etcd-endpoints", &url]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: no healthy etcd member") && err.contains(&url),
        "{err}"
    );
    assert!(files_in(dir.path()).is_empty());
    let out = hatui(&["etcd", "snapshot", "--to", "/nonexistent-hatui/x.db"]);
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: --to /nonexistent-hatui/x.db: no such directory"),
        "{err}"
    );
}

/// The lab's real members come up for the snapshot and are gone after it: their private
/// directory (under `TMPDIR`) removed, no process left running from it.
#[test]
fn the_labs_real_etcd_members_are_started_snapshotted_restored_and_stopped() {
    let work = tempfile::tempdir().unwrap();
    let tmp = work.path().join("tmp");
    let dir = work.path().join("backups");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(HATUI)
        .args(["etcd", "snapshot", "--lab", "--real-etcd", "--json", "--to"])
        .arg(&dir)
        .env("TMPDIR", &tmp)
        .env_remove("KUBECONFIG")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("hatui runs");
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("starting the lab's 3 real etcd members")
            && err.contains("real etcd members are stopped"),
        "{err}"
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let path = PathBuf::from(json["path"].as_str().unwrap());
    assert_eq!(files_in(&dir), std::slice::from_ref(&path));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("etcd-snapshot-lab-"), "{name}");
    assert!(
        ["cp-1", "cp-2", "cp-3"].contains(&json["member"].as_str().unwrap()),
        "{json}"
    );
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    hatui::etcd::verify_snapshot(&path).unwrap();
    assert!(files_in(&tmp).is_empty(), "{:?}", files_in(&tmp));
    let tmp_s = tmp.display().to_string();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&tmp_s))
        .collect();
    assert!(left.is_empty(), "still running: {left:?}");

    // etcd's own restore takes it: a single etcd runs from it and answers.
    let restored = restore(&path, work.path());
    assert_eq!(get(&restored, "/nothing-written"), "");
}

#[test]
fn the_simulated_lab_has_no_database_to_snapshot() {
    let out = hatui(&["etcd", "snapshot", "--lab"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: the lab's etcd is simulated") && err.contains("--real-etcd"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `--inventory` alone says where etcd is: its masters over SSH (a real sshd), the
/// certificates read there; the file is named after the inventory's cluster.
#[test]
fn the_inventorys_masters_are_the_way_in_and_name_the_file() {
    let master = sshd::Sshd::start();
    let cluster = EtcdCluster::start(3);
    let pki = master.dir.join("pki-etcd");
    cluster.write_kubeadm_pki(&pki);
    let port = cluster.client_port(0);
    let inventory = master.dir.join("hatui.toml");
    std::fs::write(
        &inventory,
        format!(
            "name = \"prod-eu\"\nendpoint = \"k8s-api.example.internal:6443\"\n\n\
             [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\n\n\
             [[hosts]]\nname = \"cp-1\"\naddress = \"127.0.0.1\"\nrole = \"control-plane\"\n\
             port = {}\n",
            master.ed25519_key.display(),
            master.known_hosts.display(),
            master.port
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(HATUI)
        .args(["--inventory"])
        .arg(&inventory)
        .args(["etcd", "snapshot", "--json", "--to"])
        .arg(dir.path())
        .args([
            "--etcd-pki-dir",
            pki.to_str().unwrap(),
            "--etcd-port",
            &port,
        ])
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("KUBECONFIG")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("hatui runs");
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "{err}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        json["endpoint"],
        format!("https://127.0.0.1:{port}"),
        "{json}"
    );
    assert_eq!(json["member"], cluster.members[0].name, "{json}");
    let path = PathBuf::from(json["path"].as_str().unwrap());
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("etcd-snapshot-prod-eu-"), "{name}");
    let checked = hatui::etcd::verify_snapshot(&path).unwrap();
    assert_eq!(json["bytes"].as_u64(), Some(checked.bytes));
    let log = std::fs::read_to_string(&master.log).unwrap();
    assert!(log.contains("Accepted publickey for root"), "{log}");
}
