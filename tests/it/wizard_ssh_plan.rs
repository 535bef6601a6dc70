//! The wizard's whole plan on real hosts over SSH, with the real binary (`hatui wizard
//! --inventory FILE --yes [--json]`): 3 masters and 2 workers on 127.0.0.61-65, the
//! fleet and its test doubles in `wizard_ssh_fleet/`.

use crate::wizard_ssh_fleet;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::wizard_json::{PLAN_3_2, step_ids};
use serde_json::json;
use wizard_ssh_fleet::*;

#[test]
fn the_whole_plan_runs_on_three_masters_and_two_workers_each_host_receiving_its_commands_in_order()
{
    let site = Site::new();
    // Each worker's join takes 2 s: together they take 2 s, one after the other 4.
    for w in ["worker-1", "worker-2"] {
        site.set("sleep", w, "2");
    }
    let _slot = run_slot();
    let out = site.run(&["--json"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(v["verified"], true, "{text}");
    assert_eq!(step_ids(&v), PLAN_3_2);
    for s in v["plan"].as_array().unwrap() {
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&json!("ok"), &json!(1)),
            "{s}"
        );
    }

    // The exact commands each host received, in order.
    let kubectl = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
    let mut cp1 = checks();
    cp1.extend([
        format!(
            "kubeadm init --control-plane-endpoint {ENDPOINT} --upload-certs --pod-network-cidr 192.168.0.0/16 --service-cidr 10.96.0.0/12 --node-name cp-1 --cri-socket {CRI}"
        ),
        // The NLB's check, once init has started the apiserver: the endpoint resolves and
        // reaches it.
        format!("getent hosts {ENDPOINT_HOST}"),
        format!(
            "curl -fsSk --max-time 10 --retry 12 --retry-delay 5 --retry-all-errors https://{ENDPOINT}/readyz"
        ),
        // admin.conf to the bastion, as soon as init is done.
        "cat /etc/kubernetes/admin.conf".into(),
        format!("{kubectl} apply -f {CALICO}"),
        // The build's cleanup, once every master has joined.
        format!("{kubectl} -n kube-system delete secret kubeadm-certs --ignore-not-found"),
        format!("{kubectl} get nodes -o wide"),
        format!(
            "{kubectl} -n kube-system exec etcd-cp-1 -- etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key member list -w table"
        ),
        format!("{kubectl} -n kube-system get lease kube-scheduler kube-controller-manager"),
        format!("{kubectl} get --raw /readyz"),
    ]);
    for (_, addr, master) in HOSTS {
        if master {
            cp1.push(format!("curl -fsSk https://{addr}:6443/readyz"));
        }
    }
    assert_eq!(site.commands("cp-1"), cp1);
    for (host, _, master) in &HOSTS[1..] {
        let mut expected = checks();
        expected.push(join(host, *master));
        assert_eq!(site.commands(host), expected, "{host}");
    }

    // The workers joined together, masters one at a time.
    let (s1, e1) = site.join_times("worker-1");
    let (s2, e2) = site.join_times("worker-2");
    assert!(
        s1 < e2 && s2 < e1,
        "the worker joins overlap: {s1}-{e1}, {s2}-{e2}"
    );
    let (c2, e_c2) = site.join_times("cp-2");
    let (c3, _) = site.join_times("cp-3");
    assert!(e_c2 <= c3 && c2 < c3, "cp-3 joined after cp-2");
    let group = step(&v, "join-worker/worker-1")["duration_s"]
        .as_f64()
        .unwrap();
    // The overlap above is the proof; the step's own figure covers at least one join
    // (no upper bound: that would time the machine, not the wizard).
    assert!(
        group >= 2.0,
        "worker joins took {group} s (the joins ran {s1}-{e1} and {s2}-{e2})"
    );

    // What the wizard saw: every node Ready, three voters, the endpoint ready.
    let status = &v["status"];
    assert_eq!(status["source"], "live", "{status}");
    assert_eq!(status["endpoint"]["ready"], true, "{status}");
    let tail = step(&v, "join-worker/worker-2")["output_tail"].to_string();
    assert!(tail.contains("This node has joined the cluster:"), "{tail}");
    assert_no_secret_in(&text);
    let join_shown = step(&v, "join-control-plane/cp-2")["commands"][0]
        .as_str()
        .unwrap();
    assert!(
        join_shown.contains("--token 9a8x2k.<hidden>")
            && join_shown.contains("--certificate-key <hidden>"),
        "{join_shown}"
    );

    // The audit log: every command of the plan with its host and exit code, the looks
    // at the cluster too, no secret; each command's start has its line too.
    let audit = site.audit();
    for s in v["plan"].as_array().unwrap() {
        let hosts = s["hosts"].as_array().unwrap();
        for c in s["commands"].as_array().unwrap() {
            let c = c.as_str().unwrap();
            let ran = |l: &&str| l.ends_with(&format!(" command={c}"));
            assert!(
                audit.lines().filter(ran).any(|l| l.contains(" started ")),
                "no start in the audit log: {c}\n{audit}"
            );
            let line = audit
                .lines()
                .filter(ran)
                .find(|l| l.contains(" exit="))
                .unwrap_or_else(|| panic!("not in the audit log: {c}\n{audit}"));
            if hosts.len() == 1 {
                assert!(
                    line.contains(&format!("host={} exit=0 ", hosts[0].as_str().unwrap())),
                    "{line}"
                );
            }
        }
    }
    assert!(
        audit.lines().any(|l| l.contains("host=cp-1 exit=0")
            && l.contains("get nodes,leases,secrets,configmaps -o json")),
        "{audit}"
    );
    assert_no_secret_in(&audit);

    // cp-1's admin.conf on the bastion: 0600 in a new 0700 ~/.kube, the endpoint as its
    // server, the key in it and nowhere else.
    let kube = site.home().join(".kube");
    let path = kube.join("hatui-t.conf");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&kube), mode(&path)), (0o700, 0o600));
    let conf = kube::config::Kubeconfig::read_from(&path).unwrap();
    let server = conf.clusters[0].cluster.as_ref().unwrap().server.clone();
    assert_eq!(server.as_deref(), Some(&*format!("https://{ENDPOINT}")));
    assert!(std::fs::read_to_string(&path).unwrap().contains(ADMIN_KEY));
    let shown = &v["kubeconfig"];
    assert_eq!(shown["path"], json!(path.display().to_string()), "{shown}");
    assert_eq!(
        shown["open"],
        json!(format!(
            "hatui --inventory {} --kubeconfig {}",
            site.inventory.display(),
            path.display()
        ))
    );
    for text in [
        &text,
        &audit,
        &String::from_utf8_lossy(&out.stderr).into_owned(),
    ] {
        assert!(!text.contains(ADMIN_KEY), "the client key leaked: {text}");
    }
    assert!(
        audit.lines().any(|l| l.contains("host=cp-1 exit=0")
            && l.ends_with("command=cat /etc/kubernetes/admin.conf")),
        "{audit}"
    );
}

#[test]
fn parallel_1_joins_the_workers_one_after_the_other() {
    let site = Site::new();
    for w in ["worker-1", "worker-2"] {
        site.set("sleep", w, "1");
    }
    let _slot = run_slot();
    let out = site.run(&["--parallel", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.lines().last().unwrap().starts_with("verified: t in "),
        "{text}"
    );
    let (s1, e1) = site.join_times("worker-1");
    let (s2, e2) = site.join_times("worker-2");
    assert!(
        e1 <= s2 || e2 <= s1,
        "at most one join at a time: {s1}-{e1}, {s2}-{e2}"
    );
}

#[test]
fn a_join_that_fails_shows_its_stderr_and_exit_code_and_the_rerun_starts_where_it_stopped() {
    let site = Site::new();
    site.set("fail", "worker-2", &fixture("join-again.txt"));
    let _slot = run_slot();
    let out = site.run(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let error = "error execution phase preflight: [preflight] Some fatal errors occurred:";
    let kubelet_conf = "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists";
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAILED   join-worker/worker-2 (worker-2)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("exit code 1 on worker-2: {error}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("         | \t{kubelet_conf}")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("skipped  verify")),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("NOT verified: t in "),
        "{text}"
    );
    // admin.conf came to the bastion right after init, with the line that opens it.
    let conf = site.home().join(".kube/hatui-t.conf");
    let said = format!(
        "         the cockpit on it: hatui --inventory {} --kubeconfig {}",
        site.inventory.display(),
        conf.display()
    );
    let at = |p: &dyn Fn(&str) -> bool| text.lines().position(p).unwrap();
    assert!(
        at(&|l| l.starts_with("ok       init")) < at(&|l| l == said)
            && at(&|l| l == said) < at(&|l| l.starts_with("ok       cni")),
        "{text}"
    );
    assert!(!text.contains(ADMIN_KEY), "the client key leaked: {text}");

    // Again, as JSON: what happened is found done, worker-2 fails the same way.
    let out = site.run(&["--json"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(v["verified"], false);
    for id in ["init", "join-control-plane/cp-3", "join-worker/worker-1"] {
        let s = step(&v, id);
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&json!("ok"), &json!(0)),
            "{s}"
        );
    }
    let failed = step(&v, "join-worker/worker-2");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["output_tail"].to_string().contains(kubelet_conf),
        "{failed}"
    );
    let notes = failed["notes"].to_string();
    assert!(
        notes.contains(&format!("exit code 1 on worker-2: {error}")),
        "{notes}"
    );
    assert_eq!(step(&v, "verify")["status"], "skipped");
    assert_eq!(site.joins("worker-1"), 1, "worker-1 joined once");
    assert_eq!(site.joins("worker-2"), 2);
    assert_eq!(site.joins("cp-2"), 1);
    assert_no_secret_in(&text);
}

#[test]
fn killed_during_a_master_join_the_next_run_joins_nobody_twice_and_completes() {
    let site = Site::new();
    site.set("sleep", "cp-3", "3");
    let _slot = run_slot();
    let mut child = site.start(&["--json"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while site.joins("cp-3") == 0 {
        assert!(Instant::now() < deadline, "cp-3's join never started");
        if let Some(s) = child.try_wait().unwrap() {
            panic!("hatui ended before cp-3's join: {s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL, while cp-3's kubeadm sleeps
    child.wait().unwrap();
    assert!(
        !site.state.join("ended/cp-3").exists(),
        "killed before cp-3's join ended"
    );
    // The join it was killed in is in the audit log from its start, with no end.
    let audit = site.audit();
    let join = |l: &&str| l.contains(" host=cp-3 ") && l.contains("kubeadm join");
    let lines: Vec<&str> = audit.lines().filter(join).collect();
    assert!(
        lines.len() == 1 && lines[0].contains(" started command="),
        "{audit}"
    );
    // kubeadm on cp-3 outlives the SSH session that started it (as a real one would):
    // the next run starts once it has ended, or after it certainly would have.
    let orphan = Instant::now() + Duration::from_secs(15);
    while !site.state.join("ended/cp-3").exists() && Instant::now() < orphan {
        std::thread::sleep(Duration::from_millis(100));
    }
    let cp3_done = site.state.join("ended/cp-3").exists();
    std::fs::remove_file(site.state.join("sleep/cp-3")).unwrap();

    let out = site.run(&["--json"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(v["verified"], true, "{text}");
    for id in ["preflight", "init", "cni", "join-control-plane/cp-2"] {
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
    let cp3 = step(&v, "join-control-plane/cp-3");
    assert_eq!(cp3["attempts"], if cp3_done { 0 } else { 1 }, "{cp3}");
    // The run knows no token now: it makes one before the joins left.
    assert!(
        step_ids(&v)
            .iter()
            .any(|id| id.starts_with("token-create/")),
        "{:?}",
        step_ids(&v)
    );
    let count = |h: &str, what: &str| {
        site.commands(h)
            .iter()
            .filter(|c| c.starts_with(what))
            .count()
    };
    assert_eq!(count("cp-1", "kubeadm init"), 1);
    assert_eq!(site.joins("cp-2"), 1, "cp-2 joined once");
    assert_eq!(site.joins("cp-3"), if cp3_done { 1 } else { 2 });
    for w in ["worker-1", "worker-2"] {
        let joins: Vec<String> = site.commands(w);
        let joins: Vec<&String> = joins
            .iter()
            .filter(|c| c.starts_with("kubeadm join"))
            .collect();
        assert_eq!(joins.len(), 1, "{w}");
        assert!(
            joins[0].contains(&format!("--token {NEW_TOKEN}")),
            "{}",
            joins[0]
        );
    }
    assert_no_secret_in(&text);
    assert_no_secret_in(&site.audit());
}
