//! Day 2 over SSH with the real binary: `hatui wizard --inventory FILE --add NODE[,NODE]`
//! and `--remove NODE[,NODE]`, `--yes [--json] [--force]` and `--dry-run`, on a fleet of
//! five masters and a worker (real sshds on 127.0.0.81-86, the doubles of
//! `wizard_ssh_fleet/` sharing the cluster's state, behind an NLB).

use crate::wizard_ssh_fleet;

use std::process::Command;
use std::time::{Duration, Instant};

use crate::wizard_json::step_ids;
use serde_json::json;
use wizard_ssh_fleet::*;

const KUBECTL: &str = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
const SNAPSHOT: &str = "/var/lib/etcd/hatui-before-remove.db";
const FIVE: [Host; 6] = [
    ("cp-1", "127.0.0.81", true),
    ("cp-2", "127.0.0.82", true),
    ("cp-3", "127.0.0.83", true),
    ("cp-4", "127.0.0.84", true),
    ("cp-5", "127.0.0.85", true),
    ("worker-1", "127.0.0.86", false),
];
const ADD: [&str; 9] = [
    "check",
    "upload-certs",
    "token-create",
    "join-control-plane/cp-4",
    "lb-targets/cp-4",
    "join-control-plane/cp-5",
    "lb-targets/cp-5",
    "cleanup",
    "verify",
];

fn etcdctl(on: &str, args: &str) -> String {
    format!(
        "{KUBECTL} -n kube-system exec etcd-{on} -- etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key {args}"
    )
}

/// What verify runs through `on`, the masters `up` answering.
fn verify(on: &str, up: &[&str]) -> Vec<String> {
    let mut v = vec![
        format!("{KUBECTL} get nodes -o wide"),
        etcdctl(on, "member list -w table"),
        format!("{KUBECTL} -n kube-system get lease kube-scheduler kube-controller-manager"),
        format!("{KUBECTL} get --raw /readyz"),
    ];
    for (_, addr, _) in FIVE.iter().filter(|h| up.contains(&h.0)) {
        v.push(format!("curl -fsSk https://{addr}:6443/readyz"));
    }
    v
}

fn remove_plan(nodes: &[&str]) -> Vec<String> {
    let mut ids = vec!["check".to_string(), "snapshot".into()];
    for n in nodes {
        for s in [
            "lb-targets",
            "move-leader",
            "remove-member",
            "drain",
            "delete-node",
            "reset",
        ] {
            ids.push(format!("{s}/{n}"));
        }
    }
    ids.push("verify".into());
    ids
}

/// The five masters' cluster, `bare` not joined yet.
fn site(bare: &[&str]) -> Site {
    let site = Site::on(&FIVE);
    site.built_but(bare);
    site
}

fn no_secret_anywhere(site: &Site, out: &std::process::Output) {
    assert_no_secret_in(&String::from_utf8_lossy(&out.stdout));
    assert_no_secret_in(&String::from_utf8_lossy(&out.stderr));
    assert_no_secret_in(&site.audit());
}

#[test]
fn add_joins_each_new_master_in_turn_with_fresh_material_the_nlb_a_checklist_line() {
    let site = site(&["cp-4", "cp-5"]);
    let _slot = run_slot();
    let out = site.wizard_run(&["--add", "cp-4,cp-5", "--yes", "--json"]);
    let (v, text) = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_eq!(v["verified"], true, "{text}");
    assert_eq!(step_ids(&v), ADD);
    for s in v["plan"].as_array().unwrap() {
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&json!("ok"), &json!(1)),
            "{s}"
        );
    }

    // Through cp-1: fresh material, the cleanup, verify on all five.
    let mut cp1 = vec![
        etcdctl("cp-1", "member list -w table"),
        "kubeadm init phase upload-certs --upload-certs".to_string(),
        "kubeadm token create --print-join-command".into(),
        format!("{KUBECTL} -n kube-system delete secret kubeadm-certs --ignore-not-found"),
        format!("kubeadm token delete {NEW_TOKEN}"),
    ];
    cp1.extend(verify("cp-1", &["cp-1", "cp-2", "cp-3", "cp-4", "cp-5"]));
    assert_eq!(site.commands("cp-1"), cp1);
    for n in ["cp-4", "cp-5"] {
        let join = join(n, true)
            .replace(TOKEN, NEW_TOKEN)
            .replace(KEY, NEW_KEY);
        assert_eq!(site.commands(n), [join], "{n}");
    }
    for host in ["cp-2", "cp-3", "worker-1"] {
        assert_eq!(site.commands(host), Vec::<String>::new(), "{host}");
    }
    // cp-4 joined (and was a voter) before cp-5's join started.
    assert!(site.join_times("cp-4").1 <= site.join_times("cp-5").0);

    // Five voters; the NLB's targets said, nothing run for them.
    let members = v["status"]["etcd"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 5, "{members:?}");
    assert!(members.iter().all(|m| m["is_learner"] == false));
    for (n, addr) in [("cp-4", "127.0.0.84"), ("cp-5", "127.0.0.85")] {
        let s = step(&v, &format!("lb-targets/{n}"));
        assert_eq!(s["commands"], json!([]), "{s}");
        let notes = s["notes"].to_string();
        assert!(
            notes.contains(&format!(
                "nlb checklist: register {addr}:6443 in the target group"
            )),
            "{notes}"
        );
    }
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("lb-targets/cp-4: by hand"), "{warnings}");
    assert!(!site.state.join("objects/certs.json").exists());
    no_secret_anywhere(&site, &out);
    assert!(site.audit().contains("kubeadm join"), "the joins audited");
}

#[test]
fn remove_moves_leadership_only_off_the_leaving_master_that_leads_then_removes_drains_deletes_resets()
 {
    let site = site(&[]);
    site.leads("cp-5");
    let _slot = run_slot();
    let out = site.wizard_run(&["--remove", "cp-4,cp-5", "--yes", "--json"]);
    let (v, text) = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_eq!(v["verified"], true, "{text}");
    assert_eq!(step_ids(&v), remove_plan(&["cp-4", "cp-5"]));

    let id = |i: usize| format!("{:x}", member_id(i));
    let mut cp1 = vec![
        etcdctl("cp-1", "member list -w table"),
        etcdctl("cp-1", &format!("snapshot save {SNAPSHOT}")),
        format!("cat {SNAPSHOT}"),
    ];
    for (i, n) in [(3, "cp-4"), (4, "cp-5")] {
        cp1.extend([
            etcdctl("cp-1", "member list"),
            etcdctl("cp-1", &format!("member remove {}", id(i))),
            format!(
                "{KUBECTL} drain {n} --ignore-daemonsets --delete-emptydir-data --timeout 300s"
            ),
            format!("{KUBECTL} delete node {n} --ignore-not-found"),
        ]);
    }
    cp1.extend(verify("cp-1", &["cp-1", "cp-2", "cp-3"]));
    assert_eq!(site.commands("cp-1"), cp1);
    // cp-4 does not lead: asked, nothing moved. cp-5 leads: leadership to cp-1 first.
    assert_eq!(
        site.commands("cp-4"),
        [
            etcdctl("cp-4", "endpoint status -w json"),
            "kubeadm reset -f".into()
        ]
    );
    assert_eq!(
        site.commands("cp-5"),
        [
            etcdctl("cp-5", "endpoint status -w json"),
            etcdctl("cp-1", "member list"),
            etcdctl("cp-5", &format!("move-leader {}", id(0))),
            "kubeadm reset -f".into()
        ]
    );
    for host in ["cp-2", "cp-3", "worker-1"] {
        assert_eq!(site.commands(host), Vec::<String>::new(), "{host}");
    }
    assert_eq!(site.leader(), "cp-1");
    let said = step(&v, "move-leader/cp-4")["output_tail"].to_string();
    assert!(
        said.contains("cp-4 does not lead: nothing to move"),
        "{said}"
    );
    let said = step(&v, "move-leader/cp-5")["output_tail"].to_string();
    assert!(
        said.contains(&format!(
            "Leadership transferred from {} to {}",
            id(4),
            id(0)
        )),
        "{said}"
    );
    let members = v["status"]["etcd"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    let notes = step(&v, "lb-targets/cp-4")["notes"].to_string();
    assert!(
        notes.contains("deregister 127.0.0.84:6443 from the target group"),
        "{notes}"
    );
    // The snapshot went to the bastion, as the replacement's does.
    let snaps = site.snapshots();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    let name = snaps[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("etcd-snapshot-t-before-remove-"), "{name}");
    let saved = std::fs::read(site.state.join("prepared/snapshot.db")).unwrap();
    assert_eq!(std::fs::read(&snaps[0]).unwrap(), saved);
    let said = step(&v, "snapshot")["output_tail"].to_string();
    assert!(
        said.contains(&format!("snapshot on the bastion: {}", snaps[0].display())),
        "{said}"
    );
    no_secret_anywhere(&site, &out);
}

#[test]
fn killed_during_a_reset_the_rerun_finds_the_removal_done_and_finishes() {
    let site = site(&[]);
    site.set("hold", "reset-cp-4", "3");
    let _slot = run_slot();
    let mut child = site.wizard_start(&["--remove", "cp-4,cp-5", "--yes", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !site
        .commands("cp-4")
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
    std::fs::remove_file(site.state.join("hold/reset-cp-4")).unwrap();

    let out = site.wizard_run(&["--remove", "cp-4,cp-5", "--yes", "--json"]);
    let (v, text) = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_eq!(v["verified"], true, "{text}");
    for id in [
        "move-leader/cp-4",
        "remove-member/cp-4",
        "drain/cp-4",
        "delete-node/cp-4",
    ] {
        let s = step(&v, id);
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&json!("ok"), &json!(0)),
            "{s}"
        );
        assert!(
            s["notes"][0].as_str().unwrap().starts_with("already done"),
            "{s}"
        );
    }
    for id in ["remove-member/cp-5", "reset/cp-5", "verify"] {
        assert_eq!(step(&v, id)["attempts"], 1, "{id}");
    }
    let count = |host: &str, what: &str| {
        let c = site.commands(host);
        c.iter().filter(|c| c.contains(what)).count()
    };
    assert_eq!(count("cp-1", " member remove "), 2, "one removal each");
    assert_eq!(count("cp-1", " drain cp-4 "), 1);
    assert_eq!(count("cp-4", " endpoint status "), 1, "asked once");
    no_secret_anywhere(&site, &out);
}

#[test]
fn a_shrink_to_an_even_count_or_below_three_or_without_quorum_is_refused_with_exit_2_unless_forced()
{
    let site = site(&[]);
    let _slot = run_slot();
    let refused = |args: &[&str], why: &str| {
        let out = site.wizard_run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(err.contains(why), "{args:?}: {err}");
    };
    refused(
        &["--remove", "cp-5", "--yes"],
        "refusing to remove cp-5: it would leave 4 masters, an even number: quorum 3 of 4 \
         tolerates 1 failure, no more than 3 masters do",
    );
    refused(
        &["--remove", "cp-2,cp-3,cp-4,cp-5", "--yes"],
        "it would leave 1 master(s)",
    );
    refused(
        &["--remove", "cp-9", "--yes"],
        "refusing to remove cp-9: it is not a control plane in",
    );
    refused(
        &["--add", "cp-9", "--yes"],
        "refusing to add cp-9: it is not a control plane in",
    );
    // Of the three that stay only cp-1 answers: no quorum to commit the removals.
    site.member_down("cp-2");
    site.member_down("cp-3");
    refused(
        &["--remove", "cp-4,cp-5", "--yes"],
        "of the 3 voters left only 1 answer: 2 are needed",
    );
    refused(
        &["--remove", "cp-4,cp-5", "--yes"],
        "cp-2 voter does not answer",
    );
    // Nothing ran on the hosts but the looks.
    for (h, _, _) in FIVE {
        assert_eq!(site.commands(h), Vec::<String>::new(), "{h}");
    }
    site.member_answers("cp-2");
    site.member_answers("cp-3");

    // --force goes on, its warning saying what four masters mean.
    let out = site.wizard_run(&["--remove", "cp-5", "--yes", "--json", "--force"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(step(&v, "remove-member/cp-5")["attempts"], 1);
    assert!(
        v["warnings"].to_string().contains("an even number"),
        "{text}"
    );
    assert_eq!(site.commands("cp-4"), Vec::<String>::new());
}

#[test]
fn the_dry_runs_are_scripts_shellcheck_passes_with_the_nlb_said_by_hand() {
    let site = site(&["cp-4", "cp-5"]);
    for (args, ids, done) in [
        (
            ["--add", "cp-4,cp-5"],
            ADD.map(String::from).to_vec(),
            "done: cp-4, cp-5 added",
        ),
        (
            ["--remove", "cp-4,cp-5"],
            remove_plan(&["cp-4", "cp-5"]),
            "done: cp-4, cp-5 removed",
        ),
    ] {
        let mut all = args.to_vec();
        all.push("--dry-run");
        let out = site.wizard_run(&all);
        let script = String::from_utf8(out.stdout).unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        for id in &ids {
            assert!(script.contains(&format!("==> {id}: ")), "{id}\n{script}");
        }
        assert!(script.contains("FIRST=cp-1"), "through cp-1");
        assert!(script.contains(done), "{script}");
        assert!(
            script.contains("echo '    by hand: nlb checklist: "),
            "{script}"
        );
        assert!(!script.contains("load-balancer"), "{script}");
        for s in SECRETS {
            assert!(!script.contains(s), "a secret in the script");
        }
        let path = site.dir.path().join("resize.sh");
        std::fs::write(&path, &script).unwrap();
        let check = Command::new("shellcheck")
            .args(["-S", "warning"])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("shellcheck is needed (apt-get install shellcheck): {e}"));
        assert!(
            check.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(syntax.status.success());
    }
    // Nothing ran: a dry run looks at nothing.
    for (h, _, _) in FIVE {
        assert_eq!(site.commands(h), Vec::<String>::new(), "{h}");
    }
}

#[test]
fn add_and_remove_on_real_hosts_need_yes_or_dry_run() {
    let site = site(&[]);
    let out = site.wizard_run(&["--remove", "cp-5"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("go with --yes"), "{err}");
}

#[test]
fn with_haproxy_on_the_masters_the_leaving_ones_leave_the_backends_and_stop_it_said_in_text() {
    let site = Site::with(Fleet {
        hosts: FIVE.to_vec(),
        load_balancer: "haproxy",
        endpoint: "10.0.0.100:8443",
        tables: "\n[vip]\ninterface = \"eth0\"\n".into(),
        ..Fleet::plan()
    });
    site.built_but(&[]);
    let _slot = run_slot();
    let out = site.wizard_run(&["--remove", "cp-4,cp-5", "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert!(
        text.starts_with("hatui wizard on t over SSH: remove cp-4,cp-5 (through cp-1)"),
        "{text}"
    );
    for id in remove_plan(&["cp-4", "cp-5"]) {
        assert!(text.contains(&id), "{id}: {text}");
    }
    // The masters that stay: the backends without cp-4 and cp-5, reloaded.
    for host in ["cp-1", "cp-2", "cp-3"] {
        let (cfg, _) = site.file(host, "/etc/haproxy/haproxy.cfg").unwrap();
        assert!(cfg.contains("server cp-3 127.0.0.83:6443"), "{host}: {cfg}");
        assert!(
            !cfg.contains("127.0.0.84") && !cfg.contains("127.0.0.85"),
            "{cfg}"
        );
        let c = site.commands(host);
        assert!(
            c.iter().any(|c| c == "systemctl reload haproxy"),
            "{host}: {c:?}"
        );
    }
    // The leaving ones stop HAProxy and keepalived (the VIP moves to one that stays)
    // before leadership and their member go.
    for host in ["cp-4", "cp-5"] {
        let c = site.commands(host);
        let stop = c
            .iter()
            .position(|c| c == "systemctl disable --now haproxy keepalived");
        let asked = c
            .iter()
            .position(|c| c.contains(" endpoint status -w json"));
        assert!(stop.is_some() && stop < asked, "{host}: {c:?}");
        assert_eq!(c.last().unwrap(), "kubeadm reset -f", "{host}");
    }
    no_secret_anywhere(&site, &out);
}

#[test]
fn an_add_killed_after_its_first_join_resumes_and_joins_only_the_second() {
    let site = site(&["cp-4", "cp-5"]);
    site.set("sleep", "cp-5", "3");
    let _slot = run_slot();
    let mut child = site.wizard_start(&["--add", "cp-4,cp-5", "--yes", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while site.joins("cp-5") == 0 {
        assert!(Instant::now() < deadline, "cp-5's join never started");
        if let Some(s) = child.try_wait().unwrap() {
            panic!("hatui ended before cp-5's join: {s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(site.state.join("sleep/cp-5")).unwrap();

    let out = site.wizard_run(&["--add", "cp-4,cp-5", "--yes", "--json"]);
    let (v, text) = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert_eq!(v["verified"], true, "{text}");
    let s = step(&v, "join-control-plane/cp-4");
    assert_eq!(s["attempts"], 0, "{s}");
    assert!(
        s["notes"][0].as_str().unwrap().starts_with("already done"),
        "{s}"
    );
    assert_eq!(site.joins("cp-4"), 1, "cp-4 joined once");
    assert_eq!(v["status"]["etcd"]["members"].as_array().unwrap().len(), 5);
    no_secret_anywhere(&site, &out);
}
