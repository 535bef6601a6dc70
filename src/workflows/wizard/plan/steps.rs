//! The steps of the plan, one builder each: hosts, exact commands, why, and what follows.

use jiff::SignedDuration;

use super::lb_files::{
    CHECK_APISERVER_PATH, HAPROXY_CFG_PATH, KEEPALIVED_CONF_PATH, KUBE_VIP_PATH, SUPER_ADMIN_CONF,
    check_apiserver, haproxy_cfg, install, keepalived_conf, kube_vip_manifest, needs_super_admin,
};
use super::{ADMIN_CONF, CONTROL_PLANE_JOIN, Site, Step, StepKind, WORKER_JOIN, Wait, step};
use crate::wizard::command::{Command, Var};
use crate::wizard::preflight::checks;
use hatui_fleet::inventory::{Host, Inventory, LoadBalancer};

/// What the preflight step prints when swap is on (the lab's hosts print it too): the
/// line of [`preflight::checks::SWAP`] (`checks::failure_line`).
pub const SWAP_ON: &str = "hatui preflight: swap is on (swapon lists a swap device): the kubelet refuses to start with it (failSwapOn is true by default) [Swap]; fix: swapoff -a && sed -i '/\\sswap\\s/ s/^/#/' /etc/fstab";

pub(super) fn preflight(inv: &Inventory) -> Step {
    let mut s = step(
        "preflight",
        StepKind::Preflight,
        "kubeadm refuses to start with swap on, IP forwarding off or no container runtime. \
         Finding that now, on every host, is cheaper than halfway through the joins.",
    );
    // `--preflight`'s rules (swap, forwarding, each binary, the runtime) in shell: not a
    // root command, only crictl needs root and carries its own sudo.
    for h in &inv.hosts {
        s.hosts.push(h.name.clone());
        s.commands.push(Command {
            root: false,
            ..Command::root(&h.name, checks::step_script(&inv.cri_socket, inv.ssh.sudo))
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
    lb_files(inv, &mut s);
    let masters: Vec<String> = inv
        .control_planes()
        .map(|h| format!("{}:6443", h.address))
        .collect();
    match inv.load_balancer {
        LoadBalancer::Nlb => s.notes.extend(nlb_checklist(inv, &masters)),
        LoadBalancer::Haproxy => s.notes.push(format!(
            "haproxy: a frontend on {endpoint} with every master as a backend ({}), checked with GET /healthz over TLS; HAProxy and keepalived must be installed where they run (apt-get install -y haproxy keepalived).",
            masters.join(", ")
        )),
        LoadBalancer::KubeVip => s.notes.push(format!(
            "kube-vip: its static pod on each master holds {} (on the first master it must use /etc/kubernetes/super-admin.conf during init, since 1.29).",
            inv.endpoint.host
        )),
    }
    s
}

/// What the operator makes in AWS before init (hatui does not call AWS): the checklist
/// the step shows, one line per thing to make or check.
fn nlb_checklist(inv: &Inventory, masters: &[String]) -> Vec<String> {
    let ep = &inv.endpoint;
    let mut list = vec![
        format!(
            "nlb checklist: a network load balancer with a TCP listener on port {} forwarding to a target group (protocol TCP, port 6443, target type ip) that holds every master: {}.",
            ep.port,
            masters.join(", ")
        ),
        "nlb checklist: the target group's health check on TCP 6443 (AWS's TCP defaults: every 30 s, out after 2 failed checks, back after 5 passed; a powered-off master gets new connections until then or until the NLB's passive checks drop it); a TCP check cannot see /readyz, HTTPS on /readyz can.".to_string(),
        "nlb checklist: the masters' security group lets in TCP 6443 from the NLB's subnets and every node, 2379-2380 between the masters (etcd), 10250 from the masters to every node (kubelet); 10257 and 10259 (controller-manager, scheduler) listen on 127.0.0.1 under kubeadm and need no rule.".to_string(),
    ];
    if ep.host.parse::<std::net::IpAddr>().is_err() {
        list.push(format!(
            "nlb checklist: {} resolves, on every host, to the NLB (a Route 53 alias or CNAME of its DNS name); checked here with getent on each host.",
            ep.host
        ));
    }
    list.push(format!(
        "once init has started the first master's apiserver, init checks from it that {ep} resolves and answers /readyz through the NLB."
    ));
    list
}

/// After init on the first master: the endpoint resolves and reaches its apiserver through
/// the NLB (the targets' health checks take a while: curl retries for a minute).
fn endpoint_reaches(inv: &Inventory, first: &str) -> Command {
    let ep = &inv.endpoint;
    let resolve = if ep.host.parse::<std::net::IpAddr>().is_err() {
        format!("getent hosts {} && ", ep.host)
    } else {
        String::new()
    };
    Command {
        root: false,
        ..Command::root(
            first,
            format!(
                "{resolve}curl -fsSk --max-time 10 --retry 12 --retry-delay 5 --retry-all-errors https://{ep}/readyz"
            ),
        )
    }
}

/// HAProxy and keepalived on every master, restarted on their new files; kube-vip's
/// static pod on the first master, with super-admin.conf when init needs it.
fn lb_files(inv: &Inventory, s: &mut Step) {
    let Some(vip) = &inv.vip else { return };
    match inv.load_balancer {
        LoadBalancer::Nlb => {}
        LoadBalancer::Haproxy => {
            let cfg = haproxy_cfg(inv);
            let check = check_apiserver(inv);
            // Hosts of its own when the inventory names them, else every master.
            let on: Vec<&Host> = if inv.load_balancers.is_empty() {
                inv.control_planes().collect()
            } else {
                s.hosts
                    .extend(inv.load_balancers.iter().map(|h| h.name.clone()));
                inv.load_balancers.iter().collect()
            };
            for (i, m) in on.into_iter().enumerate() {
                let n = &m.name;
                s.commands.push(install(n, HAPROXY_CFG_PATH, "0644", &cfg));
                let keepalived = keepalived_conf(inv, vip, i);
                s.commands
                    .push(install(n, KEEPALIVED_CONF_PATH, "0644", &keepalived));
                s.commands
                    .push(install(n, CHECK_APISERVER_PATH, "0755", &check));
                s.commands.push(Command::root(
                    n,
                    "systemctl enable haproxy keepalived && systemctl restart haproxy keepalived",
                ));
            }
        }
        LoadBalancer::KubeVip => {
            let first = &inv.first_control_plane().name;
            let kubeconfig = if needs_super_admin(inv) {
                SUPER_ADMIN_CONF
            } else {
                ADMIN_CONF
            };
            let manifest = kube_vip_manifest(inv, vip, kubeconfig);
            s.commands
                .push(install(first, KUBE_VIP_PATH, "0600", &manifest));
        }
    }
}

/// kube-vip's static pod with admin.conf, on `host` (after init, or after its join).
fn kube_vip_with_admin_conf(inv: &Inventory, host: &str) -> Option<Command> {
    let vip = inv.vip.as_ref()?;
    (inv.load_balancer == LoadBalancer::KubeVip).then(|| {
        install(
            host,
            KUBE_VIP_PATH,
            "0600",
            &kube_vip_manifest(inv, vip, ADMIN_CONF),
        )
    })
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
    if needs_super_admin(inv)
        && let Some(c) = kube_vip_with_admin_conf(inv, &first.name)
    {
        // Init has granted admin.conf its rights: kube-vip gives super-admin.conf back
        // (kube-vip#684); the kubelet restarts it on the new manifest.
        s.commands.push(c);
    }
    if inv.load_balancer == LoadBalancer::Nlb {
        s.commands.push(endpoint_reaches(inv, &first.name));
    }
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
    // After the join, not before: kubeadm join's preflight refuses a non-empty
    // /etc/kubernetes/manifests (DirAvailable--etc-kubernetes-manifests), and the
    // admin.conf kube-vip mounts is written by the join.
    s.commands
        .extend(kube_vip_with_admin_conf(inv, host.name.as_str()));
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
    etcdctl_with(&format!("kubectl --kubeconfig {ADMIN_CONF}"), first, args)
}

/// [`etcdctl`] through `kubectl`, a kubectl command line with flags of its own.
pub fn etcdctl_with(kubectl: &str, first: &str, args: &str) -> String {
    format!(
        "{kubectl} -n kube-system exec etcd-{first} -- etcdctl \
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

/// The id of the step that sets `controlPlaneEndpoint` on a cluster initialised without it.
pub const ENDPOINT_STEP: &str = "control-plane-endpoint";

/// Seed 003's troubleshooting as a step, on the master that ran init: the endpoint goes
/// into `kubeadm-config` (joins read the ClusterConfiguration from it), as the server of
/// `kube-public/cluster-info` (joins discover the cluster through it; the
/// controller-manager's bootstrap signer signs it again), into the apiserver
/// certificate's SANs (a new certificate, the old one moved aside, the apiserver
/// restarted to serve it), and into this master's kubeconfigs.
pub fn control_plane_endpoint(site: &Site, problem: &str) -> Step {
    let (first, address) = site.masters.first().cloned().unwrap_or_default();
    let ep = &site.endpoint;
    let mut s = step(
        ENDPOINT_STEP,
        StepKind::ControlPlaneEndpoint,
        "This cluster was initialised without the load balancer as controlPlaneEndpoint, so a \
         master joining now would copy one master's address everywhere and the cluster would \
         never be HA. This step writes the endpoint where kubeadm and the nodes read it \
         (kubeadm-config, cluster-info, kube-proxy's kubeconfig, then its pods restarted, and \
         this master's kubeconfigs), and into the apiserver certificate's SANs.",
    );
    s.hosts.push(first.clone());
    let kubectl = format!("kubectl --kubeconfig {ADMIN_CONF}");
    let old = "/etc/kubernetes/apiserver-cert-without-endpoint";
    let cri = &site.cri_socket;
    let lines = [
        format!(
            "{kubectl} -n kube-system get configmap kubeadm-config -o yaml | sed -E '/^    controlPlaneEndpoint:/d; s/^    controllerManager:/    controlPlaneEndpoint: {ep}\\n    controllerManager:/' | {kubectl} apply -f -"
        ),
        format!(
            "{kubectl} -n kube-public get configmap cluster-info -o yaml | sed -E 's#^( +server: ).*#\\1https://{ep}#' | {kubectl} apply -f -"
        ),
        // kube-proxy on every node reads its kubeconfig from this ConfigMap: until it names
        // the endpoint, every node's Service rules come from the first master alone.
        format!(
            "{kubectl} -n kube-system get configmap kube-proxy -o yaml | sed -E 's#^( +server: ).*#\\1https://{ep}#' | {kubectl} apply -f - && {kubectl} -n kube-system rollout restart daemonset kube-proxy"
        ),
        format!(
            "mkdir -p {old} && mv /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key {old}/ && kubeadm init phase certs apiserver --control-plane-endpoint {ep} --apiserver-advertise-address {address} --service-cidr {}",
            site.service_cidr
        ),
        format!(
            "crictl --runtime-endpoint {cri} ps --name kube-apiserver -q | xargs -r crictl --runtime-endpoint {cri} stop"
        ),
        format!(
            "sed -i -E 's#^( +server: ).*#\\1https://{ep}#' /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf && systemctl restart kubelet"
        ),
    ];
    s.commands = lines.iter().map(|l| Command::root(&first, l)).collect();
    s.waits_for.push(Wait::EndpointReady {
        endpoint: ep.clone(),
    });
    s.notes.push(problem.to_string());
    s.notes.push(format!(
        "The old apiserver certificate and key are kept in {old}/ on {first}."
    ));
    s.expected = SignedDuration::from_secs(30);
    s
}

/// Once every master has joined: `kubeadm-certs` (the control plane's keys, encrypted with
/// the certificate key) deleted, and with `token` the join token made for the joins.
/// `kubeadm init phase upload-certs --upload-certs` on `host`: a new certificate key (and
/// kubeadm-certs Secret) for control-plane joins, captured.
pub(super) fn upload_certs(id: impl Into<String>, host: &str, why: &str) -> Step {
    let mut s = step(id, StepKind::UploadCerts, why);
    s.hosts.push(host.into());
    s.commands.push(Command::root(
        host,
        "kubeadm init phase upload-certs --upload-certs",
    ));
    s.captures.push(Var::CertificateKey);
    s
}

/// `kubeadm token create --print-join-command` on `host`, then `flags`: a new join token
/// (24 h) and the CA's hash, captured.
pub(super) fn token_create(id: impl Into<String>, host: &str, why: &str, flags: &str) -> Step {
    let mut s = step(id, StepKind::TokenCreate, why);
    s.hosts.push(host.into());
    s.commands.push(Command::root(
        host,
        format!("kubeadm token create --print-join-command{flags}"),
    ));
    s.captures = vec![Var::Token, Var::CaCertHash];
    s
}

pub(super) fn cleanup(host: &str, token: bool) -> Step {
    let mut s = step(
        "cleanup",
        StepKind::Cleanup,
        "Every master has joined: the kubeadm-certs Secret (the control plane's keys, \
         encrypted with the certificate key) is no longer needed, and anyone who learns the \
         key could read them until its 2 h are up. A master added later makes a new one.",
    );
    s.hosts.push(host.into());
    let delete = format!(
        "kubectl --kubeconfig {ADMIN_CONF} -n kube-system delete secret kubeadm-certs --ignore-not-found"
    );
    let c = if token {
        Command::root(host, format!("{delete} && {{ kubeadm token delete "))
            .var(Var::Token)
            .text(" || echo 'the join token was already gone'; }")
    } else {
        Command::root(host, delete)
    };
    s.commands.push(c);
    s.notes.push(
        "To add a master later: kubeadm init phase upload-certs --upload-certs first (a new \
         key, valid 2 h), as the plan of `hatui wizard --add` does."
            .into(),
    );
    s
}
