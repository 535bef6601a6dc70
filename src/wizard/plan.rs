//! The plan as data: ordered steps with stable ids, their hosts, exact commands, why they
//! are run and what must be true before the next. One plan for the lab and real hosts; the
//! dry run prints it, executors run it.

use jiff::SignedDuration;

use super::command::{Command, Var};
use super::inventory::{Host, Inventory, LoadBalancer};

/// kubeadm's admin kubeconfig on a master (cluster-admin once init has finished).
pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Preflight,
    LoadBalancer,
    Init,
    Cni,
    JoinControlPlane,
    JoinWorker,
    UploadCerts,
    TokenCreate,
    Verify,
}

/// Something that must hold before the next step starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// `/readyz` answers through the control-plane endpoint.
    EndpointReady { endpoint: String },
    /// The Node's Ready condition is True.
    NodeReady { node: String },
    /// The node's etcd member is started and a voter (promoted from learner).
    EtcdVoter { node: String },
}

impl Wait {
    pub fn describe(&self) -> String {
        match self {
            Self::EndpointReady { endpoint } => {
                format!("the API answers /readyz through {endpoint}")
            }
            Self::NodeReady { node } => format!("node {node} is Ready"),
            Self::EtcdVoter { node } => {
                format!("{node}'s etcd member is started and a voter (no longer a learner)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Stable: `init`, `join-control-plane/cp-2`, `join-worker/worker-1`, ...
    pub id: String,
    pub kind: StepKind,
    /// Inventory names of the hosts it touches.
    pub hosts: Vec<String>,
    pub commands: Vec<Command>,
    /// One or two sentences a student can read aloud.
    pub why: String,
    /// Before the next step starts.
    pub waits_for: Vec<Wait>,
    /// Steps with the same group run together (the workers' joins).
    pub parallel_group: Option<String>,
    /// What the step's output provides for later commands.
    pub captures: Vec<Var>,
    /// About how long it takes on a healthy host: the countdown checks use it.
    pub expected: SignedDuration,
    /// Things the operator must know or do by hand.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// About the cluster's shape (an even number of masters, no HA).
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.id.as_str()).collect()
    }
}

/// A control-plane join: kubeadm's learner join, promotion and static pods.
pub const CONTROL_PLANE_JOIN: SignedDuration = SignedDuration::from_secs(60);
pub const WORKER_JOIN: SignedDuration = SignedDuration::from_secs(30);

/// The plan for `inv`.
pub fn build(inv: &Inventory) -> Plan {
    let first = inv.first_control_plane();
    let mut steps = vec![
        preflight(inv),
        load_balancer(inv),
        init(inv, first),
        cni(inv, first),
    ];
    let masters: Vec<&Host> = inv.control_planes().collect();
    for (i, host) in masters.iter().enumerate().skip(1) {
        steps.push(join_control_plane(inv, host, i + 1));
    }
    for host in inv.workers() {
        steps.push(join_worker(inv, host));
    }
    steps.push(verify(inv, first));
    Plan {
        steps,
        warnings: shape_warnings(masters.len()),
    }
}

/// Quorum is floor(n/2)+1: say what the number of masters means.
pub fn shape_warnings(control_planes: usize) -> Vec<String> {
    match control_planes {
        1 => vec!["1 control plane: no HA. Losing it stops the API; use 3 or 5.".into()],
        n if n % 2 == 0 => vec![format!(
            "{n} control planes: an even number. etcd's quorum is {q} of {n}, so it survives {f} failure(s), no more than {m} would, with one more machine that can fail. Use {p}.",
            q = n / 2 + 1,
            f = (n - 1) / 2,
            m = n - 1,
            p = n + 1,
        )],
        _ => Vec::new(),
    }
}

fn step(id: impl Into<String>, kind: StepKind, why: &str) -> Step {
    Step {
        id: id.into(),
        kind,
        hosts: Vec::new(),
        commands: Vec::new(),
        why: why.to_string(),
        waits_for: Vec::new(),
        parallel_group: None,
        captures: Vec::new(),
        expected: SignedDuration::from_secs(10),
        notes: Vec::new(),
    }
}

fn preflight(inv: &Inventory) -> Step {
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

fn load_balancer(inv: &Inventory) -> Step {
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

fn init(inv: &Inventory, first: &Host) -> Step {
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

fn cni(inv: &Inventory, first: &Host) -> Step {
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

fn join_control_plane(inv: &Inventory, host: &Host, ordinal: usize) -> Step {
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

fn join_worker(inv: &Inventory, host: &Host) -> Step {
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

fn verify(inv: &Inventory, first: &Host) -> Step {
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

/// Time left on the join material; `None` = gone (or never created).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    /// The `kubeadm-certs` Secret's owner token (2 h after upload-certs).
    pub certificate_key: Option<SignedDuration>,
    /// The join token (24 h by default); a token without expiry: `SignedDuration::MAX`.
    pub token: Option<SignedDuration>,
}

/// Besides the join itself: what a slow network or a retry may add.
pub const SAFETY_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// Inserts `upload-certs/<node>` and/or `token-create/<node>` before step `before` when the
/// certificate key (control-plane joins only) or the token would expire before the join,
/// expected to take `expected`, has finished. For a worker of a parallel group, before the
/// group. Returns the ids inserted.
pub fn insert_refreshes(
    plan: &mut Plan,
    before: &str,
    remaining: Remaining,
    expected: SignedDuration,
) -> Vec<String> {
    let Some(mut at) = plan.steps.iter().position(|s| s.id == before) else {
        return Vec::new();
    };
    let target = plan.steps[at].clone();
    if let Some(group) = &target.parallel_group {
        while at > 0 && plan.steps[at - 1].parallel_group.as_ref() == Some(group) {
            at -= 1;
        }
    }
    let node = target.hosts.first().cloned().unwrap_or_default();
    let short = |left: Option<SignedDuration>| left.is_none_or(|l| l < expected + SAFETY_MARGIN);
    let healthy = init_master(plan);
    let mut inserted = Vec::new();
    let control_plane = target.kind == StepKind::JoinControlPlane;
    if control_plane && short(remaining.certificate_key) {
        let mut s = step(
            format!("upload-certs/{node}"),
            StepKind::UploadCerts,
            "The certificate key would expire during the join: the kubeadm-certs Secret is \
             deleted 2 hours after upload. Uploading again makes a new key, valid 2 more hours.",
        );
        s.hosts.push(healthy.clone());
        s.commands.push(Command::root(
            &healthy,
            "kubeadm init phase upload-certs --upload-certs",
        ));
        s.captures.push(Var::CertificateKey);
        plan.steps.insert(at + inserted.len(), s);
        inserted.push(format!("upload-certs/{node}"));
    }
    if short(remaining.token) {
        let mut s = step(
            format!("token-create/{node}"),
            StepKind::TokenCreate,
            "The join token would expire during the join, and kubeadm join with an expired \
             token fails with an unhelpful error. A new token is valid 24 hours.",
        );
        s.hosts.push(healthy.clone());
        s.commands.push(Command::root(
            &healthy,
            "kubeadm token create --print-join-command",
        ));
        s.captures = vec![Var::Token, Var::CaCertHash];
        plan.steps.insert(at + inserted.len(), s);
        inserted.push(format!("token-create/{node}"));
    }
    inserted
}

/// The master that ran init: healthy before any join (an executor may pick another).
fn init_master(plan: &Plan) -> String {
    plan.step("init")
        .and_then(|s| s.hosts.first().cloned())
        .unwrap_or_default()
}
