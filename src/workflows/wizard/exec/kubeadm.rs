//! The lab's kubeadm and kubectl: a command becomes a script of timed lines and effects on
//! the [`Lab`]. Timings follow real runs: init about a minute, a control-plane join
//! about 45 s, a worker join about 20 s. Values kubeadm makes (token, certificate key) are
//! made by the effect that prints them, when it runs.

use crate::wizard::engine::fix::LOAD_BALANCER;
use crate::wizard::plan::SWAP_ON;
use hatui_lab::Lab;

use super::acts::{Act, Effect, Script};
use super::texts;

/// `--flag value` from the command's words.
fn flag<'a>(words: &[&'a str], name: &str) -> Option<&'a str> {
    let at = words.iter().position(|w| *w == name)?;
    words.get(at + 1).copied()
}

/// What `command` on `host` does, as offsets in ms from its start.
pub(super) fn script(lab: &Lab, host: &str, command: &str) -> Vec<(i64, Act)> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut s = Script(Vec::new());
    if host == LOAD_BALANCER {
        // `aws elbv2 register-targets` prints nothing; neither does appending to haproxy.cfg.
        let targets = command.split_whitespace().filter_map(|w| {
            let id = w.strip_prefix("Id=")?;
            Some(id.split(',').next().unwrap_or(id).to_string())
        });
        if command.contains("deregister-targets") {
            for addr in targets {
                s.act(1.5, Effect::Target(addr, false));
            }
        } else if command.contains("register-targets") || command.contains("haproxy.cfg") {
            s.act(1.5, Effect::RegisterTargets);
            for addr in targets {
                s.act(1.5, Effect::Target(addr, true));
            }
        }
        return s.exit(1.5, 0);
    }
    let Some(i) = lab.host(host) else {
        s.line(
            0.0,
            &format!("ssh: Could not resolve hostname {host}: Name or service not known"),
        );
        return s.exit(0.0, 255);
    };
    if !lab.powered(i) {
        let ip = lab.config().ip(i);
        s.line(
            3.0,
            &format!("ssh: connect to host {ip} port 22: No route to host"),
        );
        return s.exit(3.0, 255);
    }
    let endpoint = lab.config().endpoint.clone();
    let has = |w: &str| words.contains(&w);
    if let Some(done) = endpoint_fix(lab, i, command, &mut s) {
        return done;
    }
    if command.starts_with("swapoff -a") {
        s.act(0.4, Effect::SwapOff(i));
        s.exit(0.4, 0)
    } else if command.starts_with("kubeadm reset") {
        s.act(2.0, Effect::Reset(i));
        s.lines(2.0, texts::reset());
        s.exit(2.0, 0)
    } else if command.starts_with("kubeadm init phase upload-certs") {
        s.act(2.5, Effect::UploadCerts);
        s.exit(2.6, 0)
    } else if command.starts_with("kubeadm init") {
        if lab.kubeadm_ran_here(i) || lab.apiserver_running(i) {
            s.lines(0.0, texts::init_preflight("v1.33.2")[..2].to_vec());
            s.lines(0.5, texts::init_again());
            return s.exit(0.5, 1);
        }
        init(lab, i, &words, s)
    } else if command.starts_with("kubeadm join") {
        if lab.kubeadm_ran_here(i) {
            s.line(0.0, "[preflight] Running pre-flight checks");
            s.lines(0.5, texts::join_again());
            return s.exit(0.5, 1);
        }
        let token = flag(&words, "--token").unwrap_or_default().to_string();
        let key = flag(&words, "--certificate-key").map(str::to_string);
        join(lab, i, has("--control-plane"), token, key, s)
    } else if command.starts_with("kubeadm token create") {
        let described = flag(&words, "--description").map(str::to_string);
        s.act(0.8, Effect::TokenCreate(endpoint, described));
        s.exit(0.9, 0)
    } else if let Some(id) = command.strip_prefix("kubeadm token delete ") {
        let id = id.split_whitespace().next().unwrap_or_default();
        s.act(0.6, Effect::TokenDelete(id.to_string()));
        s.exit(0.6, 0)
    } else if (command.contains("kubectl") || command.contains("curl "))
        && !command.contains("swapon")
    {
        super::kubectl::script(lab, &words, command, s)
    } else if command.contains("swapon") {
        // The wizard's preflight: forwarding on, containerd and kubeadm present; swap off
        // unless a scenario turned it on.
        if lab.swap_on(i) {
            s.line(0.3, SWAP_ON);
            return s.exit(0.3, 1);
        }
        s.exit(0.3, 0)
    } else if command.starts_with("getent hosts") {
        s.exit(0.3, 0)
    } else {
        let first = words.first().copied().unwrap_or_default();
        s.line(0.0, &format!("bash: line 1: {first}: command not found"));
        s.exit(0.0, 127)
    }
}

fn init(lab: &Lab, i: usize, words: &[&str], mut s: Script) -> Vec<(i64, Act)> {
    let cfg = lab.config();
    let (node, ip) = (lab.host_name(i), cfg.ip(i));
    let endpoint = flag(words, "--control-plane-endpoint").map(str::to_string);
    let version = flag(words, "--kubernetes-version").unwrap_or("v1.33.2");
    s.lines(0.0, texts::init_preflight(version));
    let ep_host = endpoint
        .as_deref()
        .map(|e| e.rsplit_once(':').map_or(e, |(h, _)| h));
    s.act(18.0, Effect::MakeCa(endpoint.clone()));
    s.lines(18.0, texts::init_certs(&node, &ip, ep_host));
    s.act(24.0, Effect::FirstMember(i));
    s.act(38.0, Effect::StartControlPlane(i));
    s.lines(38.0, texts::control_plane_check(&ip, "12.501413278s"));
    if !lab.lb_targets() {
        // The control-plane checks go to the master itself; the next client goes through
        // the endpoint, retried for the API-call timeout (1m0s).
        let endpoint = endpoint.unwrap_or_else(|| format!("{ip}:6443"));
        s.lines(99.0, texts::endpoint_unanswered(&endpoint));
        return s.exit(99.0, 1);
    }
    s.lines(39.0, texts::upload_config());
    if words.contains(&"--upload-certs") {
        s.act(40.0, Effect::UploadCerts);
    }
    s.act(41.0, Effect::RegisterNode(i));
    s.lines(41.0, texts::mark_control_plane(&node));
    s.act(42.0, Effect::InitToken);
    s.act(
        50.0,
        Effect::InitDone {
            with_endpoint: endpoint.is_some(),
        },
    );
    s.exit(50.0, 0)
}

fn join(
    lab: &Lab,
    i: usize,
    control_plane: bool,
    token: String,
    key: Option<String>,
    mut s: Script,
) -> Vec<(i64, Act)> {
    let (node, ip) = (lab.host_name(i), lab.config().ip(i));
    s.lines(0.0, texts::join_preflight(false));
    s.act(2.0, Effect::Discover(token));
    if !control_plane && lab.swap_on(i) {
        // kubeadm only warns; the kubelet then exits at start and never answers.
        let mut start = texts::kubelet_start();
        start.truncate(4);
        s.line(0.0, texts::SWAP_WARNING);
        s.lines(3.0, start);
        s.lines(243.0, texts::kubelet_never_healthy());
        return s.exit(243.0, 1);
    }
    if !control_plane {
        s.lines(3.0, texts::kubelet_start());
        s.act(14.0, Effect::RegisterNode(i));
        s.lines(15.0, texts::join_worker_done());
        return s.exit(15.0, 0);
    }
    let pre = texts::join_preflight(true);
    s.lines(2.0, pre[3..].to_vec());
    s.act(12.0, Effect::DownloadCerts(key.unwrap_or_default()));
    s.lines(12.5, texts::join_certs(&node, &ip));
    s.act(13.9, Effect::CheckEtcd);
    s.lines(14.0, texts::kubelet_start());
    s.act(20.0, Effect::AddLearner(i));
    s.line(20.0, texts::ETCD_MANIFEST);
    s.act(26.0, Effect::StartMember(i));
    s.act(31.0, Effect::Promote(i));
    s.line(31.0, texts::ETCD_WAIT);
    s.act(33.0, Effect::RegisterNode(i));
    s.lines(33.0, texts::mark_control_plane(&node));
    s.act(40.0, Effect::StartControlPlane(i));
    s.lines(40.0, texts::control_plane_check(&ip, "501.413278ms"));
    s.lines(45.0, texts::join_control_plane_done());
    s.exit(45.0, 0)
}

/// The `control-plane-endpoint` step's commands, if `command` is one of them.
fn endpoint_fix(lab: &Lab, i: usize, command: &str, s: &mut Script) -> Option<Vec<(i64, Act)>> {
    let mut s = Script(std::mem::take(&mut s.0));
    let endpoint = lab.config().endpoint.clone();
    if command.contains("get configmap kubeadm-config") {
        s.act(0.6, Effect::SetEndpoint(endpoint));
        s.line(0.6, "configmap/kubeadm-config configured");
    } else if command.contains("get configmap cluster-info") {
        s.line(0.6, "configmap/cluster-info configured");
    } else if command.contains("get configmap kube-proxy") {
        s.act(0.6, Effect::KubeProxyEndpoint(endpoint.clone()));
        s.line(0.6, "configmap/kube-proxy configured");
        s.line(0.9, "daemonset.apps/kube-proxy restarted");
    } else if command.contains("kubeadm init phase certs apiserver") {
        let host = endpoint
            .rsplit_once(':')
            .map_or(endpoint.as_str(), |(h, _)| h);
        let certs = texts::init_certs(&lab.host_name(i), &lab.config().ip(i), Some(host));
        s.lines(0.8, certs[2..4].to_vec());
    } else if command.contains("ps --name kube-apiserver") {
        // crictl stop prints the container's id; the kubelet starts it again.
    } else if command.contains("/etc/kubernetes/kubelet.conf") {
        // sed and a kubelet restart: silent.
    } else {
        return None;
    }
    Some(s.exit(1.0, 0))
}

/// What an effect did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Done: the lines it printed.
    Done(Vec<String>),
    /// kubeadm's error lines: the command exits 1.
    Failed(Vec<String>),
    /// Not possible yet: kubeadm polls again `every` ms, and gives up with `failed` once
    /// `timeout` ms have passed since its first try.
    Wait {
        every: i64,
        timeout: i64,
        failed: Vec<String>,
    },
}

/// kubeadm's `EtcdAPICallRetryInterval` and the v1beta4 `etcdAPICall` timeout.
const ETCD_RETRY_MS: i64 = 500;
const ETCD_TIMEOUT_MS: i64 = 120_000;
/// `TLSBootstrapRetryInterval` and the v1beta4 `tlsBootstrap` timeout.
const TLS_BOOTSTRAP_RETRY_MS: i64 = 5_000;
const TLS_BOOTSTRAP_TIMEOUT_MS: i64 = 300_000;

/// Applies `e` to the lab now.
pub(super) fn apply(lab: &mut Lab, e: Effect) -> Outcome {
    match apply_now(lab, e) {
        Ok(lines) => Outcome::Done(lines),
        Err(Err(lines)) => Outcome::Failed(lines),
        Err(Ok(wait)) => wait,
    }
}

/// Ok: the lines printed; Err(Err): kubeadm's error lines; Err(Ok): a wait.
fn apply_now(lab: &mut Lab, e: Effect) -> Result<Vec<String>, Result<Outcome, Vec<String>>> {
    let endpoint = lab.config().endpoint.clone();
    Ok(match e {
        Effect::MakeCa(ep) => {
            lab.make_ca(ep);
            vec![]
        }
        Effect::FirstMember(i) => {
            lab.add_member(i, false);
            vec![]
        }
        Effect::StartControlPlane(i) => {
            lab.start_control_plane(i);
            vec![]
        }
        Effect::RegisterNode(i) => {
            if !lab.register_node(i) {
                // The kubelet does not run: its TLS bootstrap never writes kubelet.conf.
                return Err(Ok(Outcome::Wait {
                    every: TLS_BOOTSTRAP_RETRY_MS,
                    timeout: TLS_BOOTSTRAP_TIMEOUT_MS,
                    failed: texts::tls_bootstrap_timed_out(),
                }));
            }
            vec![]
        }
        Effect::UploadCerts => texts::upload_certs(&lab.upload_certs()),
        Effect::InitToken => texts::bootstrap_token(&lab.create_token()),
        Effect::InitDone { with_endpoint } => {
            let token = lab.join_token().unwrap_or_default();
            let hash = lab.ca_hash().unwrap_or_default().to_string();
            let key = lab.cert_key_value();
            let key = key.filter(|_| with_endpoint);
            let shown = if with_endpoint {
                endpoint
            } else {
                format!("{}:6443", lab.config().ip(0))
            };
            texts::init_done(&shown, &token, &hash, key.as_deref())
        }
        Effect::Discover(token) => {
            if !lab.endpoint_up() {
                return Err(Err(texts::no_api(&endpoint)));
            }
            if !lab.valid_token(&token) {
                let id = token.split_once('.').map_or(token.as_str(), |(id, _)| id);
                return Err(Err(texts::bad_token(id)));
            }
            vec![]
        }
        Effect::DownloadCerts(key) => match lab.cert_key_value() {
            None => return Err(Err(texts::certs_expired())),
            Some(k) if k != key => return Err(Err(texts::certs_wrong_key())),
            Some(_) => vec![],
        },
        Effect::AddLearner(i) => {
            lab.add_member(i, true);
            vec![texts::ETCD_ANNOUNCED.to_string()]
        }
        Effect::StartMember(i) => {
            lab.start_member(i);
            vec![]
        }
        Effect::Promote(i) => match lab.promote(i) {
            Ok(id) => vec![texts::promoting(id)],
            // The learner waits for a leader with its quorum and for its log to catch up.
            Err(why) => {
                return Err(Ok(Outcome::Wait {
                    every: ETCD_RETRY_MS,
                    timeout: ETCD_TIMEOUT_MS,
                    failed: texts::promote_failed(why),
                }));
            }
        },
        Effect::ApplyCni => {
            lab.apply_cni();
            super::texts::lines(texts::CALICO_APPLIED)
        }
        Effect::TokenDelete(id) => vec![if lab.delete_token(&id) {
            format!("bootstrap token \"{id}\" deleted")
        } else {
            format!("token {id} was already gone")
        }],
        Effect::TokenCreate(endpoint, described) => {
            let token = match described {
                Some(d) => lab.create_token_described(&d),
                None => lab.create_token(),
            };
            let hash = lab.ca_hash().unwrap_or_default();
            vec![format!(
                "kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash} "
            )]
        }
        Effect::Show(what) => super::show::render(lab, what),
        Effect::SwapOff(i) => {
            lab.set_swap(i, false);
            vec![]
        }
        Effect::RegisterTargets => {
            lab.set_lb_targets(true);
            vec![]
        }
        Effect::Reset(i) => {
            lab.reset(i);
            vec![]
        }
        Effect::SetEndpoint(ep) => {
            lab.set_control_plane_endpoint(ep);
            vec![]
        }
        Effect::KubeProxyEndpoint(ep) => {
            lab.set_kube_proxy_server(ep);
            vec![]
        }
        Effect::CheckEtcd => match lab.etcd_unreachable() {
            Some(url) => return Err(Err(texts::etcd_not_healthy(&url))),
            None => vec![],
        },
        Effect::RemoveMember(name) => match lab.remove_member(&name) {
            Ok(id) => vec![texts::member_removed(id)],
            Err(e) if e.contains("not found") => {
                vec![format!("{name} has no etcd member: already removed")]
            }
            Err(e) => return Err(Err(vec![format!("Error: {e}")])),
        },
        Effect::DeleteNode(name) => {
            if lab.kubectl_delete_node(&name) {
                vec![format!("node \"{name}\" deleted")]
            } else {
                vec![]
            }
        }
        Effect::Cleanup(token) => {
            let mut out = Vec::new();
            if lab.delete_cert_secret() {
                out.push("secret \"kubeadm-certs\" deleted".to_string());
            }
            let Some(token) = token else { return Ok(out) };
            let id = token.split_once('.').map_or(token.as_str(), |(id, _)| id);
            if lab.delete_token(&token) {
                out.push(format!("bootstrap token \"{id}\" deleted"));
            } else {
                out.push("the join token was already gone".to_string());
            }
            out
        }
        Effect::MoveLeader(from, to) => match lab.move_leader(&from, &to) {
            Ok(Some((f, t))) => vec![texts::leadership_transferred(f, t)],
            Ok(None) => vec![format!("{from} does not lead: nothing to move")],
            Err(e) => return Err(Err(vec![format!("Error: {e}")])),
        },
        Effect::Drain(node) => match lab.drain(&node) {
            Ok(lines) => lines,
            Err(lines) => return Err(Err(lines)),
        },
        Effect::Target(addr, listed) => {
            if let Some(i) = lab.master_at(&addr) {
                lab.set_lb_target(i, listed);
            }
            vec![]
        }
    })
}
