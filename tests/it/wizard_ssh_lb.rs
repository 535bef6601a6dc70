//! What each load balancer gets on real hosts over SSH, with the real binary (`hatui
//! wizard --inventory FILE --yes --json`) on five `sshd`s (127.0.0.81-85) and the fleet's
//! test doubles (`wizard_ssh_fleet/`): the files written on each host (`install ...
//! /dev/stdin PATH`, kept per host with their mode), what kubeadm found in
//! /etc/kubernetes/manifests when it started, and each host's commands in order.

use crate::wizard_ssh_fleet;

use serde_json::json;
use wizard_ssh_fleet::*;

const LB_HOSTS: [(&str, &str, bool); 5] = [
    ("cp-1", "127.0.0.81", true),
    ("cp-2", "127.0.0.82", true),
    ("cp-3", "127.0.0.83", true),
    ("worker-1", "127.0.0.84", false),
    ("worker-2", "127.0.0.85", false),
];
const VIP: &str = "10.0.0.100";
const KUBE_VIP: &str = "/etc/kubernetes/manifests/kube-vip.yaml";

fn fleet(load_balancer: &'static str, endpoint: &'static str) -> Fleet {
    Fleet {
        hosts: LB_HOSTS.to_vec(),
        endpoint,
        load_balancer,
        keys: String::new(),
        tables: "\n[vip]\ninterface = \"eth0\"\n".into(),
        load_balancers: Vec::new(),
    }
}

/// Runs the whole plan; it must pass.
fn built(site: &Site) -> serde_json::Value {
    let out = site.run(&["--json"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(v["verified"], true, "{text}");
    assert_no_secret_in(&text);
    v
}

#[test]
fn haproxy_and_keepalived_are_written_on_every_master_and_restarted_before_init() {
    let f = fleet("haproxy", "10.0.0.100:8443");
    let site = Site::with(f.clone());
    let v = built(&site);
    assert_eq!(
        step(&v, "load-balancer")["hosts"],
        json!(["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"])
    );
    for (i, (host, _, _)) in LB_HOSTS[..3].iter().enumerate() {
        let (cfg, mode) = site.file(host, "/etc/haproxy/haproxy.cfg").unwrap();
        assert_eq!(mode, "0644");
        assert!(
            cfg.contains("frontend apiserver\n    bind *:8443\n    mode tcp\n"),
            "{cfg}"
        );
        let backend = cfg.split("\nbackend apiserverbackend\n").nth(1).unwrap();
        assert_eq!(
            backend,
            "    option httpchk GET /healthz
    http-check expect status 200
    mode tcp
    balance     roundrobin
        server cp-1 127.0.0.81:6443 check check-ssl verify none
        server cp-2 127.0.0.82:6443 check check-ssl verify none
        server cp-3 127.0.0.83:6443 check check-ssl verify none
",
            "{host}"
        );
        let (keepalived, mode) = site.file(host, "/etc/keepalived/keepalived.conf").unwrap();
        assert_eq!(mode, "0644");
        let (state, priority) = if i == 0 {
            ("MASTER", 101)
        } else {
            ("BACKUP", 100)
        };
        let instance = format!(
            "vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n"
        );
        assert!(keepalived.contains(&instance), "{host}: {keepalived}");
        assert!(
            keepalived.contains(&format!(
                "    virtual_ipaddress {{\n        {VIP}\n    }}\n"
            )),
            "{keepalived}"
        );
        assert!(keepalived.contains(
            "vrrp_script check_apiserver {\n  script \"/etc/keepalived/check_apiserver.sh\"\n"
        ));
        let (check, mode) = site
            .file(host, "/etc/keepalived/check_apiserver.sh")
            .unwrap();
        assert_eq!(mode, "0755");
        assert!(
            check.contains("curl -sfk --max-time 2 https://localhost:8443/healthz "),
            "{check}"
        );

        // Each master: its checks, its files, the restart, then kubeadm.
        let mut expected = checks_for(&f);
        expected.extend([
            "install -D -m 0644 /dev/stdin /etc/haproxy/haproxy.cfg".to_string(),
            "install -D -m 0644 /dev/stdin /etc/keepalived/keepalived.conf".into(),
            "install -D -m 0755 /dev/stdin /etc/keepalived/check_apiserver.sh".into(),
            "systemctl enable haproxy keepalived".into(),
            "systemctl restart haproxy keepalived".into(),
        ]);
        let got = site.commands(host);
        assert_eq!(got[..expected.len()], expected[..], "{host}");
        let kubeadm = &got[expected.len()];
        assert!(
            kubeadm.starts_with("kubeadm init --control-plane-endpoint 10.0.0.100:8443 ")
                || *kubeadm == join_on(f.endpoint, host, true),
            "{host}: {kubeadm}"
        );
    }
    for (w, _, _) in &LB_HOSTS[3..] {
        assert_eq!(site.file(w, "/etc/haproxy/haproxy.cfg"), None);
        assert_eq!(site.commands(w), {
            let mut c = checks_for(&f);
            c.push(join_on(f.endpoint, w, false));
            c
        });
    }
}

#[test]
fn kube_vip_is_on_the_first_master_before_init_with_super_admin_conf_and_on_each_master_after_its_join()
 {
    let f = fleet("kube-vip", "10.0.0.100:6443");
    let site = Site::with(f.clone());
    built(&site);
    let at = |what: &str| format!("  - hostPath:\n      path: {what}\n    name: kubeconfig\n");
    // What init found: kube-vip holding the VIP, with super-admin.conf (1.29+).
    let at_init = site
        .seen_by_kubeadm("cp-1", "kube-vip.yaml")
        .expect("kube-vip.yaml was in /etc/kubernetes/manifests when init started");
    assert!(
        at_init.contains(&at("/etc/kubernetes/super-admin.conf")),
        "{at_init}"
    );
    for line in [
        "    - name: vip_arp\n      value: \"true\"\n".to_string(),
        "    - name: vip_interface\n      value: eth0\n".into(),
        "    - name: vip_leaderelection\n      value: \"true\"\n".into(),
        format!("    - name: address\n      value: {VIP}\n"),
        "    - name: port\n      value: \"6443\"\n".into(),
    ] {
        assert!(at_init.contains(&line), "{line}\n{at_init}");
    }
    // After init, and on each joined master: admin.conf.
    for (host, _, _) in &LB_HOSTS[..3] {
        let (now, mode) = site.file(host, KUBE_VIP).unwrap();
        assert_eq!(mode, "0600");
        assert!(
            now.contains(&at("/etc/kubernetes/admin.conf")),
            "{host}: {now}"
        );
        assert!(now.contains(&format!("      value: {VIP}\n")));
    }
    let install = format!("install -D -m 0600 /dev/stdin {KUBE_VIP}");
    let cp1 = site.commands("cp-1");
    let init = cp1
        .iter()
        .position(|c| c.starts_with("kubeadm init"))
        .unwrap();
    assert_eq!(cp1[init - 1], install, "{cp1:#?}");
    assert_eq!(cp1[init + 1], install, "{cp1:#?}");
    for host in ["cp-2", "cp-3"] {
        // kubeadm join's preflight refuses a non-empty manifests directory: the
        // manifest comes right after the join.
        assert_eq!(site.seen_by_kubeadm(host, "kube-vip.yaml"), None, "{host}");
        let mut expected = checks_for(&f);
        expected.extend([join_on(f.endpoint, host, true), install.clone()]);
        assert_eq!(site.commands(host), expected, "{host}");
    }
    for (w, _, _) in &LB_HOSTS[3..] {
        assert_eq!(site.file(w, KUBE_VIP), None);
    }
}

#[test]
fn nlb_gets_its_checklist_and_init_fails_when_the_endpoint_does_not_reach_the_first_master() {
    let f = Fleet {
        hosts: LB_HOSTS.to_vec(),
        ..Fleet::plan()
    };
    let site = Site::with(f.clone());
    // The NLB forwards nowhere: kubeadm init's double passes, the endpoint does not answer.
    site.set("", "endpoint-down", "");
    let out = site.run(&["--json"]);
    let (v, text) = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let notes: Vec<String> = step(&v, "load-balancer")["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let has = |words: &[&str]| {
        notes
            .iter()
            .any(|n| n.starts_with("nlb checklist: ") && words.iter().all(|w| n.contains(w)))
    };
    assert!(
        has(&[
            "TCP listener on port 6443",
            "target group (protocol TCP, port 6443, target type ip)",
            "127.0.0.81:6443, 127.0.0.82:6443, 127.0.0.83:6443."
        ]),
        "{notes:#?}"
    );
    assert!(has(&["health check on TCP 6443"]), "{notes:#?}");
    assert!(
        has(&["TCP 6443", "2379-2380", "10250", "10257 and 10259"]),
        "{notes:#?}"
    );
    assert!(has(&[ENDPOINT_HOST, "resolves", "NLB"]), "{notes:#?}");

    let init = step(&v, "init");
    assert_eq!(init["status"], "failed", "{init}");
    let said = init["notes"].to_string();
    assert!(
        said.contains(&format!(
            "exit code 7 on cp-1: curl: (7) Failed to connect to {ENDPOINT_HOST} port 6443"
        )),
        "{said}"
    );
    assert_eq!(step(&v, "cni")["status"], "skipped");
    let cp1 = site.commands("cp-1");
    let at = cp1
        .iter()
        .position(|c| c.starts_with("kubeadm init"))
        .unwrap();
    assert_eq!(
        cp1[at + 1..=at + 2],
        [
            format!("getent hosts {ENDPOINT_HOST}"),
            format!(
                "curl -fsSk --max-time 10 --retry 12 --retry-delay 5 --retry-all-errors https://{ENDPOINT}/readyz"
            )
        ]
    );
    assert_eq!(
        site.joins("cp-2"),
        0,
        "nobody joins through an endpoint that does not answer"
    );
}

#[test]
fn haproxy_on_hosts_of_its_own_gets_the_files_and_the_masters_none() {
    let f = Fleet {
        load_balancers: vec![("lb-1", "127.0.0.86"), ("lb-2", "127.0.0.87")],
        ..fleet("haproxy", "10.0.0.100:6443")
    };
    let site = Site::with(f.clone());
    let v = built(&site);
    let hosts = step(&v, "load-balancer")["hosts"].clone();
    assert_eq!(
        hosts,
        json!([
            "cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "lb-1", "lb-2"
        ])
    );
    for (i, lb) in ["lb-1", "lb-2"].into_iter().enumerate() {
        let (cfg, _) = site.file(lb, "/etc/haproxy/haproxy.cfg").unwrap();
        assert!(cfg.contains("    bind *:6443\n"), "{cfg}");
        assert!(cfg.contains("        server cp-3 127.0.0.83:6443 check check-ssl verify none\n"));
        let (keepalived, _) = site.file(lb, "/etc/keepalived/keepalived.conf").unwrap();
        let state = if i == 0 { "MASTER" } else { "BACKUP" };
        assert!(
            keepalived.contains(&format!("    state {state}\n")),
            "{keepalived}"
        );
        // No kubeadm preflight on them: only the files and the restart.
        assert_eq!(
            site.commands(lb),
            [
                "install -D -m 0644 /dev/stdin /etc/haproxy/haproxy.cfg",
                "install -D -m 0644 /dev/stdin /etc/keepalived/keepalived.conf",
                "install -D -m 0755 /dev/stdin /etc/keepalived/check_apiserver.sh",
                "systemctl enable haproxy keepalived",
                "systemctl restart haproxy keepalived",
            ]
        );
    }
    for (m, _, _) in &LB_HOSTS[..3] {
        assert_eq!(site.file(m, "/etc/haproxy/haproxy.cfg"), None, "{m}");
    }
}
