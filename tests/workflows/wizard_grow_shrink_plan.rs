//! Day 2's grow and shrink plans on their own: the move-leader command against a real
//! 3-member etcd (TLS, loopback), the load balancer's targets for HAProxy and kube-vip,
//! and the refusal's arithmetic. The plans run on the lab: `wizard_grow_shrink.rs`.

use hatui_testkit::etcd_cluster;

use std::process::Command;

use hatui_fleet::inventory;
use hatui_workflows::wizard::{lab, plan};

fn inv(masters: usize) -> inventory::Inventory {
    inventory::parse("lab", &lab::inventory_toml(masters, 0)).unwrap()
}

#[test]
fn the_refusal_counts_with_the_quorum() {
    assert!(plan::shrink_refusal(5, 2, 3).is_none(), "5 -> 3 is fine");
    assert!(plan::shrink_refusal(7, 2, 5).is_none(), "7 -> 5 is fine");
    let why = plan::shrink_refusal(5, 1, 4).unwrap();
    assert!(why.contains("4 masters, an even number"), "{why}");
    let why = plan::shrink_refusal(3, 1, 2).unwrap();
    assert!(why.contains("leave 2 master(s)"), "{why}");
    // Three left, but only one of them answers: no quorum to commit the removal.
    let why = plan::shrink_refusal(5, 2, 1).unwrap();
    assert!(why.contains("only 1 answer: 2 are needed"), "{why}");
}

/// `kubectl exec etcd-NODE -- etcdctl ...` on this machine: the real etcdctl against
/// NODE's member of the test's real cluster, kubeadm's certificate paths mapped to the
/// test's (etcd_exec does the same through the tests' API server).
const KUBECTL_EXEC: &str = r#"#!/bin/bash
args=("$@")
i=0
while [ "${args[$i]}" != exec ]; do i=$((i + 1)); done
pod=${args[$((i + 1))]}
ep=$(cat "$D/ep-${pod#etcd-}")
out=()
for a in "${args[@]:$((i + 4))}"; do
  a=${a//https:\/\/127.0.0.1:2379/$ep}
  a=${a//\/etc\/kubernetes\/pki\/etcd\/ca.crt/$CA}
  a=${a//\/etc\/kubernetes\/pki\/etcd\/healthcheck-client.crt/$CERT}
  a=${a//\/etc\/kubernetes\/pki\/etcd\/healthcheck-client.key/$KEY}
  out+=("$a")
done
ETCDCTL_API=3 exec "$ETCDCTL" "${out[@]}"
"#;

/// The plan's `move-leader/NODE` command run by sh against a real 3-member etcd: it
/// reads `endpoint status -w json` as etcdctl prints it, moves leadership off NODE when
/// NODE leads (etcdctl's own line), and leaves it alone otherwise.
#[test]
fn the_move_leader_command_moves_a_real_etcds_leadership_only_off_a_leader() {
    use std::os::unix::fs::PermissionsExt;
    let names = [
        ("cp-1", "127.0.0.1"),
        ("cp-2", "127.0.0.1"),
        ("cp-3", "127.0.0.1"),
    ];
    let cluster = etcd_cluster::EtcdCluster::start_on(&names);
    let bin = cluster.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kubectl = bin.join("kubectl");
    std::fs::write(&kubectl, KUBECTL_EXEC).unwrap();
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    for m in &cluster.members {
        std::fs::write(cluster.dir.join(format!("ep-{}", m.name)), &m.client_url).unwrap();
    }
    let leader = cluster.wait_for_leader(std::time::Duration::from_secs(30));
    let follower = ["cp-1", "cp-2", "cp-3"]
        .into_iter()
        .find(|n| *n != leader)
        .unwrap();
    let to = ["cp-1", "cp-2", "cp-3"]
        .into_iter()
        .find(|n| *n != leader && *n != follower)
        .unwrap();
    // cp-1..3 of a 5-master inventory: the plan's command for NODE, through `to`.
    let command = |node: &str| {
        let nodes = [node.to_string(), "cp-5".to_string()];
        let p = plan::shrink(&inv(5), &nodes, to).unwrap();
        let s = p.step(&format!("move-leader/{node}")).unwrap();
        s.commands[0].shown()
    };
    let run = |line: String| {
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let out = Command::new("sh")
            .args(["-c", &line])
            .env("PATH", path)
            .env("D", &cluster.dir)
            .env("CA", &cluster.certs.ca)
            .env("CERT", &cluster.certs.client_cert)
            .env("KEY", &cluster.certs.client_key)
            .env("ETCDCTL", etcd_cluster::etcdctl_bin())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{line}\n{text}");
        text
    };

    let said = run(command(follower));
    assert_eq!(
        said.trim(),
        format!("{follower} does not lead: nothing to move")
    );
    assert_eq!(
        cluster.leader_name_by_etcd().as_deref(),
        Some(leader.as_str())
    );

    let said = run(command(&leader));
    assert!(said.starts_with("Leadership transferred from "), "{said}");
    let now = cluster.wait_for_leader(std::time::Duration::from_secs(10));
    assert_eq!(
        now, to,
        "leadership went to the master the plan runs through"
    );
}

/// A 5-master inventory with HAProxy and keepalived on the masters (or kube-vip).
fn vip_inventory(lb: &str) -> inventory::Inventory {
    let mut text = format!(
        "name = \"prod\"\nendpoint = \"10.0.0.100:{}\"\nload_balancer = \"{lb}\"\n\
         [vip]\ninterface = \"ens192\"\nrouter_id = 52\n",
        if lb == "haproxy" { 8443 } else { 6443 }
    );
    for i in 1..=5 {
        text.push_str(&format!(
            "[[hosts]]\nname = \"cp-{i}\"\naddress = \"10.0.0.1{i}\"\nrole = \"control-plane\"\n"
        ));
    }
    inventory::parse("hatui.toml", &text).unwrap()
}

#[test]
fn haproxy_backends_follow_a_grow_and_a_shrink_and_kube_vip_needs_no_step() {
    let inv = vip_inventory("haproxy");
    let nodes = ["cp-4".to_string(), "cp-5".to_string()];
    let p = plan::grow(&inv, &nodes, "cp-1", false).unwrap();
    let s = p.step("lb-targets/cp-4").unwrap();
    let on = |host: &str| -> Vec<String> {
        let cs = s.commands.iter().filter(|c| c.host == host);
        cs.map(|c| c.shown()).collect()
    };
    assert!(on("cp-5").is_empty(), "cp-5 has not joined yet");
    for host in ["cp-1", "cp-2", "cp-3", "cp-4"] {
        let cmds = on(host);
        assert!(
            cmds[0].contains("/etc/haproxy/haproxy.cfg")
                && cmds[0].contains("server cp-4 10.0.0.14:6443")
                && !cmds[0].contains("server cp-5"),
            "{host}: {cmds:?}"
        );
        let last = cmds.last().unwrap();
        if host == "cp-4" {
            assert!(
                cmds.iter()
                    .any(|c| c.contains("/etc/keepalived/keepalived.conf")
                        && c.contains("state BACKUP")),
                "{cmds:?}"
            );
            assert_eq!(
                last,
                "systemctl enable haproxy keepalived && systemctl restart haproxy keepalived"
            );
        } else {
            assert_eq!(last, "systemctl reload haproxy", "{host}");
        }
    }

    let last = p.step("lb-targets/cp-5").unwrap();
    let cfg = last
        .commands
        .iter()
        .find(|c| c.host == "cp-1")
        .unwrap()
        .shown();
    assert!(cfg.contains("server cp-5 10.0.0.15:6443"), "{cfg}");

    let p = plan::shrink(&inv, &["cp-5".to_string(), "cp-4".to_string()], "cp-1").unwrap();
    let s = p.step("lb-targets/cp-5").unwrap();
    let cfg = s
        .commands
        .iter()
        .find(|c| c.host == "cp-1")
        .unwrap()
        .shown();
    assert!(cfg.contains("server cp-3 10.0.0.13:6443"), "{cfg}");
    assert!(
        !cfg.contains("server cp-5") && !cfg.contains("server cp-4"),
        "{cfg}"
    );
    let off = s
        .commands
        .iter()
        .find(|c| c.host == "cp-5")
        .unwrap()
        .shown();
    assert_eq!(off, "systemctl disable --now haproxy keepalived");
    assert!(
        p.site
            .masters
            .iter()
            .all(|(n, _)| n != "cp-4" && n != "cp-5")
    );

    let inv = vip_inventory("kube-vip");
    let p = plan::grow(&inv, &nodes, "cp-1", false).unwrap();
    assert!(p.step("lb-targets/cp-4").is_none(), "{:?}", p.ids());
    let join = p.step("join-control-plane/cp-4").unwrap();
    assert!(join.commands.iter().any(|c| {
        c.shown()
            .contains("/etc/kubernetes/manifests/kube-vip.yaml")
    }));
}
