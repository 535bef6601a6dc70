//! Day 2 over SSH with the real binary: `hatui wizard --inventory FILE --replace NODE
//! --yes [--json] [--force]` and `--dry-run`, on the fleet of `wizard_ssh_fleet/` (real
//! sshds on 127.0.0.61-65, doubles for kubeadm, kubectl and etcdctl sharing the cluster's
//! state), the cluster built and cp-1 dead, a fresh machine at its address.

use crate::wizard_ssh_fleet;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::wizard_json::step_ids;
use serde_json::json;
use wizard_ssh_fleet::*;

const KUBECTL: &str = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
const SNAPSHOT: &str = "/var/lib/etcd/hatui-before-replace-cp-1.db";
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

fn etcdctl(on: &str, args: &str) -> String {
    format!(
        "{KUBECTL} -n kube-system exec etcd-{on} -- etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key {args}"
    )
}

/// The replacement's join, with the material `upload-certs` and `token create` printed.
fn new_join() -> String {
    join("cp-1", true)
        .replace(TOKEN, NEW_TOKEN)
        .replace(KEY, NEW_KEY)
}

fn dead_site() -> Site {
    let site = Site::new();
    site.built_with_dead("cp-1");
    site
}

#[test]
fn a_dead_master_is_replaced_each_host_receiving_its_commands_in_order_the_snapshot_on_the_bastion()
{
    let site = dead_site();
    let _slot = run_slot();
    let out = site.replace_run("cp-1", &["--yes", "--json"]);
    let (v, text) = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_eq!(v["verified"], true, "{text}");
    assert_eq!(step_ids(&v), PLAN);
    for s in v["plan"].as_array().unwrap() {
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&json!("ok"), &json!(1)),
            "{s}"
        );
    }

    // Through cp-2, the first master whose member answers; the replacement on cp-1.
    let mut cp2 = vec![
        etcdctl("cp-2", "member list -w table"),
        etcdctl("cp-2", &format!("snapshot save {SNAPSHOT}")),
        format!("cat {SNAPSHOT}"),
        etcdctl("cp-2", "member list"),
        etcdctl("cp-2", &format!("member remove {:x}", member_id(0))),
        format!("{KUBECTL} delete node cp-1 --ignore-not-found"),
        "kubeadm init phase upload-certs --upload-certs".into(),
        "kubeadm token create --print-join-command --description hatui-replacing-cp-1".into(),
        format!("{KUBECTL} -n kube-system delete secret kubeadm-certs --ignore-not-found"),
        format!("kubeadm token delete {NEW_TOKEN}"),
        format!("{KUBECTL} get nodes -o wide"),
        etcdctl("cp-2", "member list -w table"),
        format!("{KUBECTL} -n kube-system get lease kube-scheduler kube-controller-manager"),
        format!("{KUBECTL} get --raw /readyz"),
    ];
    for (_, addr, master) in HOSTS {
        if master {
            cp2.push(format!("curl -fsSk https://{addr}:6443/readyz"));
        }
    }
    assert_eq!(site.commands("cp-2"), cp2);
    assert_eq!(
        site.commands("cp-1"),
        ["kubeadm reset -f".to_string(), new_join()]
    );
    for host in ["cp-3", "worker-1", "worker-2"] {
        assert_eq!(site.commands(host), Vec::<String>::new(), "{host}");
    }

    // etcd's member list: the new cp-1 a voter, the old member gone; kubeadm-certs gone.
    let members = v["status"]["etcd"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(
        members
            .iter()
            .all(|m| m["reachable"] == true && m["is_learner"] == false)
    );
    assert!(!site.state.join("objects/certs.json").exists());
    let removed = step(&v, "remove-member/cp-1")["output_tail"].to_string();
    assert!(
        removed.contains(&format!(
            "Member {:x} removed from cluster cdf818194e3a8c32",
            member_id(0)
        )),
        "{removed}"
    );

    // The snapshot: on the bastion, mode 0600, the bytes the master saved, checked.
    let snaps = site.snapshots();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    let name = snaps[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("etcd-snapshot-t-before-replace-cp-1-"),
        "{name}"
    );
    let saved = std::fs::read(site.state.join("prepared/snapshot.db")).unwrap();
    assert_eq!(std::fs::read(&snaps[0]).unwrap(), saved);
    let mode = std::fs::metadata(&snaps[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let said = step(&v, "snapshot")["output_tail"].to_string();
    assert!(
        said.contains(&format!("snapshot on the bastion: {}", snaps[0].display())),
        "{said}"
    );

    // Audited from start to end, the copy included; nothing secret anywhere.
    let audit = site.audit();
    for c in [format!("cat {SNAPSHOT}"), "kubeadm reset -f".into()] {
        let lines: Vec<&str> = audit.lines().filter(|l| l.contains(&c)).collect();
        assert!(
            lines.iter().any(|l| l.contains(" started command=")),
            "{c}: {audit}"
        );
    }
    let ended = audit.lines().filter(|l| l.contains(" exit=")).count();
    let started = audit
        .lines()
        .filter(|l| l.contains(" started command="))
        .count();
    assert_eq!(ended, started, "every command has its end line: {audit}");
    assert_no_secret_in(&text);
    assert_no_secret_in(&err);
    assert_no_secret_in(&audit);
}

#[test]
fn the_old_host_that_does_not_answer_is_said_and_skipped_and_the_replacement_goes_on() {
    let site = dead_site();
    // The old cp-1 was at 127.0.0.66, where nothing listens now.
    site.previous_address("cp-1", "127.0.0.66");
    // The new machine has no kubectl: the looks pass it over for cp-2.
    site.set("no-kubectl", "cp-1", "");
    let _slot = run_slot();
    let out = site.replace_run("cp-1", &["--yes"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let reset = text
        .lines()
        .skip_while(|l| !l.contains("reset/cp-1"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(reset.starts_with("ok "), "{reset}");
    assert!(reset.contains("(cp-1@127.0.0.66)"), "{reset}");
    assert!(
        reset.contains("skipped: cp-1@127.0.0.66 did not answer over SSH"),
        "{reset}"
    );
    assert!(text.contains("verified: "), "{text}");
    // The NLB's targets are the operator's: said before anything runs.
    assert!(
        text.lines().nth(1).unwrap().starts_with(
            "warning: nlb checklist: register 127.0.0.61:6443 in the target group and deregister 127.0.0.66:6443"
        ),
        "{text}"
    );
    // No reset on the new machine: it is not the old one.
    assert_eq!(site.commands("cp-1"), [new_join()]);
    // The snapshot's place is said under its step.
    let snaps = site.snapshots();
    assert!(
        text.contains(&format!("snapshot on the bastion: {}", snaps[0].display())),
        "{text}"
    );
    // The attempt is in the audit log, with no exit code.
    let audit = site.audit();
    let tried: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("host=cp-1@127.0.0.66 "))
        .collect();
    assert_eq!(tried.len(), 2, "{audit}");
    assert!(tried[1].contains(" exit=none "), "{audit}");
}

#[test]
fn a_master_that_is_not_dead_is_refused_with_exit_2_saying_what_was_seen_unless_forced() {
    let site = dead_site();
    // Its member answers; its kubelet does not.
    site.member_answers("cp-1");
    let _slot = run_slot();
    let out = site.replace_run("cp-1", &["--yes", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.starts_with("hatui wizard: refusing to replace cp-1: cp-1 is not dead"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "member {:x} (cp-1) answers `endpoint status`",
            member_id(0)
        )),
        "{err}"
    );
    assert!(
        err.contains("cp-1 Ready=Unknown (no kubelet heartbeat)"),
        "{err}"
    );
    // Nothing ran on the hosts but the looks.
    assert_eq!(site.commands("cp-2"), Vec::<String>::new());
    assert_eq!(site.commands("cp-1"), Vec::<String>::new());

    // --force goes on: the member is removed and the master replaced (the test's
    // doubles have no etcd to keep it answering once removed).
    let out = site.replace_run("cp-1", &["--yes", "--json", "--force"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(step(&v, "remove-member/cp-1")["attempts"], 1);
}

#[test]
fn a_removal_that_would_lose_the_quorum_is_refused_with_exit_2() {
    let site = dead_site();
    site.member_down("cp-3");
    let _slot = run_slot();
    let out = site.replace_run("cp-1", &["--yes"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("removing cp-1's member leaves 2 voter(s), 1 answering: 2 are needed"),
        "{err}"
    );
    assert!(err.contains("Seen through cp-2"), "{err}");
    assert_eq!(site.commands("cp-2"), Vec::<String>::new());

    // Not a master of the inventory: exit 2, said.
    let out = site.replace_run("worker-1", &["--yes"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("worker-1 is not a control plane in"), "{err}");
}

#[test]
fn the_dry_run_is_the_replacements_script_and_shellcheck_passes_it() {
    let site = dead_site();
    site.previous_address("cp-1", "127.0.0.66");
    let out = site.replace_run("cp-1", &["--dry-run"]);
    let script = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in PLAN {
        assert!(script.contains(&format!("==> {id}: ")), "{id}");
    }
    assert!(script.contains("FIRST=cp-2"), "through cp-2");
    assert!(
        script.contains("[cp-1@127.0.0.66]='127.0.0.66'"),
        "{script}"
    );
    assert!(
        script.contains("on cp-1@127.0.0.66 'kubeadm reset -f'"),
        "{script}"
    );
    assert!(script.contains(&format!("on cp-2 'cat {SNAPSHOT}' > \"$SNAPSHOT.part\"")));
    assert!(script.contains("done: cp-1 is replaced"), "{script}");
    // By hand too, the join token carries the replacement's mark.
    assert!(
        script.contains(
            "kubeadm token create --print-join-command --description hatui-replacing-cp-1"
        ),
        "{script}"
    );
    for s in SECRETS {
        assert!(!script.contains(s), "a secret in the script");
    }
    let path = site.dir.path().join("replace.sh");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("shellcheck")
        .args(["-S", "warning"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("shellcheck is needed (apt-get install shellcheck): {e}"));
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(syntax.status.success());
}

#[test]
fn replace_on_real_hosts_needs_yes_or_dry_run() {
    let site = dead_site();
    let out = site.replace_run("cp-1", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("goes with --yes"), "{err}");
}

/// The same rule on the lab: a reset on a master that is powered off (its SSH session
/// cannot open, `ssh` exits 255) is said and skipped, not a failure.
#[test]
fn on_the_lab_the_reset_of_a_powered_off_master_is_said_and_skipped_too() {
    use hatui::lab::LabConfig;
    use hatui::wizard::engine::{Engine, StepStatus};
    use hatui::wizard::exec::{Executor, LabExecutor};
    use hatui::wizard::headless::{drive, lab_plan};

    let build = lab_plan(3, 0).unwrap();
    let mut ex = LabExecutor::new(LabConfig::new(3, 0, 4, LabConfig::default().start));
    let mut engine = Engine::new(build, ex.cluster());
    drive(&mut engine, &mut ex, |_, _| {}, |_| {});
    assert!(engine.verified());
    ex.lab_mut().inject(&hatui::model::Fault {
        node: "cp-1".into(),
        kind: hatui::model::FaultKind::PowerOff,
    });
    ex.pass(Duration::from_secs(180));
    let inv =
        hatui::fleet::inventory::parse("lab", &hatui::wizard::lab::inventory_toml(3, 0)).unwrap();
    let plan = hatui::wizard::plan::replace(&inv, "cp-1", "cp-2").unwrap();
    let mut engine = Engine::new(plan, ex.cluster());
    drive(&mut engine, &mut ex, |_, _| {}, |_| {});
    let reset = engine
        .reports()
        .iter()
        .find(|r| r.id == "reset/cp-1")
        .unwrap();
    assert_eq!(reset.status, StepStatus::Ok, "{reset:?}");
    assert_eq!(
        reset.notes,
        [
            "skipped: cp-1 did not answer over SSH: ssh: connect to host 10.0.0.11 port 22: No route to host. If it ever comes back, run `kubeadm reset -f` on it before anything else"
        ]
    );
    // The member was removed before: the steps after the reset ran (the join then
    // fails, on a machine still off).
    let removed = engine
        .reports()
        .iter()
        .find(|r| r.id == "remove-member/cp-1")
        .unwrap();
    assert_eq!(removed.status, StepStatus::Ok);
    let upload = engine
        .reports()
        .iter()
        .find(|r| r.id == "upload-certs")
        .unwrap();
    assert_eq!(upload.status, StepStatus::Ok);
}

#[test]
fn a_snapshot_damaged_on_its_way_fails_its_step_leaves_nothing_and_nothing_is_removed() {
    let site = dead_site();
    let mut bytes = wizard_ssh_fleet::replace::snapshot_bytes(8);
    bytes[700] ^= 0xff;
    std::fs::write(site.state.join("prepared/snapshot.db"), bytes).unwrap();
    let _slot = run_slot();
    let out = site.replace_run("cp-1", &["--yes", "--json"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let snap = step(&v, "snapshot");
    assert_eq!(snap["status"], "failed", "{snap}");
    assert!(
        snap["notes"][0]
            .as_str()
            .unwrap()
            .contains("is corrupt: its SHA-256 does not match"),
        "{snap}"
    );
    assert_eq!(step(&v, "remove-member/cp-1")["status"], "skipped");
    let dir = site.dir.path().join("xdg/hatui/snapshots");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(
        left.is_empty(),
        "nothing left in {}: {left:?}",
        dir.display()
    );
    assert!(
        !site
            .commands("cp-2")
            .iter()
            .any(|c| c.contains(" member remove "))
    );
}

#[test]
fn with_haproxy_on_the_masters_the_backends_name_the_replacement_and_it_gets_keepalived() {
    let site = Site::with(Fleet {
        load_balancer: "haproxy",
        endpoint: "10.0.0.100:8443",
        tables: "\n[vip]\ninterface = \"eth0\"\n".into(),
        ..Fleet::plan()
    });
    site.built_with_dead("cp-1");
    site.previous_address("cp-1", "127.0.0.66");
    let _slot = run_slot();
    let out = site.replace_run("cp-1", &["--yes", "--json"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let join = step(&v, "join-control-plane/cp-1");
    assert_eq!(join["hosts"], json!(["cp-1", "cp-2", "cp-3"]));
    for host in ["cp-1", "cp-2", "cp-3"] {
        let (cfg, mode) = site.file(host, "/etc/haproxy/haproxy.cfg").unwrap();
        assert_eq!(mode, "0644");
        assert!(
            cfg.contains("server cp-1 127.0.0.61:6443 check check-ssl verify none"),
            "{host}: {cfg}"
        );
        assert!(!cfg.contains("127.0.0.66"), "{host}: {cfg}");
    }
    // The others reload HAProxy (their connections kept, the VIP where it is); only the
    // replacement gets keepalived, and starts both.
    for host in ["cp-2", "cp-3"] {
        let c = site.commands(host);
        assert!(
            c.iter().any(|c| c == "systemctl reload haproxy"),
            "{host}: {c:?}"
        );
        assert!(!c.iter().any(|c| c.contains("keepalived")), "{host}: {c:?}");
        assert!(site.file(host, "/etc/keepalived/keepalived.conf").is_none());
    }
    let c = site.commands("cp-1");
    let join_at = c
        .iter()
        .position(|c| c.starts_with("kubeadm join"))
        .unwrap();
    let restart = c
        .iter()
        .position(|c| c == "systemctl restart haproxy keepalived");
    assert!(restart.is_some_and(|r| r > join_at), "{c:?}");
    let (_, mode) = site
        .file("cp-1", "/etc/keepalived/check_apiserver.sh")
        .unwrap();
    assert_eq!(mode, "0755");
    assert!(
        site.file("cp-1", "/etc/keepalived/keepalived.conf")
            .is_some()
    );
}
