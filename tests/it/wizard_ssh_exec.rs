//! The wizard's SSH executor against real `sshd`s on loopback: the exact commands each
//! host received, output streamed as it comes, a non-zero exit with its stderr, a timeout,
//! sudo asking for a password, and the audit log without a secret. What cannot run here
//! (kubeadm, a sudo that wants a password) are test doubles on the hosts' PATH.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hatui::fleet::SshOverrides;
use hatui::fleet::audit::Audit;
use hatui::fleet::inventory;
use hatui::wizard::exec::{Executor, RunEvent, SshExecutor};
use support::sshd::{Fleet, Sshd, fleet, need_sshd};

const TOKEN: &str = "abcdef.0123456789abcdef";

fn double(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

struct Hosts {
    _sshds: Vec<Sshd>,
    dir: tempfile::TempDir,
    inventory: inventory::Inventory,
}

/// cp-1 and worker-1, each its own sshd with its own doubles: `kubeadm` records its
/// arguments and prints a line, waits, prints another; with `sudo`, worker-1's sudo wants a
/// password.
fn hosts(sudo: bool) -> Hosts {
    need_sshd();
    let dir = tempfile::tempdir().unwrap();
    let mut hosts = Vec::new();
    for (name, addr, role) in [
        ("cp-1", "127.0.0.41", "control-plane"),
        ("worker-1", "127.0.0.42", "worker"),
    ] {
        let bin = dir.path().join(name);
        std::fs::create_dir_all(&bin).unwrap();
        let log = dir.path().join(format!("{name}.log"));
        double(
            &bin,
            "kubeadm",
            &format!(
                "echo \"kubeadm $*\" >> {}\necho '[preflight] Running pre-flight checks'\nsleep 1\necho 'done'",
                log.display()
            ),
        );
        if name == "worker-1" {
            double(
                &bin,
                "sudo",
                "echo 'sudo: a password is required' >&2\nexit 1",
            );
        }
        hosts.push((name, addr, role, bin));
    }
    let hosts: Vec<(&str, &str, &str, &Path)> = hosts
        .iter()
        .map(|(n, a, r, b)| (*n, *a, *r, b.as_path()))
        .collect();
    let Fleet {
        sshds,
        known_hosts,
        key,
        hosts_toml,
    } = fleet(dir.path(), &hosts);
    let text = format!(
        "name = \"t\"\nendpoint = \"k8s-api.example.internal:6443\"\nload_balancer = \"nlb\"\n\
         pod_cidr = \"192.168.0.0/16\"\nservice_cidr = \"10.96.0.0/12\"\n\
         [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\nsudo = {sudo}\n{hosts_toml}",
        key.display(),
        known_hosts.display()
    );
    let inventory = inventory::parse("hatui.toml", &text).unwrap();
    Hosts {
        _sshds: sshds,
        dir,
        inventory,
    }
}

/// Every event of run `id` until it exits; the time each arrived.
fn events(ex: &mut SshExecutor, id: usize) -> Vec<(Instant, RunEvent)> {
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        for e in ex.wait(Duration::from_millis(100)) {
            let exited = matches!(e, RunEvent::Exited(r, _) if r == id);
            got.push((Instant::now(), e));
            if exited {
                return got;
            }
        }
    }
    panic!("run {id} never exited: {got:?}");
}

fn lines(got: &[(Instant, RunEvent)]) -> Vec<String> {
    got.iter()
        .filter_map(|(_, e)| match e {
            RunEvent::Line(_, l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

fn exit(got: &[(Instant, RunEvent)]) -> i32 {
    match got.last() {
        Some((_, RunEvent::Exited(_, code))) => *code,
        other => panic!("no exit: {other:?}"),
    }
}

#[test]
fn commands_run_on_their_hosts_streamed_with_exit_codes_timeouts_and_an_audit_log() {
    let h = hosts(false);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let audit = h.dir.path().join("audit.log");
    let mut ex = SshExecutor::new(
        &h.inventory,
        &SshOverrides::default(),
        Audit::at(&audit),
        rt.handle().clone(),
    )
    .with_timeout(Duration::from_secs(3));

    // The exact command reaches its host, its first line before its end.
    let join = format!(
        "kubeadm join k8s-api.example.internal:6443 --token {TOKEN} --discovery-token-ca-cert-hash sha256:{}",
        "a".repeat(64)
    );
    let id = ex.start("worker-1", &join);
    let got = events(&mut ex, id);
    assert_eq!(
        lines(&got),
        ["[preflight] Running pre-flight checks", "done"]
    );
    assert_eq!(exit(&got), 0);
    let first = got[0].0;
    let end = got.last().unwrap().0;
    assert!(
        end.duration_since(first) >= Duration::from_millis(800),
        "streamed, not at the end"
    );
    let recorded = std::fs::read_to_string(h.dir.path().join("worker-1.log")).unwrap();
    assert_eq!(recorded, format!("{}\n", join));
    assert!(!h.dir.path().join("cp-1.log").exists(), "cp-1 ran nothing");

    // A failure: its stderr shown, its exit code kept.
    let id = ex.start("cp-1", "echo boom >&2; exit 3");
    let got = events(&mut ex, id);
    assert_eq!((lines(&got), exit(&got)), (vec!["boom".to_string()], 3));

    // Silence past the timeout.
    let id = ex.start("cp-1", "sleep 20");
    let got = events(&mut ex, id);
    assert_eq!(exit(&got), 124);
    assert!(
        lines(&got)[0].contains("no answer from cp-1 within 3 s"),
        "{got:?}"
    );

    // The audit log: every command, host, exit, never the token's secret; a line when it
    // starts (a command cut short by a killed hatui leaves one) and one when it ends.
    let log = std::fs::read_to_string(&audit).unwrap();
    let entries: Vec<&str> = log.lines().collect();
    assert_eq!(entries.len(), 6, "{log}");
    assert!(
        entries[0].contains("host=worker-1 started command=kubeadm join"),
        "{log}"
    );
    assert!(entries[1].contains("host=worker-1 exit=0"), "{log}");
    for e in &entries[..2] {
        assert!(e.contains("--token abcdef.<hidden>"), "{log}");
    }
    assert!(!log.contains("0123456789abcdef"), "{log}");
    assert!(
        entries[2].ends_with("host=cp-1 started command=echo boom >&2; exit 3"),
        "{log}"
    );
    assert!(entries[3].contains("host=cp-1 exit=3"), "{log}");
    assert!(
        entries[4].ends_with("host=cp-1 started command=sleep 20"),
        "{log}"
    );
    // hatui gave up: the host gave no exit code.
    assert!(entries[5].contains("host=cp-1 exit=none"), "{log}");

    // hatui killed while a command runs: its start is in the log, its end never comes.
    ex.start("cp-1", "sleep 7");
    let limit = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&audit)
        .unwrap()
        .ends_with(" host=cp-1 started command=sleep 7\n")
    {
        assert!(Instant::now() < limit, "no start line");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(ex);
    rt.shutdown_timeout(Duration::from_secs(1));
    let log = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(log.lines().count(), 7, "{log}");
}

#[test]
fn a_sudo_that_wants_a_password_is_reported_never_waited_on() {
    let h = hosts(true);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let audit = Audit::at(h.dir.path().join("audit.log"));
    let mut ex = SshExecutor::new(
        &h.inventory,
        &SshOverrides::default(),
        audit,
        rt.handle().clone(),
    );
    let id = ex.start("worker-1", "kubeadm reset -f");
    let got = events(&mut ex, id);
    assert_eq!(exit(&got), 1);
    let said = lines(&got).join("\n");
    assert!(
        said.contains("sudo on worker-1 asks for a password"),
        "{said}"
    );
    assert!(!h.dir.path().join("worker-1.log").exists(), "nothing ran");
    // Where sudo works (root), the command runs through it (sudo's own PATH: the double
    // by its full path).
    let kubeadm = h.dir.path().join("cp-1/kubeadm");
    let id = ex.start("cp-1", &format!("{} version", kubeadm.display()));
    let got = events(&mut ex, id);
    assert_eq!(exit(&got), 0, "{got:?}");
    let recorded = std::fs::read_to_string(h.dir.path().join("cp-1.log")).unwrap();
    assert_eq!(recorded, "kubeadm version\n");
}
