//! The wizard's whole plan on real hosts over SSH, with the real binary (`hatui wizard
//! --inventory FILE --yes [--json]`): 3 masters and 2 workers, each a real `sshd` on its
//! own loopback address (127.0.0.61-65) with its own host key. What cannot run here
//! (kubeadm, kubectl, curl, systemctl, crictl, swapon, getent) are test doubles on each
//! host's PATH: they record their arguments per host, print kubeadm's texts
//! (tests/fixtures/kubeadm, from kubernetes/kubernetes), and share a state directory, so
//! that what init and the joins did shows in `kubectl get` and in etcd's member list when
//! the wizard looks (a node that joined is there, Ready; a master's member is a voter).

mod support;
mod wizard_json;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use serde_json::{Value, json};
use support::sshd::{Sshd, need_sshd};
use wizard_json::{PLAN_3_2, assert_no_secret, step_ids};

/// (name, address, master)
const HOSTS: [(&str, &str, bool); 5] = [
    ("cp-1", "127.0.0.61", true),
    ("cp-2", "127.0.0.62", true),
    ("cp-3", "127.0.0.63", true),
    ("worker-1", "127.0.0.64", false),
    ("worker-2", "127.0.0.65", false),
];
const ENDPOINT_HOST: &str = "k8s-api.example.internal";
const ENDPOINT: &str = "k8s-api.example.internal:6443";
const CRI: &str = "unix:///var/run/containerd/containerd.sock";
const CALICO: &str =
    "https://raw.githubusercontent.com/projectcalico/calico/v3.29.1/manifests/calico.yaml";
/// What init prints (tests/fixtures/kubeadm/init-v1.32-tabs.txt).
const TOKEN: &str = "9a8x2k.e4c82f167cb1adb5";
const HASH: &str = "sha256:4873d6a68f2b9fc4eaae62765fea81db2e14dd4ed5d8504ccf37b590dcc3c413";
const KEY: &str = "85612b4f52f6fac9d97daa85fc30e44e14fb5773f38297867aac3df14aff9cec";
/// What `token create` and `upload-certs` print (their fixtures).
const NEW_TOKEN: &str = "p4l7qd.5f3030a5686a4bdd";
const NEW_KEY: &str = "357b5068b3854cc2b8c56dbf96db6492a2c69568d45b6c035aca70bf42944e90";
const SECRETS: [&str; 4] = ["e4c82f167cb1adb5", KEY, "5f3030a5686a4bdd", NEW_KEY];
/// Whole runs of the binary, one at a time: their timings are compared.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/kubeadm/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(name: &str) -> Vec<Value> {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn write_json(path: &Path, v: &Value) {
    write(path, serde_json::to_string(v).unwrap());
}

fn double(bin: &Path, name: &str, host: &str, addr: &str, state: &Path, body: &str) {
    let path = bin.join(name);
    let text = format!(
        "#!/bin/sh\nHOST={host}\nADDR={addr}\nS='{}'\n{body}\n",
        state.display()
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Records its arguments in the host's log, first thing.
const RECORD: &str = "echo \"$(basename \"$0\") $*\" >> \"$S/log/$HOST.log\"";

const KUBEADM: &str = r#"
case "$*" in
'init phase upload-certs'*)
  /bin/cp "$S/prepared/upload-certs/"*.json "$S/objects/"
  /bin/cat "$S/texts/upload-certs.txt" ;;
init*)
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

const KUBECTL: &str = r#"
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
*) echo "kubectl double: not understood: $*" >&2; exit 1 ;;
esac"#;

const CURL: &str = r#"
for a in "$@"; do u=$a; done
addr=${u#https://}; addr=${addr%%:6443/readyz}
if [ -f "$S/apiserver/$addr" ]; then echo ok; else
  echo "curl: (7) Failed to connect to $addr port 6443 after 0 ms: Couldn't connect to server" >&2; exit 7
fi"#;

/// kubectl's own lines for `apply -f calico.yaml` (the first and last of them).
const CALICO_APPLIED: &str = "poddisruptionbudget.policy/calico-kube-controllers created
serviceaccount/calico-kube-controllers created
serviceaccount/calico-node created
configmap/calico-config created
daemonset.apps/calico-node created
deployment.apps/calico-kube-controllers created
";

struct Site {
    dir: tempfile::TempDir,
    state: PathBuf,
    inventory: PathBuf,
    _sshds: Vec<Sshd>,
}

fn node(name: &str, addr: &str, ready: bool) -> Value {
    let nodes = fixture_json("nodes.json");
    let mut n = nodes
        .into_iter()
        .find(|n| n["metadata"]["name"] == name)
        .unwrap();
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

fn base64(text: &str) -> Value {
    serde_json::to_value(ByteString(text.as_bytes().to_vec())).unwrap()
}

/// A bootstrap token as kubeadm stores it, expiring `hours` from now.
fn token_secret(token: &str, hours: i64, description: &str) -> Value {
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
fn owner_token(id: &str) -> Value {
    let description = "Proxy for managing TTL for the kubeadm-certs secret";
    token_secret(&format!("{id}.1m5n7b9d3f2h4j6k"), 2, description)
}

/// `kubeadm-certs`, owned by the 2-hour token `owner` (its TTL is the key's).
fn certs_secret(owner: &str) -> Value {
    let mut s = fixture_json("secrets.json")
        .into_iter()
        .find(|s| s["metadata"]["name"] == "kubeadm-certs")
        .unwrap();
    s["metadata"]["ownerReferences"][0]["name"] = json!(format!("bootstrap-token-{owner}"));
    s
}

fn member_id(i: usize) -> u64 {
    // Above 2^53, as etcd's ids are: they must survive JSON.
    0xa103_0f2c_9b1e_0000 + i as u64
}

impl Site {
    fn new() -> Self {
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
        for (i, (name, addr, master)) in HOSTS.iter().enumerate() {
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
        config["data"]["ClusterConfiguration"] = json!(cc.replace("lb.hatui.test:6443", ENDPOINT));
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
        let ours = |t: String| t.replace("lab-api.hatui.local", ENDPOINT_HOST);
        write(
            &texts.join("init.txt"),
            ours(fixture("init-v1.32-tabs.txt")).replace("10.0.0.11", HOSTS[0].1),
        );
        write(
            &texts.join("token-create.txt"),
            ours(fixture("token-create.txt")),
        );
        write(&texts.join("upload-certs.txt"), fixture("upload-certs.txt"));
        write(&texts.join("join-worker.txt"), fixture("join-worker.txt"));
        write(&texts.join("calico.txt"), CALICO_APPLIED);
        for (name, addr, _) in &HOSTS[1..3] {
            let t = ours(fixture("join-control-plane.txt"));
            write(
                &texts.join(format!("join-control-plane-{name}.txt")),
                t.replace("cp-2", name).replace("10.0.0.12", addr),
            );
        }

        let mut sshds = Vec::new();
        for (name, addr, _) in HOSTS {
            let bin = dir.path().join("bin").join(name);
            std::fs::create_dir_all(&bin).unwrap();
            let d = |tool: &str, body: &str| {
                double(&bin, tool, name, addr, &state, &format!("{RECORD}\n{body}"));
            };
            d("kubeadm", KUBEADM);
            d("kubectl", KUBECTL);
            d("curl", CURL);
            d("swapon", "exit 0");
            d("systemctl", "exit 0");
            d("crictl", "exit 0");
            d("kubelet", "exit 0");
            d("getent", &format!("echo '10.0.0.100      {ENDPOINT_HOST}'"));
            // Only ip_forward is the double's; everything else is the real cat.
            let cat = format!(
                "if [ \"$1\" = /proc/sys/net/ipv4/ip_forward ]; then {RECORD}; echo 1; else exec /bin/cat \"$@\"; fi"
            );
            double(&bin, "cat", name, addr, &state, &cat);
            let path = format!(
                "SetEnv PATH={}:/usr/sbin:/usr/bin:/sbin:/bin",
                bin.display()
            );
            sshds.push(Sshd::start_on(addr, &[path]));
        }
        let known: String = sshds
            .iter()
            .map(|s| std::fs::read_to_string(&s.known_hosts).unwrap() + "\n")
            .collect();
        let known_hosts = dir.path().join("known_hosts");
        write(&known_hosts, known);
        // One client key for all: the first sshd's, which the others accept too.
        let key = sshds[0].ed25519_key.clone();
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        for s in &sshds[1..] {
            let accepted = s.dir.join("authorized_keys");
            let both = std::fs::read_to_string(&accepted).unwrap() + &public;
            write(&accepted, both);
        }
        let mut inv = format!(
            "name = \"t\"\nendpoint = \"{ENDPOINT}\"\nload_balancer = \"nlb\"\n\
             pod_cidr = \"192.168.0.0/16\"\nservice_cidr = \"10.96.0.0/12\"\n\
             [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\nsudo = false\n",
            key.display(),
            known_hosts.display()
        );
        for ((name, addr, master), s) in HOSTS.iter().zip(&sshds) {
            let role = if *master { "control-plane" } else { "worker" };
            inv.push_str(&format!(
                "\n[[hosts]]\nname = \"{name}\"\naddress = \"{addr}\"\nrole = \"{role}\"\nport = {}\n",
                s.port
            ));
        }
        let inventory = dir.path().join("hatui.toml");
        write(&inventory, inv);
        Self {
            dir,
            state,
            inventory,
            _sshds: sshds,
        }
    }

    /// `hatui wizard --inventory FILE --yes` with `args`, started.
    fn start(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_hatui"))
            .args(["wizard", "--inventory"])
            .arg(&self.inventory)
            .arg("--yes")
            .args(args)
            .env("XDG_STATE_HOME", self.dir.path().join("xdg"))
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run hatui")
    }

    fn run(&self, args: &[&str]) -> Output {
        finish(self.start(args))
    }

    fn audit(&self) -> String {
        let path = self.dir.path().join("xdg/hatui/audit-t.log");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// What `host`'s doubles were asked, in order, without the wizard's looks at the
    /// cluster (`kubectl --request-timeout`, `curl --max-time`).
    fn commands(&self, host: &str) -> Vec<String> {
        let log =
            std::fs::read_to_string(self.state.join(format!("log/{host}.log"))).unwrap_or_default();
        log.lines()
            .filter(|l| !l.contains("--request-timeout=5s") && !l.contains("--max-time 5"))
            .map(str::to_string)
            .collect()
    }

    fn joins(&self, host: &str) -> usize {
        let joins = self.commands(host);
        joins
            .iter()
            .filter(|c| c.starts_with("kubeadm join"))
            .count()
    }

    fn set(&self, what: &str, host: &str, text: &str) {
        write(&self.state.join(what).join(host), text);
    }

    /// When `host`'s join double started and ended (seconds).
    fn join_times(&self, host: &str) -> (f64, f64) {
        let t = |end: &str| -> f64 {
            let path = self.state.join(format!("times/{host}.{end}"));
            let text = std::fs::read_to_string(&path).unwrap();
            text.trim().parse().unwrap()
        };
        (t("start"), t("end"))
    }
}

/// Waits for a run to end (at most 3 minutes: a hang fails the test, with what it said).
fn finish(mut child: Child) -> Output {
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

fn json_of(out: &Output) -> (Value, String) {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (v, text)
}

fn step<'a>(v: &'a Value, id: &str) -> &'a Value {
    let plan = v["plan"].as_array().unwrap();
    plan.iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {:?}", step_ids(v)))
}

fn assert_no_secret_in(text: &str) {
    assert_no_secret(text);
    for s in SECRETS {
        assert!(!text.contains(s), "a secret leaked: {s}");
    }
}

/// Preflight's and the load balancer's commands, as every host receives them.
fn checks() -> Vec<String> {
    vec![
        "swapon --noheadings".into(),
        "cat /proc/sys/net/ipv4/ip_forward".into(),
        "systemctl is-active --quiet containerd".into(),
        format!("crictl --runtime-endpoint {CRI} info"),
        format!("getent hosts {ENDPOINT_HOST}"),
    ]
}

fn join(host: &str, master: bool) -> String {
    let cp = if master {
        format!(" --control-plane --certificate-key {KEY}")
    } else {
        String::new()
    };
    format!(
        "kubeadm join {ENDPOINT} --token {TOKEN} --discovery-token-ca-cert-hash {HASH}{cp} --node-name {host} --cri-socket {CRI}"
    )
}

#[test]
fn the_whole_plan_runs_on_three_masters_and_two_workers_each_host_receiving_its_commands_in_order()
{
    let site = Site::new();
    // Each worker's join takes 2 s: together they take 2 s, one after the other 4.
    for w in ["worker-1", "worker-2"] {
        site.set("sleep", w, "2");
    }
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
        format!("{kubectl} apply -f {CALICO}"),
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

    // The workers joined together, masters one at a time: the worker group took less
    // than its two 2-second joins would one after the other.
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
    assert!(
        (2.0..3.5).contains(&group),
        "worker joins took {group} s, not 2 + 2"
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
    // at the cluster too, no secret.
    let audit = site.audit();
    for s in v["plan"].as_array().unwrap() {
        let hosts = s["hosts"].as_array().unwrap();
        for c in s["commands"].as_array().unwrap() {
            let c = c.as_str().unwrap();
            let line = audit
                .lines()
                .find(|l| l.ends_with(&format!(" command={c}")))
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
}

#[test]
fn parallel_1_joins_the_workers_one_after_the_other() {
    let site = Site::new();
    for w in ["worker-1", "worker-2"] {
        site.set("sleep", w, "1");
    }
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
