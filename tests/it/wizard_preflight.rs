//! Preflight over SSH with the real binary against real `sshd`s, one per host on its own
//! loopback address. What cannot run here (kubeadm, kubelet, crictl, systemctl, ...) are
//! test doubles on each host's PATH (sshd's `SetEnv`), answering as a prepared host does;
//! one worker has swap on, one host is down. Each facts script is in the audit log.

use crate::support;

use std::process::Command;

use serde_json::Value;
use support::host_doubles::{path_line, prepared_host as host_doubles};
use support::sshd::{Sshd, known_hosts_of, need_sshd, one_client_key};

#[test]
fn preflight_checks_every_host_over_ssh_and_names_each_failure_with_its_fix() {
    need_sshd();
    let dir = std::env::temp_dir().join(format!("hatui-preflight-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let hosts = [
        ("cp-1", "127.0.0.31", "control-plane", false),
        ("cp-2", "127.0.0.32", "control-plane", false),
        ("worker-1", "127.0.0.33", "worker", true),
    ];
    let sshds: Vec<Sshd> = hosts
        .iter()
        .enumerate()
        .map(|(i, (name, addr, _, swap))| {
            let bin = host_doubles(&dir, name, &format!("uuid-{i}"), *swap);
            let path = path_line(&bin);
            Sshd::start_on(addr, &[path])
        })
        .collect();
    let known_hosts = known_hosts_of(&dir, &sshds);
    let mut inv = format!(
        "name = \"t\"\nendpoint = \"k8s-api.example.internal:6443\"\nload_balancer = \"nlb\"\n\
         pod_cidr = \"192.168.0.0/16\"\nservice_cidr = \"10.96.0.0/12\"\n\
         [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\n",
        sshds[0].ed25519_key.display(),
        known_hosts.display()
    );
    for ((name, addr, role, _), s) in hosts.iter().zip(&sshds) {
        inv.push_str(&format!(
            "\n[[hosts]]\nname = \"{name}\"\naddress = \"{addr}\"\nrole = \"{role}\"\nport = {}\n",
            s.port
        ));
    }
    // A fourth host whose machine is off: nothing listens there.
    inv.push_str(
        "\n[[hosts]]\nname = \"worker-2\"\naddress = \"127.0.0.34\"\nrole = \"worker\"\nport = 1\n",
    );
    let inv_path = dir.join("hatui.toml");
    std::fs::write(&inv_path, inv).unwrap();
    // The identity in the inventory is the first host's client key: every sshd accepts it.
    one_client_key(&sshds);

    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(["wizard", "--inventory"])
        .arg(&inv_path)
        .args(["--preflight", "--json"])
        .env_remove("RUST_BACKTRACE")
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a check failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let reports = v.as_array().unwrap();
    let names: Vec<&str> = reports
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cp-1", "cp-2", "worker-1", "worker-2"]);
    let failed = |r: &Value| -> Vec<String> {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    for r in &reports[..2] {
        assert_eq!(r["reachable"], true, "{r}");
        assert_eq!(failed(r), Vec::<String>::new(), "{r:#}");
        let checks: Vec<&str> = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        for name in [
            "Swap",
            "Port-6443",
            "Port-2379",
            "Port-2380",
            "Port-10250",
            "Port-10257",
            "Port-10259",
            "FileContent--proc-sys-net-ipv4-ip_forward",
            "CRI",
            "Hostname",
            "NumCPU",
            "Mem",
            "Binary-kubeadm",
            "Binary-kubelet",
            "Binary-kubectl",
            "Versions-match",
            "Service-Kubelet",
            "Module-br_netfilter",
            "Module-overlay",
            "Cgroup-driver",
            "Unique-hostname",
            "Unique-product_uuid",
            "Clock-sync",
            "Endpoint-resolves",
        ] {
            assert!(checks.contains(&name), "{name} missing: {checks:?}");
        }
    }
    let worker = &reports[2];
    assert_eq!(failed(worker), ["Swap"], "{worker:#}");
    let swap = worker["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Swap")
        .unwrap();
    assert!(
        swap["fix"].as_str().unwrap().starts_with("swapoff -a"),
        "{swap}"
    );
    assert!(
        !worker["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Port-6443"),
        "a worker's apiserver port is not checked"
    );
    let down = &reports[3];
    assert_eq!(down["reachable"], false);
    assert!(
        down["error"].as_str().unwrap().contains("127.0.0.34"),
        "{down}"
    );

    // The audit log: each host's facts script as it starts and as it ends; the host that
    // is down has no exit code.
    let audit = std::fs::read_to_string(dir.join("state/hatui/audit-t.log")).unwrap();
    assert_eq!(audit.lines().count(), 8, "{audit}");
    for (name, exit) in [
        ("cp-1", "0"),
        ("cp-2", "0"),
        ("worker-1", "0"),
        ("worker-2", "none"),
    ] {
        for said in [
            format!("host={name} started command=sh -c "),
            format!("host={name} exit={exit} duration="),
        ] {
            let line = audit
                .lines()
                .find(|l| l.contains(&said))
                .unwrap_or_else(|| panic!("no {said:?}: {audit}"));
            assert!(line.contains(" hatui-preflight "), "{line}");
        }
    }

    // The text form says the same, with the fix under the failure.
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(["wizard", "--inventory"])
        .arg(&inv_path)
        .arg("--preflight")
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("worker-1 (127.0.0.33): 16 of 17 checks passed"),
        "{text}"
    );
    assert!(
        text.contains("  [FAIL Swap]: 1 swap device(s) on"),
        "{text}"
    );
    assert!(text.contains("      fix: swapoff -a"), "{text}");
    assert!(
        text.contains("worker-2 (127.0.0.34): UNREACHABLE"),
        "{text}"
    );
    assert!(
        text.ends_with("preflight failed on 2 of 4 host(s)\n"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_host_is_refused_with_the_keyscan_line_unless_new_keys_are_accepted() {
    need_sshd();
    let dir = std::env::temp_dir().join(format!("hatui-preflight-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = host_doubles(&dir, "cp-1", "uuid-0", false);
    let path = path_line(&bin);
    let mut sshd = Sshd::start_on("127.0.0.35", &[path]);
    let known_hosts = dir.join("known_hosts");
    let inv_path = dir.join("hatui.toml");
    std::fs::write(
        &inv_path,
        format!(
            "name = \"t\"\nendpoint = \"k8s-api.example.internal:6443\"\nload_balancer = \"nlb\"\n\
             pod_cidr = \"192.168.0.0/16\"\nservice_cidr = \"10.96.0.0/12\"\n\
             [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\n\n\
             [[hosts]]\nname = \"cp-1\"\naddress = \"127.0.0.35\"\nrole = \"control-plane\"\nport = {}\n",
            sshd.ed25519_key.display(),
            known_hosts.display(),
            sshd.port
        ),
    )
    .unwrap();
    let preflight = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
            .args(["wizard", "--inventory"])
            .arg(&inv_path)
            .args(["--preflight", "--json"])
            .args(extra)
            .env("XDG_STATE_HOME", dir.join("state"))
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v[0].clone())
    };

    let (code, host) = preflight(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(host["reachable"], false);
    let error = host["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "ssh-keyscan -p {} 127.0.0.35 >> {}",
            sshd.port,
            known_hosts.display()
        )),
        "{error}"
    );
    assert!(!known_hosts.exists(), "nothing recorded without the flag");

    let (code, host) = preflight(&["--accept-new-host-keys"]);
    assert_eq!(code, Some(0), "{host:#}");
    let recorded = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(
        recorded.starts_with(&format!("[127.0.0.35]:{} ssh-", sshd.port)),
        "{recorded}"
    );
    assert_eq!(preflight(&[]).0, Some(0), "known from now on");

    // Reinstalled: a changed key is refused even with the flag, naming file and line.
    sshd.replace_host_keys();
    sshd.restart();
    let (code, host) = preflight(&["--accept-new-host-keys"]);
    assert_eq!(code, Some(1));
    let error = host["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("{}:1", known_hosts.display())),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
