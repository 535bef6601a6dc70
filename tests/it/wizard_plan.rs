//! The wizard's plan, built from inventories of every shape, and the countdown steps.

use crate::wizard_json;

use hatui::fleet::inventory::{self, Inventory};
use hatui::wizard::command::Var;
use hatui::wizard::lab;
use hatui::wizard::plan::{self, Remaining, StepKind, Wait};
use jiff::SignedDuration;

fn lab_inventory(cps: usize, workers: usize) -> Inventory {
    inventory::parse("lab.toml", &lab::inventory_toml(cps, workers)).unwrap()
}

fn ids(cps: usize, workers: usize) -> Vec<String> {
    plan::build(&lab_inventory(cps, workers))
        .ids()
        .into_iter()
        .map(String::from)
        .collect()
}

#[test]
fn one_master_and_no_worker_is_init_and_verify_with_a_warning() {
    assert_eq!(
        ids(1, 0),
        [
            "preflight",
            "load-balancer",
            "init",
            "cni",
            "cleanup",
            "verify"
        ]
    );
    let p = plan::build(&lab_inventory(1, 0));
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].contains("no HA"), "{:?}", p.warnings);
}

#[test]
fn three_and_two_join_masters_one_at_a_time_then_workers_together() {
    assert_eq!(ids(3, 2), wizard_json::PLAN_3_2);
    let p = plan::build(&lab_inventory(3, 2));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    for id in ["join-control-plane/cp-2", "join-control-plane/cp-3"] {
        let s = p.step(id).unwrap();
        assert_eq!(s.parallel_group, None, "{id} runs alone");
        let node = id.rsplit('/').next().unwrap().to_string();
        assert_eq!(
            s.waits_for,
            [
                Wait::EtcdVoter { node: node.clone() },
                Wait::NodeReady { node }
            ],
            "{id}"
        );
    }
    for id in ["join-worker/worker-1", "join-worker/worker-2"] {
        assert_eq!(
            p.step(id).unwrap().parallel_group.as_deref(),
            Some("join-worker")
        );
    }
    // The step from 1 to 2 members says it is the riskiest; the next one does not.
    assert!(
        p.step("join-control-plane/cp-2")
            .unwrap()
            .why
            .contains("riskiest")
    );
    assert!(
        !p.step("join-control-plane/cp-3")
            .unwrap()
            .why
            .contains("riskiest")
    );
}

#[test]
fn five_and_three() {
    let ids = ids(5, 3);
    assert_eq!(ids.len(), 4 + 4 + 3 + 2);
    let joins: Vec<&str> = ids
        .iter()
        .filter_map(|i| i.strip_prefix("join-control-plane/"))
        .collect();
    assert_eq!(joins, ["cp-2", "cp-3", "cp-4", "cp-5"]);
    assert_eq!(ids.last().map(String::as_str), Some("verify"));
    let p = plan::build(&lab_inventory(5, 3));
    assert!(p.warnings.is_empty());
    let verify = p.step("verify").unwrap();
    assert_eq!(verify.waits_for.len(), 8, "every node Ready");
    let curls = verify
        .commands
        .iter()
        .filter(|c| c.shown().contains("/readyz"))
        .count();
    assert_eq!(curls, 1 + 5, "the endpoint and every master's apiserver");
}

#[test]
fn two_masters_warn_that_an_even_count_is_worse() {
    assert_eq!(
        ids(2, 1),
        [
            "preflight",
            "load-balancer",
            "init",
            "cni",
            "join-control-plane/cp-2",
            "join-worker/worker-1",
            "cleanup",
            "verify"
        ]
    );
    let p = plan::build(&lab_inventory(2, 1));
    assert_eq!(p.warnings.len(), 1);
    let w = &p.warnings[0];
    assert!(w.contains("2 control planes: an even number"), "{w}");
    assert!(w.contains("quorum is 2 of 2"), "{w}");
    assert!(w.contains("survives 0 failure(s)"), "{w}");
    assert!(plan::shape_warnings(4)[0].contains("quorum is 3 of 4, so it survives 1"));
}

#[test]
fn init_is_the_exact_command_from_the_inventory() {
    let text = lab::inventory_toml(3, 2).replace(
        "cri_socket =",
        "kubernetes_version = \"1.33.1\"\ncri_socket =",
    );
    let inv = inventory::parse("lab.toml", &text).unwrap();
    let p = plan::build(&inv);
    let init = p.step("init").unwrap();
    assert_eq!(init.hosts, ["cp-1"]);
    assert_eq!(
        init.commands[0].shown(),
        "kubeadm init --control-plane-endpoint lab-api.hatui.local:6443 --upload-certs \
         --pod-network-cidr 192.168.0.0/16 --service-cidr 10.96.0.0/12 --node-name cp-1 \
         --cri-socket unix:///var/run/containerd/containerd.sock --kubernetes-version v1.33.1"
    );
    assert_eq!(
        init.captures,
        [Var::Token, Var::CaCertHash, Var::CertificateKey]
    );
    assert!(
        init.why.len() < 300 && init.why.split(". ").count() <= 2,
        "{}",
        init.why
    );
    let join = p.step("join-control-plane/cp-2").unwrap();
    assert_eq!(
        join.commands[0].shown(),
        "kubeadm join lab-api.hatui.local:6443 --token <token> --discovery-token-ca-cert-hash \
         <ca-cert-hash> --control-plane --certificate-key <certificate-key> --node-name cp-2 \
         --cri-socket unix:///var/run/containerd/containerd.sock"
    );
    let worker = p.step("join-worker/worker-1").unwrap();
    assert!(!worker.commands[0].shown().contains("--control-plane"));
    assert_eq!(
        worker.commands[0].vars().collect::<Vec<_>>(),
        [Var::Token, Var::CaCertHash]
    );
}

#[test]
fn every_step_says_why_in_a_sentence_or_two() {
    for s in plan::build(&lab_inventory(3, 2)).steps {
        let sentences = s.why.matches(". ").count() + 1;
        assert!(
            (1..=3).contains(&sentences) && !s.why.is_empty(),
            "{}: {}",
            s.id,
            s.why
        );
        assert!(!s.hosts.is_empty(), "{}", s.id);
    }
}

const HOUR: SignedDuration = SignedDuration::from_hours(1);

#[test]
fn countdowns_insert_upload_certs_and_token_create_before_a_join() {
    let mut p = plan::build(&lab_inventory(3, 2));
    let fresh = Remaining {
        certificate_key: Some(HOUR),
        token: Some(HOUR * 20),
    };
    assert!(
        plan::insert_refreshes(
            &mut p,
            "join-control-plane/cp-2",
            fresh,
            plan::CONTROL_PLANE_JOIN
        )
        .is_empty()
    );

    // 90 s left on the key: a 60 s join plus the margin does not fit.
    let short_key = Remaining {
        certificate_key: Some(SignedDuration::from_secs(90)),
        ..fresh
    };
    let added = plan::insert_refreshes(
        &mut p,
        "join-control-plane/cp-3",
        short_key,
        plan::CONTROL_PLANE_JOIN,
    );
    assert_eq!(added, ["upload-certs/cp-3"]);
    let at = p
        .ids()
        .iter()
        .position(|i| *i == "upload-certs/cp-3")
        .unwrap();
    assert_eq!(p.ids()[at + 1], "join-control-plane/cp-3");
    let s = p.step("upload-certs/cp-3").unwrap();
    assert!(s.why.contains("would expire during the join"), "{}", s.why);
    assert_eq!(s.kind, StepKind::UploadCerts);
    assert_eq!(s.hosts, ["cp-1"]);
    assert_eq!(
        s.commands[0].shown(),
        "kubeadm init phase upload-certs --upload-certs"
    );

    // Both gone (the lab's expired-certificate-key scenario, 3 h later with a dead token).
    let mut p = plan::build(&lab_inventory(3, 2));
    let gone = Remaining {
        certificate_key: None,
        token: None,
    };
    let added = plan::insert_refreshes(
        &mut p,
        "join-control-plane/cp-2",
        gone,
        plan::CONTROL_PLANE_JOIN,
    );
    assert_eq!(added, ["upload-certs/cp-2", "token-create/cp-2"]);
    // Gone already: said in the past tense.
    for id in ["upload-certs/cp-2", "token-create/cp-2"] {
        let why = &p.step(id).unwrap().why;
        assert!(why.contains(" expired") && !why.contains("would"), "{why}");
    }
    let ids = p.ids();
    let cni = ids.iter().position(|i| *i == "cni").unwrap();
    assert_eq!(
        &ids[cni + 1..cni + 4],
        [
            "upload-certs/cp-2",
            "token-create/cp-2",
            "join-control-plane/cp-2"
        ]
    );
    assert_eq!(
        p.step("token-create/cp-2").unwrap().commands[0].shown(),
        "kubeadm token create --print-join-command"
    );
}

#[test]
fn a_worker_join_refreshes_only_the_token_and_before_its_group() {
    let mut p = plan::build(&lab_inventory(3, 2));
    let gone = Remaining {
        certificate_key: None,
        token: Some(SignedDuration::from_secs(20)),
    };
    let added = plan::insert_refreshes(&mut p, "join-worker/worker-2", gone, plan::WORKER_JOIN);
    assert_eq!(added, ["token-create/worker-2"]);
    let ids = p.ids();
    let at = ids
        .iter()
        .position(|i| *i == "token-create/worker-2")
        .unwrap();
    assert_eq!(
        &ids[at + 1..at + 3],
        ["join-worker/worker-1", "join-worker/worker-2"]
    );
    assert!(plan::insert_refreshes(&mut p, "no-such-step", gone, plan::WORKER_JOIN).is_empty());
}

mod material {
    use hatui::wizard::command::Var;
    use hatui::wizard::material::JoinMaterial;
    use hatui::wizard::plan::{self, StepKind};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/kubeadm/",
                $name
            ))
        };
    }

    const HASH: &str = "sha256:4873d6a68f2b9fc4eaae62765fea81db2e14dd4ed5d8504ccf37b590dcc3c413";

    #[test]
    fn joins_show_hidden_secrets_and_run_with_the_real_ones() {
        let p = plan::build(&super::lab_inventory(3, 2));
        let join = &p.step("join-control-plane/cp-2").unwrap().commands[0];
        let mut m = JoinMaterial::default();
        assert_eq!(m.expose(join), Err(Var::Token), "nothing known before init");
        assert!(m.show(join).contains("--token <token>"));

        m.absorb(StepKind::Init, fixture!("init-v1.32-tabs.txt"))
            .unwrap();
        assert_eq!(
            m.show(join),
            format!(
                "kubeadm join lab-api.hatui.local:6443 --token 9a8x2k.<hidden> \
                 --discovery-token-ca-cert-hash {HASH} --control-plane --certificate-key <hidden> \
                 --node-name cp-2 --cri-socket unix:///var/run/containerd/containerd.sock"
            )
        );
        let run = m.expose(join).unwrap();
        assert!(run.contains("--token 9a8x2k.e4c82f167cb1adb5 "), "{run}");
        assert!(run.contains("--certificate-key 85612b4f52f6fac9"), "{run}");
        assert!(!format!("{m:?}").contains("e4c82f167cb1adb5"), "{m:?}");

        // The key is renewed by upload-certs, the token by token create.
        m.absorb(StepKind::UploadCerts, fixture!("upload-certs.txt"))
            .unwrap();
        m.absorb(StepKind::TokenCreate, fixture!("token-create.txt"))
            .unwrap();
        let run = m.expose(join).unwrap();
        assert!(run.contains("--token p4l7qd.5f3030a5686a4bdd "), "{run}");
        assert!(run.contains("--certificate-key 357b5068b3854cc2"), "{run}");
        assert!(m.show(join).contains("--token p4l7qd.<hidden>"));
    }

    #[test]
    fn an_init_without_endpoint_leaves_no_certificate_key() {
        let p = plan::build(&super::lab_inventory(3, 0));
        let join = &p.step("join-control-plane/cp-2").unwrap().commands[0];
        let mut m = JoinMaterial::default();
        m.absorb(StepKind::Init, fixture!("init-v1.31-no-endpoint.txt"))
            .unwrap();
        assert_eq!(m.expose(join), Err(Var::CertificateKey));
        assert!(
            m.absorb(StepKind::Init, "error execution phase preflight")
                .is_err()
        );
    }
}

/// The lab's 3+1 inventory with kube-vip holding 10.0.0.100, pinned to `version`.
fn kube_vip(version: &str) -> plan::Plan {
    let text = lab::inventory_toml(3, 1)
        .replacen(
            "endpoint = \"lab-api.hatui.local:6443\"",
            "endpoint = \"10.0.0.100:6443\"",
            1,
        )
        .replacen(
            "load_balancer = \"nlb\"",
            &format!("load_balancer = \"kube-vip\"\nkubernetes_version = \"{version}\""),
            1,
        )
        + "\n[vip]\ninterface = \"eth0\"\n";
    plan::build(&inventory::parse("lab.toml", &text).unwrap())
}

#[test]
fn kube_vip_uses_super_admin_conf_during_init_from_1_29_and_admin_conf_before() {
    let mounts = |c: &str, conf: &str| c.contains(&format!("      path: /etc/kubernetes/{conf}\n"));
    let new = kube_vip("1.33.1");
    let lb = new.step("load-balancer").unwrap();
    assert_eq!(lb.commands.len(), 1, "the manifest on cp-1 only");
    assert_eq!(lb.commands[0].host, "cp-1");
    assert!(mounts(&lb.commands[0].shown(), "super-admin.conf"));
    let init = new.step("init").unwrap();
    assert_eq!(init.commands.len(), 2);
    assert!(mounts(&init.commands[1].shown(), "admin.conf"));
    let join = new.step("join-control-plane/cp-2").unwrap();
    assert!(join.commands[0].shown().starts_with("kubeadm join"));
    assert!(mounts(&join.commands[1].shown(), "admin.conf"));
    let worker = new.step("join-worker/worker-1").unwrap();
    assert_eq!(worker.commands.len(), 1);

    let old = kube_vip("1.28.15");
    assert!(mounts(
        &old.step("load-balancer").unwrap().commands[0].shown(),
        "admin.conf"
    ));
    assert_eq!(
        old.step("init").unwrap().commands.len(),
        1,
        "nothing to give back"
    );
}

/// A real tool's output; a missing tool fails the test with what installs it.
fn tool(name: &str, package: &str, args: &[&str]) -> std::process::Output {
    match std::process::Command::new(name).args(args).output() {
        Ok(out) => out,
        Err(e) => panic!("{name}: {e}: install it with `apt-get install -y {package}`"),
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A dir of fake binaries for the preflight step: a prepared host's, without `missing`.
fn fake_host(dir: &std::path::Path, missing: &[&str], swap: bool) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join(format!("bin-{}-{swap}", missing.join("-")));
    std::fs::create_dir_all(&bin).unwrap();
    let swapon = if swap {
        "echo '/swap.img file 2G 0B -2'"
    } else {
        "exit 0"
    };
    for (name, body) in [
        ("swapon", swapon),
        ("cat", "echo 1"),
        ("systemctl", "exit 0"),
        ("crictl", "exit 0"),
        ("kubeadm", "exit 0"),
        ("kubelet", "exit 0"),
        ("kubectl", "exit 0"),
    ] {
        if missing.contains(&name) {
            continue;
        }
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// `command -v kubeadm kubelet` succeeds when kubeadm alone is found (dash and bash): the
/// plan's preflight checks each binary on its own, with `--preflight`'s rule and fix.
#[test]
fn the_preflight_step_fails_a_host_with_kubeadm_and_no_kubelet_in_sh_and_bash() {
    use hatui::wizard::preflight::checks::{BINARY_FIX, SWAP, failure_line};
    let plan = plan::build(&lab_inventory(1, 1));
    let step = plan.step("preflight").unwrap();
    let script = step.commands[0].shown();
    assert!(
        script.contains("swapon"),
        "the lab's kubeadm double knows it by swapon"
    );
    let dir = tempfile::tempdir().unwrap();
    let run = |shell: &str, bin: &std::path::Path| {
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(&script)
            .env_clear()
            .env("PATH", bin)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let missing = |bin: &str| {
        format!(
            "{}\n",
            failure_line(
                &format!("Binary-{bin}"),
                &format!("{bin} is not on the PATH"),
                BINARY_FIX
            )
        )
    };
    for shell in ["/bin/sh", "/bin/bash"] {
        let ready = fake_host(dir.path(), &[], false);
        assert_eq!(run(shell, &ready), (Some(0), String::new()), "{shell}");
        let no_kubelet = fake_host(dir.path(), &["kubelet"], false);
        assert_eq!(
            run(shell, &no_kubelet),
            (Some(1), missing("kubelet")),
            "{shell}"
        );
        let no_kubeadm = fake_host(dir.path(), &["kubeadm"], false);
        assert_eq!(
            run(shell, &no_kubeadm),
            (Some(1), missing("kubeadm")),
            "{shell}"
        );
        let none = fake_host(dir.path(), &["kubeadm", "kubelet", "kubectl"], true);
        assert_eq!(
            run(shell, &none),
            (
                Some(1),
                format!(
                    "{}\n{}{}{}",
                    plan::SWAP_ON,
                    missing("kubeadm"),
                    missing("kubelet"),
                    missing("kubectl")
                )
            ),
            "{shell}"
        );
    }
    assert_eq!(
        plan::SWAP_ON,
        failure_line(SWAP.name, SWAP.problem, SWAP.fix),
        "the lab's hosts print the rule's line"
    );
}

/// The haproxy inventory of the load-balancer files' tests: 3 masters and a worker.
fn haproxy_inventory(name: &str, vip: &str) -> Inventory {
    let text = format!(
        "name = \"{name}\"\nendpoint = \"{vip}:8443\"\nload_balancer = \"haproxy\"\n\
         [vip]\ninterface = \"ens192\"\nrouter_id = 52\n\
         [[hosts]]\nname = \"cp-1\"\naddress = \"10.0.0.11\"\nrole = \"control-plane\"\n\
         [[hosts]]\nname = \"cp-2\"\naddress = \"10.0.0.12\"\nrole = \"control-plane\"\n\
         [[hosts]]\nname = \"cp-3\"\naddress = \"10.0.0.13\"\nrole = \"control-plane\"\n\
         [[hosts]]\nname = \"worker-1\"\naddress = \"10.0.1.1\"\nrole = \"worker\"\n"
    );
    inventory::parse("hatui.toml", &text).unwrap()
}

/// HAProxy's own check of the rendered haproxy.cfg: valid, and no warning.
#[test]
fn haproxy_c_passes_the_rendered_config_without_a_warning() {
    use hatui::wizard::plan::lb_files::haproxy_cfg;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.cfg");
    let cfg = haproxy_cfg(&haproxy_inventory("prod", "10.0.0.100"));
    assert!(cfg.contains("    timeout client          35s\n    timeout server          35s\n"));
    std::fs::write(&path, &cfg).unwrap();
    let out = tool("haproxy", "haproxy", &["-c", "-f", path.to_str().unwrap()]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("[WARNING]") && !said.contains("[ALERT]"),
        "{said}"
    );
}

/// keepalived's own check (`keepalived -t`) of each host's keepalived.conf, with the check
/// script where keepalived wants it: owned by root, writable by no one else (here in a
/// temp dir, the config pointed there) and on the interface the inventory names (in a
/// network namespace of its own, where a veth takes that name). shellcheck of the script.
#[test]
fn keepalived_t_passes_every_hosts_config_and_the_check_script_is_shellcheck_clean() {
    use hatui::wizard::plan::lb_files::{CHECK_APISERVER_PATH, check_apiserver, keepalived_conf};
    use std::os::unix::fs::PermissionsExt;
    let inv = haproxy_inventory("prod", "10.0.0.100");
    let vip = inv.vip.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check_apiserver.sh");
    std::fs::write(&script, check_apiserver(&inv)).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sc = tool(
        "shellcheck",
        "shellcheck",
        &["-S", "warning", script.to_str().unwrap()],
    );
    assert!(sc.status.success(), "{}", text(&sc));
    for ordinal in 0..3 {
        let conf = keepalived_conf(&inv, &vip, ordinal)
            .replace(CHECK_APISERVER_PATH, script.to_str().unwrap());
        let path = dir.path().join(format!("keepalived-{ordinal}.conf"));
        std::fs::write(&path, &conf).unwrap();
        tool("keepalived", "keepalived", &["-v"]);
        tool("ip", "iproute2", &["-V"]);
        let out = tool(
            "unshare",
            "util-linux",
            &[
                "-n",
                "sh",
                "-c",
                "ip link add \"$1\" type veth peer name hatui-peer && exec keepalived -t -f \"$2\"",
                "sh",
                &vip.interface,
                path.to_str().unwrap(),
            ],
        );
        let said = text(&out);
        assert!(
            out.status.success(),
            "keepalived -t, host {ordinal}: {said}\n{conf}"
        );
        assert!(
            !said.contains("WARNING") && !said.contains("SECURITY"),
            "{said}"
        );
    }
}
