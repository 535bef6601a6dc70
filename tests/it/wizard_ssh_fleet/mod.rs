//! Five real hosts for the wizard over SSH, shared by the test files that run the real
//! binary on them (`hatui wizard --inventory FILE --yes [--json]`): 3 masters and 2
//! workers, each a real `sshd` on its own loopback address with its own host key. What
//! cannot run here (kubeadm, kubectl, curl, systemctl, crictl, swapon, getent, install)
//! are test doubles on each host's PATH: they record their arguments per host, print
//! kubeadm's texts (tests/fixtures/kubeadm, from kubernetes/kubernetes), and share a state
//! directory, so that what init and the joins did shows in `kubectl get` and in etcd's
//! member list when the wizard looks (a node that joined is there, Ready; a master's
//! member is a voter). Files the wizard writes on a host (`install ... /dev/stdin PATH`)
//! land under the state directory, and `cat` of kubeadm's files reads them from there.

#![allow(dead_code)] // each test file uses a different part

pub mod replace;
pub mod resize;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use serde_json::{Value, json};

use crate::support::host_doubles::path_line;
use crate::support::sshd::{Sshd, known_hosts_of, need_sshd, one_client_key};
use crate::wizard_json::{assert_no_secret, step_ids};

/// (name, address, master)
pub type Host = (&'static str, &'static str, bool);

/// The plan's five hosts.
pub const HOSTS: [Host; 5] = [
    ("cp-1", "127.0.0.61", true),
    ("cp-2", "127.0.0.62", true),
    ("cp-3", "127.0.0.63", true),
    ("worker-1", "127.0.0.64", false),
    ("worker-2", "127.0.0.65", false),
];
pub const ENDPOINT_HOST: &str = "k8s-api.example.internal";
pub const ENDPOINT: &str = "k8s-api.example.internal:6443";

/// Five hosts and how the cluster is reached: what differs between the test files.
#[derive(Clone)]
pub struct Fleet {
    /// (name, address, master): 3 masters, then 2 workers.
    pub hosts: Vec<Host>,
    /// `HOST:PORT`.
    pub endpoint: &'static str,
    pub load_balancer: &'static str,
    /// Inventory keys after `load_balancer` (`kubernetes_version = ...`).
    pub keys: String,
    /// Inventory tables after the hosts (`[vip]`).
    pub tables: String,
    /// `[[load_balancers]]` (name, address): HAProxy's hosts of its own, after the nodes.
    pub load_balancers: Vec<(&'static str, &'static str)>,
}

impl Fleet {
    /// The plan's fleet: 127.0.0.61-65 behind an NLB's DNS name.
    pub fn plan() -> Self {
        Self {
            hosts: HOSTS.to_vec(),
            endpoint: ENDPOINT,
            load_balancer: "nlb",
            keys: String::new(),
            tables: String::new(),
            load_balancers: Vec::new(),
        }
    }

    pub fn endpoint_host(&self) -> &'static str {
        self.endpoint.rsplit_once(':').unwrap().0
    }
}
pub const CRI: &str = "unix:///var/run/containerd/containerd.sock";
pub const CALICO: &str =
    "https://raw.githubusercontent.com/projectcalico/calico/v3.29.1/manifests/calico.yaml";
/// What init prints (tests/fixtures/kubeadm/init-v1.32-tabs.txt).
pub const TOKEN: &str = "9a8x2k.e4c82f167cb1adb5";
pub const HASH: &str = "sha256:4873d6a68f2b9fc4eaae62765fea81db2e14dd4ed5d8504ccf37b590dcc3c413";
pub const KEY: &str = "85612b4f52f6fac9d97daa85fc30e44e14fb5773f38297867aac3df14aff9cec";
/// What `token create` and `upload-certs` print (their fixtures).
pub const NEW_TOKEN: &str = "p4l7qd.5f3030a5686a4bdd";
pub const NEW_KEY: &str = "357b5068b3854cc2b8c56dbf96db6492a2c69568d45b6c035aca70bf42944e90";
pub const SECRETS: [&str; 4] = ["e4c82f167cb1adb5", KEY, "5f3030a5686a4bdd", NEW_KEY];
/// Whole runs of the binary against a site, at most two at once: each runs the binary and
/// five sshds with their doubles, and the steps' timeouts are the real ones.
static RUNS: (Mutex<usize>, std::sync::Condvar) = (Mutex::new(0), std::sync::Condvar::new());
const AT_ONCE: usize = 2;

/// A place among the runs under way, given back when dropped.
pub struct RunSlot(());

/// Waits for a place among the runs under way (see [`RUNS`]).
pub fn run_slot() -> RunSlot {
    let (count, freed) = &RUNS;
    let mut n = count.lock().unwrap_or_else(|e| e.into_inner());
    while *n >= AT_ONCE {
        n = freed.wait(n).unwrap_or_else(|e| e.into_inner());
    }
    *n += 1;
    RunSlot(())
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        let (count, freed) = &RUNS;
        *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        freed.notify_one();
    }
}

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/kubeadm/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn fixture_json(name: &str) -> Vec<Value> {
    serde_json::from_str(&fixture(name)).unwrap()
}

pub fn write(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub fn write_json(path: &Path, v: &Value) {
    write(path, serde_json::to_string(v).unwrap());
}

pub fn double(bin: &Path, name: &str, host: &str, addr: &str, state: &Path, body: &str) {
    let path = bin.join(name);
    let text = format!(
        "#!/bin/sh\nHOST={host}\nADDR={addr}\nS='{}'\n{body}\n",
        state.display()
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Records its arguments in the host's log, first thing.
pub const RECORD: &str = "echo \"$(basename \"$0\") $*\" >> \"$S/log/$HOST.log\"";

/// The client key of the admin.conf init leaves on the first master (not a real key):
/// it must reach the bastion's file and nothing else.
pub const ADMIN_KEY: &str = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUhBVFVJVEVTVEtFWU5PVFJFQUxiV0Z6ZEdWeUxXdGxlUzFtYjNJdGRHVnpkSE09Ci0tLS0tRU5EIEVDIFBSSVZBVEUgS0VZLS0tLS0K";

/// kubeadm's admin.conf (shortened), its server the first master itself.
fn admin_conf(first_addr: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n    server: https://{first_addr}:6443\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\npreferences: {{}}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n    client-key-data: {ADMIN_KEY}\n"
    )
}

/// `install -D -m MODE /dev/stdin PATH`: the file lands under `$S/root/$HOST`, its mode
/// beside it in `PATH.mode`.
const INSTALL: &str = r#"
for a in "$@"; do
  if [ "$prev" = -m ]; then mode=$a; fi
  prev=$a; dest=$a
done
/bin/mkdir -p "$S/root/$HOST$(dirname "$dest")"
/bin/cat > "$S/root/$HOST$dest"
echo "$mode" > "$S/root/$HOST$dest.mode""#;

pub const KUBEADM: &str = r#"
# The static pods' manifests as kubeadm found them when it started.
seen() {
  /bin/rm -rf "$S/seen/$HOST"; /bin/mkdir -p "$S/seen"
  m="$S/root/$HOST/etc/kubernetes/manifests"
  if [ -d "$m" ]; then /bin/cp -r "$m" "$S/seen/$HOST"; fi
}
case "$*" in
'init phase upload-certs'*)
  /bin/cp "$S/prepared/upload-certs/"*.json "$S/objects/"
  /bin/cat "$S/texts/upload-certs.txt" ;;
init*)
  seen
  /bin/mkdir -p "$S/root/$HOST/etc/kubernetes"
  /bin/cp "$S/prepared/admin.conf" "$S/root/$HOST/etc/kubernetes/admin.conf"
  /bin/cp "$S/prepared/init/"*.json "$S/objects/"
  /bin/cp "$S/prepared/node-$HOST.json" "$S/objects/node-$HOST.json"
  /bin/cp "$S/prepared/member-$HOST.json" "$S/members/$HOST.json"
  /bin/cp "$S/prepared/status-$HOST.json" "$S/status/$HOST.json"
  : > "$S/admin/$HOST"; : > "$S/apiserver/$ADDR"
  /bin/cat "$S/texts/init.txt" ;;
'token create'*)
  /bin/cp "$S/prepared/token-create/"*.json "$S/objects/"
  /bin/cat "$S/texts/token-create.txt" ;;
join*)
  seen
  if [ -n "$(ls -A "$S/root/$HOST/etc/kubernetes/manifests" 2>/dev/null)" ]; then
    /bin/cat "$S/texts/join-manifests-not-empty.txt" >&2; exit 1
  fi
  date +%s.%N > "$S/times/$HOST.start"
  if [ -f "$S/sleep/$HOST" ]; then sleep "$(/bin/cat "$S/sleep/$HOST")"; fi
  if [ -f "$S/fail/$HOST" ]; then /bin/cat "$S/fail/$HOST" >&2; exit 1; fi
  /bin/cp "$S/prepared/node-$HOST-ready.json" "$S/objects/node-$HOST.json"
  case "$*" in *--control-plane*)
    /bin/cp "$S/prepared/member-$HOST.json" "$S/members/$HOST.json"
    /bin/cp "$S/prepared/status-$HOST.json" "$S/status/$HOST.json"
    : > "$S/admin/$HOST"; : > "$S/apiserver/$ADDR" ;;
  esac
  date +%s.%N > "$S/times/$HOST.end"
  : > "$S/ended/$HOST"
  case "$*" in
  *--control-plane*) /bin/cat "$S/texts/join-control-plane-$HOST.txt" ;;
  *) /bin/cat "$S/texts/join-worker.txt" ;;
  esac ;;
*) echo "kubeadm double: not understood: $*" >&2; exit 1 ;;
esac"#;

pub const KUBECTL: &str = r#"
if [ ! -f "$S/admin/$HOST" ]; then
  echo 'error: stat /etc/kubernetes/admin.conf: no such file or directory' >&2
  exit 1
fi
list() {
  sep=''
  for f in "$1"/*.json; do
    [ -f "$f" ] || continue
    printf '%s' "$sep"; /bin/cat "$f"; sep=','
  done
}
names() {
  for f in "$1"/*.json; do [ -f "$f" ] && basename "$f" .json; done
}
case "$*" in
*'get nodes,leases,secrets,configmaps -o json'*)
  printf '{"apiVersion":"v1","items":['; list "$S/objects"; printf '],"kind":"List","metadata":{"resourceVersion":""}}\n' ;;
*'get --raw /readyz'*) echo ok ;;
*'member list -w json'*)
  printf '{"header":{"cluster_id":14841639068965178418,"member_id":11602211016235122529,"raft_term":2},"members":['
  list "$S/members"; printf ']}\n' ;;
*'endpoint status --cluster -w json'*)
  printf '['; list "$S/status"; printf ']\n' ;;
*'member list -w table'*)
  echo '|        ID        | STATUS  |   NAME   |'
  for n in $(names "$S/members"); do echo "| $(/bin/cat "$S/prepared/id-$n") | started | $n |"; done ;;
*' apply -f '*)
  /bin/cp "$S/prepared/node-$HOST-ready.json" "$S/objects/node-$HOST.json"
  /bin/cat "$S/texts/calico.txt" ;;
*'get nodes -o wide'*)
  echo 'NAME       STATUS   ROLES           AGE   VERSION'
  for n in $(names "$S/objects" | sed -n 's/^node-//p'); do echo "$n   Ready    <none>   1m    v1.33.2"; done ;;
*'get lease '*)
  echo 'NAME                      HOLDER                                      AGE'
  echo 'kube-scheduler            cp-1_0b6f3f63-2d64-4a1e-9f7f-3c1d7e7a9d10   1m'
  echo 'kube-controller-manager   cp-2_6d513da3-5616-4452-b5f2-aead4b29525b   1m' ;;
*'delete secret kubeadm-certs --ignore-not-found'*)
  if [ -f "$S/objects/certs.json" ]; then
    /bin/rm "$S/objects/certs.json"; echo 'secret "kubeadm-certs" deleted'
  fi ;;
*) echo "kubectl double: not understood: $*" >&2; exit 1 ;;
esac"#;

/// A master's own /readyz answers once its apiserver runs; the endpoint's, once any does
/// (unless `$S/endpoint-down` says the load balancer forwards nowhere).
pub const CURL: &str = r#"
for a in "$@"; do u=$a; done
addr=${u#https://}; addr=${addr%%/readyz}; port=${addr##*:}; addr=${addr%:*}
if [ -f "$S/apiserver/$addr" ]; then echo ok
elif [ "$addr" = "$(/bin/cat "$S/endpoint-host")" ] && [ ! -f "$S/endpoint-down" ] && [ -n "$(ls -A "$S/apiserver")" ]; then echo ok
else
  echo "curl: (7) Failed to connect to $addr port $port after 0 ms: Couldn't connect to server" >&2; exit 7
fi"#;

/// kubectl's own lines for `apply -f calico.yaml` (the first and last of them).
pub const CALICO_APPLIED: &str = "poddisruptionbudget.policy/calico-kube-controllers created
serviceaccount/calico-kube-controllers created
serviceaccount/calico-node created
configmap/calico-config created
daemonset.apps/calico-node created
deployment.apps/calico-kube-controllers created
";

pub struct Site {
    pub dir: tempfile::TempDir,
    pub state: PathBuf,
    pub inventory: PathBuf,
    pub fleet: Fleet,
    _sshds: Vec<Sshd>,
}

pub fn node(name: &str, addr: &str, ready: bool) -> Value {
    let nodes = fixture_json("nodes.json");
    let mut n = match nodes.iter().find(|n| n["metadata"]["name"] == name) {
        Some(n) => n.clone(),
        // A master the fixture does not list (cp-4, cp-5): cp-1's, renamed.
        None => {
            let mut n = nodes[0].clone();
            n["metadata"]["name"] = json!(name);
            n["metadata"]["uid"] = json!(format!("5f1c0de0-0000-4000-8000-{name:0>12}"));
            n["metadata"]["labels"]["kubernetes.io/hostname"] = json!(name);
            n
        }
    };
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap();
    n["status"]["addresses"][0]["address"] = json!(addr);
    for c in n["status"]["conditions"].as_array_mut().unwrap() {
        c["lastHeartbeatTime"] = json!(now.to_string());
        if c["type"] == "Ready" && !ready {
            c["status"] = json!("False");
            c["reason"] = json!("KubeletNotReady");
            c["message"] = json!(
                "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
            );
        }
    }
    n
}

pub fn base64(text: &str) -> Value {
    serde_json::to_value(ByteString(text.as_bytes().to_vec())).unwrap()
}

/// A bootstrap token as kubeadm stores it, expiring `hours` from now.
pub fn token_secret(token: &str, hours: i64, description: &str) -> Value {
    let (id, secret) = token.split_once('.').unwrap();
    let expires = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + hours * 3600);
    let mut s = fixture_json("secrets.json").remove(0);
    s["metadata"]["name"] = json!(format!("bootstrap-token-{id}"));
    s["data"] = json!({
        "token-id": base64(id),
        "token-secret": base64(secret),
        "expiration": base64(&expires.unwrap().to_string()),
        "description": base64(description),
        "usage-bootstrap-authentication": base64("true"),
        "usage-bootstrap-signing": base64("true"),
        "auth-extra-groups": base64("system:bootstrappers:kubeadm:default-node-token"),
    });
    s
}

/// The 2-hour token that owns `kubeadm-certs`: `id` and a secret nobody uses.
pub fn owner_token(id: &str) -> Value {
    let description = "Proxy for managing TTL for the kubeadm-certs secret";
    token_secret(&format!("{id}.1m5n7b9d3f2h4j6k"), 2, description)
}

/// `kubeadm-certs`, owned by the 2-hour token `owner` (its TTL is the key's).
pub fn certs_secret(owner: &str) -> Value {
    let mut s = fixture_json("secrets.json")
        .into_iter()
        .find(|s| s["metadata"]["name"] == "kubeadm-certs")
        .unwrap();
    s["metadata"]["ownerReferences"][0]["name"] = json!(format!("bootstrap-token-{owner}"));
    s
}

pub fn member_id(i: usize) -> u64 {
    // Above 2^53, as etcd's ids are: they must survive JSON.
    0xa103_0f2c_9b1e_0000 + i as u64
}

impl Site {
    pub fn new() -> Self {
        Self::with(Fleet::plan())
    }

    /// The plan's fleet on other hosts (masters first).
    pub fn on(hosts: &[Host]) -> Self {
        Self::with(Fleet {
            hosts: hosts.to_vec(),
            ..Fleet::plan()
        })
    }

    pub fn with(fleet: Fleet) -> Self {
        let (hosts, endpoint) = (fleet.hosts.clone(), fleet.endpoint);
        let endpoint_host = fleet.endpoint_host();
        need_sshd();
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        for d in [
            "log",
            "objects",
            "members",
            "status",
            "admin",
            "apiserver",
            "times",
            "ended",
            "sleep",
            "fail",
        ] {
            std::fs::create_dir_all(state.join(d)).unwrap();
        }
        let p = state.join("prepared");
        for (i, (name, addr, master)) in hosts.iter().enumerate() {
            write_json(
                &p.join(format!("node-{name}.json")),
                &node(name, addr, false),
            );
            write_json(
                &p.join(format!("node-{name}-ready.json")),
                &node(name, addr, true),
            );
            if *master {
                let id = member_id(i);
                write(&p.join(format!("id-{name}")), format!("{id:016x}"));
                // A line of `etcdctl member list` (its simple printer), ended: the list is
                // these files one after the other.
                write(
                    &p.join(format!("line-{name}")),
                    format!(
                        "{id:x}, started, {name}, https://{addr}:2380, https://{addr}:2379, false\n"
                    ),
                );
                let member = json!({"ID": id, "name": name,
                    "peerURLs": [format!("https://{addr}:2380")],
                    "clientURLs": [format!("https://{addr}:2379")]});
                write_json(&p.join(format!("member-{name}.json")), &member);
                let status = json!({"Endpoint": format!("https://{addr}:2379"), "Status": {
                    "header": {"cluster_id": 14841639068965178418u64, "member_id": id,
                               "revision": 812, "raft_term": 2},
                    "version": "3.5.21", "dbSize": 2_641_920, "leader": member_id(0),
                    "raftIndex": 1204, "raftTerm": 2, "raftAppliedIndex": 1204,
                    "dbSizeInUse": 1_998_848}});
                write_json(&p.join(format!("status-{name}.json")), &status);
            }
        }
        // What init leaves in the API: its token (24 h), the 2-hour owner of kubeadm-certs,
        // the leader leases, kubeadm-config with the endpoint.
        write(&p.join("admin.conf"), admin_conf(hosts[0].1));
        write(&state.join("endpoint-host"), endpoint_host);
        let init = p.join("init");
        write_json(
            &init.join("token.json"),
            &token_secret(
                TOKEN,
                24,
                "The default bootstrap token generated by 'kubeadm init'.",
            ),
        );
        write_json(&init.join("certs-owner.json"), &owner_token("c8v2qk"));
        write_json(&init.join("certs.json"), &certs_secret("c8v2qk"));
        let now = jiff::Timestamp::now().to_string();
        for (i, mut lease) in fixture_json("leases.json").into_iter().enumerate() {
            lease["spec"]["renewTime"] = json!(now);
            write_json(&init.join(format!("lease-{i}.json")), &lease);
        }
        let mut config = fixture_json("configmaps.json")
            .into_iter()
            .find(|c| c["metadata"]["name"] == "kubeadm-config")
            .unwrap();
        let cc = config["data"]["ClusterConfiguration"].as_str().unwrap();
        config["data"]["ClusterConfiguration"] = json!(cc.replace("lb.hatui.test:6443", endpoint));
        write_json(&init.join("kubeadm-config.json"), &config);
        // What `upload-certs` and `token create` add.
        let upload = p.join("upload-certs");
        write_json(&upload.join("certs-owner-2.json"), &owner_token("m3n7xz"));
        write_json(&upload.join("certs.json"), &certs_secret("m3n7xz"));
        write_json(
            &p.join("token-create").join("token-2.json"),
            &token_secret(NEW_TOKEN, 24, ""),
        );

        let texts = state.join("texts");
        let ours = |t: String| {
            t.replace("lab-api.hatui.local:6443", endpoint)
                .replace("lab-api.hatui.local", endpoint_host)
        };
        write(
            &texts.join("init.txt"),
            ours(fixture("init-v1.32-tabs.txt")).replace("10.0.0.11", hosts[0].1),
        );
        write(
            &texts.join("token-create.txt"),
            ours(fixture("token-create.txt")),
        );
        write(&texts.join("upload-certs.txt"), fixture("upload-certs.txt"));
        write(&texts.join("join-worker.txt"), fixture("join-worker.txt"));
        // kubeadm's join preflight (DirAvailableCheck on the manifests directory, as
        // preflight/checks.go words it), in join-again.txt's frame.
        let not_empty = fixture("join-again.txt").lines().enumerate().filter(|(i, _)| ![1, 2, 3].contains(i)).map(|(i, l)| if i == 0 { format!("{l}\n\t[ERROR DirAvailable--etc-kubernetes-manifests]: /etc/kubernetes/manifests is not empty\n") } else { format!("{l}\n") }).collect::<String>();
        write(&texts.join("join-manifests-not-empty.txt"), not_empty);
        write(&texts.join("calico.txt"), CALICO_APPLIED);
        for (name, addr, _) in hosts.iter().filter(|h| h.2) {
            let t = ours(fixture("join-control-plane.txt"));
            write(
                &texts.join(format!("join-control-plane-{name}.txt")),
                t.replace("cp-2", name).replace("10.0.0.12", addr),
            );
        }

        let mut sshds = Vec::new();
        let lbs = fleet.load_balancers.iter().map(|&(n, a)| (n, a, false));
        for (name, addr, _) in hosts.iter().copied().chain(lbs) {
            let bin = dir.path().join("bin").join(name);
            std::fs::create_dir_all(&bin).unwrap();
            let d = |tool: &str, body: &str| {
                double(&bin, tool, name, addr, &state, &format!("{RECORD}\n{body}"));
            };
            // Day 2's commands first (`replace.rs`), then the build's.
            d("kubeadm", &format!("{}\n{KUBEADM}", replace::KUBEADM));
            d(
                "kubectl",
                &format!("{}\n{}\n{KUBECTL}", resize::KUBECTL, replace::KUBECTL),
            );
            d("curl", CURL);
            d("swapon", "exit 0");
            d("systemctl", "exit 0");
            d("crictl", "exit 0");
            d("kubelet", "exit 0");
            d("getent", &format!("echo '10.0.0.100      {endpoint_host}'"));
            d("install", INSTALL);
            // Only ip_forward is the double's; everything else is the real cat.
            // ip_forward and kubeadm's files are the double's; the rest is the real cat.
            let cat = format!(
                "case \"$1\" in\n/proc/sys/net/ipv4/ip_forward) {RECORD}; echo 1 ;;\n/etc/kubernetes/*|/var/lib/etcd/*) {RECORD}; exec /bin/cat \"$S/root/$HOST$1\" ;;\n*) exec /bin/cat \"$@\" ;;\nesac"
            );
            double(&bin, "cat", name, addr, &state, &cat);
            sshds.push(Sshd::start_on(addr, &[path_line(&bin)]));
        }
        let known_hosts = known_hosts_of(dir.path(), &sshds);
        let key = one_client_key(&sshds);
        let mut inv = format!(
            "name = \"t\"\nendpoint = \"{endpoint}\"\nload_balancer = \"{}\"\n{}\
             pod_cidr = \"192.168.0.0/16\"\nservice_cidr = \"10.96.0.0/12\"\n\
             [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\nsudo = false\n",
            fleet.load_balancer,
            fleet.keys,
            key.display(),
            known_hosts.display()
        );
        for ((name, addr, master), s) in hosts.iter().zip(&sshds) {
            let role = if *master { "control-plane" } else { "worker" };
            inv.push_str(&format!(
                "\n[[hosts]]\nname = \"{name}\"\naddress = \"{addr}\"\nrole = \"{role}\"\nport = {}\n",
                s.port
            ));
        }
        for ((name, addr), s) in fleet.load_balancers.iter().zip(&sshds[hosts.len()..]) {
            inv.push_str(&format!(
                "\n[[load_balancers]]\nname = \"{name}\"\naddress = \"{addr}\"\nport = {}\n",
                s.port
            ));
        }
        inv.push_str(&fleet.tables);
        let inventory = dir.path().join("hatui.toml");
        write(&inventory, inv);
        Self {
            dir,
            state,
            inventory,
            fleet,
            _sshds: sshds,
        }
    }

    /// `hatui wizard --inventory FILE --yes` with `args`, started.
    pub fn start(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_hatui"))
            .args(["wizard", "--inventory"])
            .arg(&self.inventory)
            .arg("--yes")
            .args(args)
            .env("XDG_STATE_HOME", self.dir.path().join("xdg"))
            .env("HOME", self.home())
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run hatui")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        finish(self.start(args))
    }

    /// The wizard's HOME: where `~/.kube` is.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `path` as the doubles wrote it on `host` (`install`), with its mode.
    pub fn file(&self, host: &str, path: &str) -> Option<(String, String)> {
        let at = self.state.join(format!("root/{host}{path}"));
        let text = std::fs::read_to_string(&at).ok()?;
        let mode = std::fs::read_to_string(format!("{}.mode", at.display())).unwrap_or_default();
        Some((text, mode.trim().to_string()))
    }

    /// The static pod manifest `name` on `host` when its kubeadm (init or join) started.
    pub fn seen_by_kubeadm(&self, host: &str, name: &str) -> Option<String> {
        std::fs::read_to_string(self.state.join(format!("seen/{host}/{name}"))).ok()
    }

    pub fn audit(&self) -> String {
        let path = self.dir.path().join("xdg/hatui/audit-t.log");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// What `host`'s doubles were asked, in order, without the wizard's looks at the
    /// cluster (`kubectl --request-timeout`, `curl --max-time`).
    pub fn commands(&self, host: &str) -> Vec<String> {
        let log =
            std::fs::read_to_string(self.state.join(format!("log/{host}.log"))).unwrap_or_default();
        log.lines()
            .filter(|l| !l.contains("--request-timeout=5s") && !l.contains("--max-time 5"))
            .map(str::to_string)
            .collect()
    }

    pub fn joins(&self, host: &str) -> usize {
        let joins = self.commands(host);
        joins
            .iter()
            .filter(|c| c.starts_with("kubeadm join"))
            .count()
    }

    pub fn set(&self, what: &str, host: &str, text: &str) {
        write(&self.state.join(what).join(host), text);
    }

    /// When `host`'s join double started and ended (seconds).
    pub fn join_times(&self, host: &str) -> (f64, f64) {
        let t = |end: &str| -> f64 {
            let path = self.state.join(format!("times/{host}.{end}"));
            let text = std::fs::read_to_string(&path).unwrap();
            text.trim().parse().unwrap()
        };
        (t("start"), t("end"))
    }

    /// The known_hosts file the inventory names.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// Drops `address`'s line from the known_hosts file (its key is unknown again) and
    /// returns it.
    pub fn forget_host_key(&self, address: &str) -> String {
        let (gone, kept) = self.known_hosts_split(address);
        write(&self.known_hosts(), kept.join("\n") + "\n");
        gone
    }

    /// Puts `other`'s key in `address`'s line: `address` offers a changed key. Returns the
    /// line's number.
    pub fn change_host_key(&self, address: &str, other: &str) -> usize {
        let (_, kept) = self.known_hosts_split(address);
        let (theirs, _) = self.known_hosts_split(other);
        let key = theirs.split_once(' ').unwrap().1;
        let port = self.port(address);
        let mut lines = kept;
        lines.push(format!("[{address}]:{port} {key}"));
        write(&self.known_hosts(), lines.join("\n") + "\n");
        lines.len()
    }

    /// `address`'s sshd port.
    pub fn port(&self, address: &str) -> u16 {
        let (line, _) = self.known_hosts_split(address);
        let port = line.split_once("]:").unwrap().1.split(' ').next().unwrap();
        port.parse().unwrap()
    }

    fn known_hosts_split(&self, address: &str) -> (String, Vec<String>) {
        let text = std::fs::read_to_string(self.known_hosts()).unwrap();
        let (gone, kept): (Vec<&str>, Vec<&str>) = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .partition(|l| l.starts_with(&format!("[{address}]:")));
        assert_eq!(gone.len(), 1, "{address} in {text}");
        (
            gone[0].to_string(),
            kept.into_iter().map(String::from).collect(),
        )
    }
}

/// Waits for a run to end (at most 3 minutes: a hang fails the test, with what it said).
pub fn finish(mut child: Child) -> Output {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        stdout.read_to_end(&mut b).map(|_| b)
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        stderr.read_to_end(&mut b).map(|_| b)
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let said = String::from_utf8_lossy(&out.join().unwrap().unwrap()).into_owned();
            panic!("hatui wizard did not finish within 3 minutes:\n{said}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

pub fn json_of(out: &Output) -> (Value, String) {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (v, text)
}

pub fn step<'a>(v: &'a Value, id: &str) -> &'a Value {
    let plan = v["plan"].as_array().unwrap();
    plan.iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {:?}", step_ids(v)))
}

pub fn assert_no_secret_in(text: &str) {
    assert_no_secret(text);
    for s in SECRETS {
        assert!(!text.contains(s), "a secret leaked: {s}");
    }
}

/// Preflight's and the load balancer's commands, as every host receives them.
pub fn checks() -> Vec<String> {
    checks_for(&Fleet::plan())
}

/// [`checks`] for `fleet`: an endpoint that is an IP is not looked up.
pub fn checks_for(fleet: &Fleet) -> Vec<String> {
    let mut c: Vec<String> = vec![
        "swapon --noheadings".into(),
        "cat /proc/sys/net/ipv4/ip_forward".into(),
        "systemctl is-active --quiet containerd".into(),
        format!("crictl --runtime-endpoint {CRI} info"),
    ];
    let host = fleet.endpoint_host();
    if host.parse::<std::net::IpAddr>().is_err() {
        c.push(format!("getent hosts {host}"));
    }
    c
}

pub fn join(host: &str, master: bool) -> String {
    join_on(ENDPOINT, host, master)
}

/// The join `host` receives through `endpoint`.
pub fn join_on(endpoint: &str, host: &str, master: bool) -> String {
    let cp = if master {
        format!(" --control-plane --certificate-key {KEY}")
    } else {
        String::new()
    };
    format!(
        "kubeadm join {endpoint} --token {TOKEN} --discovery-token-ca-cert-hash {HASH}{cp} --node-name {host} --cri-socket {CRI}"
    )
}
