//! The steps of the plan, one builder each: hosts, exact commands, why, and what follows.

use jiff::SignedDuration;

use super::{ADMIN_CONF, CONTROL_PLANE_JOIN, Step, StepKind, WORKER_JOIN, Wait, step};
use crate::wizard::command::{Command, Var};
use crate::wizard::inventory::{Host, Inventory, LoadBalancer};

pub(super) fn preflight(inv: &Inventory) -> Step {
    let mut s = step(
        "preflight",
        StepKind::Preflight,
        "kubeadm refuses to start with swap on, IP forwarding off or no container runtime. \
         Finding that now, on every host, is cheaper than halfway through the joins.",
    );
    // A compound command: only crictl needs root, so it carries its own sudo.
    let sudo = if inv.ssh.sudo { "sudo " } else { "" };
    for h in &inv.hosts {
        s.hosts.push(h.name.clone());
        s.commands.push(Command {
            root: false,
            ..Command::root(
                &h.name,
                format!(
                    "test -z \"$(swapon --noheadings)\" && test \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 \
                     && systemctl is-active --quiet containerd && command -v kubeadm kubelet >/dev/null \
                     && {sudo}crictl --runtime-endpoint {} info >/dev/null",
                    inv.cri_socket
                ),
            )
        });
    }
    s
}

pub(super) fn load_balancer(inv: &Inventory) -> Step {
    let endpoint = inv.endpoint.to_string();
    let mut s = step(
        "load-balancer",
        StepKind::LoadBalancer,
        "Every node and kubeconfig talks to the control plane through one endpoint, so that \
         losing a master changes nothing for them. It must exist before init, which writes it \
         into every certificate and kubeconfig.",
    );
    let is_name = inv.endpoint.host.parse::<std::net::IpAddr>().is_err();
    for h in &inv.hosts {
        s.hosts.push(h.name.clone());
        if is_name {
            s.commands.push(Command {
                root: false,
                ..Command::root(
                    &h.name,
                    format!("getent hosts {} >/dev/null", inv.endpoint.host),
                )
            });
        }
    }
    let masters: Vec<String> = inv
        .control_planes()
        .map(|h| format!("{}:6443", h.address))
        .collect();
    s.notes.push(match inv.load_balancer {
        LoadBalancer::Nlb => format!(
            "nlb: a TCP listener on {endpoint} with every master as a target ({}); its TCP health check cannot see /readyz.",
            masters.join(", ")
        ),
        LoadBalancer::Haproxy => format!(
            "haproxy: a frontend on {endpoint} with every master as a backend ({}), checked with GET /healthz over TLS.",
            masters.join(", ")
        ),
        LoadBalancer::KubeVip => format!(
            "kube-vip: its static pod on each master holds {} (on the first master it must use /etc/kubernetes/super-admin.conf during init, since 1.29).",
            inv.endpoint.host
        ),
    });
    s
}

pub(super) fn init(inv: &Inventory, first: &Host) -> Step {
    let mut line = format!(
        "kubeadm init --control-plane-endpoint {} --upload-certs --pod-network-cidr {} --service-cidr {} --node-name {} --cri-socket {}",
        inv.endpoint, inv.pod_cidr, inv.service_cidr, first.name, inv.cri_socket
    );
    if let Some(v) = &inv.kubernetes_version {
        line.push_str(&format!(" --kubernetes-version {v}"));
    }
    let mut s = step(
        "init",
        StepKind::Init,
        "kubeadm init makes the cluster's certificates and its first etcd member and control \
         plane on this master. --upload-certs stores the certificates, encrypted, for the other \
         masters to fetch with the certificate key (for 2 hours).",
    );
    s.hosts.push(first.name.clone());
    s.commands.push(Command::root(&first.name, line));
    s.captures = vec![Var::Token, Var::CaCertHash, Var::CertificateKey];
    s.waits_for.push(Wait::EndpointReady {
        endpoint: inv.endpoint.to_string(),
    });
    s.expected = SignedDuration::from_secs(60);
    s
}

pub(super) fn cni(inv: &Inventory, first: &Host) -> Step {
    let mut s = step(
        "cni",
        StepKind::Cni,
        "Nodes stay NotReady and CoreDNS stays Pending until a pod network exists. It is applied \
         once, from the first master; its pods then run on every node that joins.",
    );
    s.hosts.push(first.name.clone());
    let manifest = &inv.cni.manifest;
    let line = if manifest.contains("://") {
        format!("kubectl --kubeconfig {ADMIN_CONF} apply -f {manifest}")
    } else {
        // A file here, on the bastion: the script feeds it on stdin.
        format!("kubectl --kubeconfig {ADMIN_CONF} apply -f -")
    };
    s.commands.push(Command::root(&first.name, line));
    if !manifest.contains("://") {
        s.notes
            .push(format!("{manifest} is read here and sent on stdin."));
    }
    s.waits_for.push(Wait::NodeReady {
        node: first.name.clone(),
    });
    s.expected = SignedDuration::from_secs(60);
    s
}

fn join_command(inv: &Inventory, host: &Host, control_plane: bool) -> Command {
    let mut c = Command::root(
        &host.name,
        format!("kubeadm join {} --token ", inv.endpoint),
    )
    .var(Var::Token)
    .text(" --discovery-token-ca-cert-hash ")
    .var(Var::CaCertHash);
    if control_plane {
        c = c
            .text(" --control-plane --certificate-key ")
            .var(Var::CertificateKey);
    }
    c.text(format!(
        " --node-name {} --cri-socket {}",
        host.name, inv.cri_socket
    ))
}

pub(super) fn join_control_plane(inv: &Inventory, host: &Host, ordinal: usize) -> Step {
    let why = if ordinal == 2 {
        "The riskiest step: from 1 etcd member to 2, quorum becomes 2 of 2, so until this member \
         is healthy, losing either master stops the cluster. kubeadm adds it as a learner and \
         promotes it once it has caught up."
            .to_string()
    } else {
        format!(
            "Master {ordinal} adds an apiserver behind the endpoint and etcd member {ordinal}. \
             Masters join one at a time: etcd takes one learner at a time, and each join must \
             leave a healthy quorum behind."
        )
    };
    let mut s = step(
        format!("join-control-plane/{}", host.name),
        StepKind::JoinControlPlane,
        &why,
    );
    s.hosts.push(host.name.clone());
    s.commands.push(join_command(inv, host, true));
    s.waits_for = vec![
        Wait::EtcdVoter {
            node: host.name.clone(),
        },
        Wait::NodeReady {
            node: host.name.clone(),
        },
    ];
    s.expected = CONTROL_PLANE_JOIN;
    s
}

pub(super) fn join_worker(inv: &Inventory, host: &Host) -> Step {
    let mut s = step(
        format!("join-worker/{}", host.name),
        StepKind::JoinWorker,
        "Workers run the applications and hold no etcd member, so they join all at once.",
    );
    s.hosts.push(host.name.clone());
    s.commands.push(join_command(inv, host, false));
    s.waits_for.push(Wait::NodeReady {
        node: host.name.clone(),
    });
    s.parallel_group = Some("join-worker".into());
    s.expected = WORKER_JOIN;
    s
}

/// etcdctl in the first master's etcd pod: the etcd image has etcdctl but no shell.
pub fn etcdctl(first: &str, args: &str) -> String {
    format!(
        "kubectl --kubeconfig {ADMIN_CONF} -n kube-system exec etcd-{first} -- etcdctl \
         --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt \
         --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \
         --key /etc/kubernetes/pki/etcd/healthcheck-client.key {args}"
    )
}

pub(super) fn verify(inv: &Inventory, first: &Host) -> Step {
    let mut s = step(
        "verify",
        StepKind::Verify,
        "HA is a claim until checked: every node Ready, one etcd voter per master and no \
         learner left, both leader leases held, and every apiserver ready behind the endpoint.",
    );
    s.hosts.push(first.name.clone());
    let f = &first.name;
    s.commands.push(Command::root(
        f,
        format!("kubectl --kubeconfig {ADMIN_CONF} get nodes -o wide"),
    ));
    s.commands
        .push(Command::root(f, etcdctl(f, "member list -w table")));
    s.commands.push(Command::root(
        f,
        format!("kubectl --kubeconfig {ADMIN_CONF} -n kube-system get lease kube-scheduler kube-controller-manager"),
    ));
    s.commands.push(Command::root(
        f,
        format!("kubectl --kubeconfig {ADMIN_CONF} get --raw /readyz"),
    ));
    for m in inv.control_planes() {
        s.commands.push(Command {
            root: false,
            ..Command::root(f, format!("curl -fsSk https://{}:6443/readyz", m.address))
        });
    }
    s.waits_for = inv
        .hosts
        .iter()
        .map(|h| Wait::NodeReady {
            node: h.name.clone(),
        })
        .collect();
    s.notes
        .push("Then try the failover drill: power off a master and watch the cockpit.".into());
    s
}
