//! The replacement of a dead master, its etcd side for real, against a 3-member TLS etcd
//! cluster on 127.0.0.11-13 (members named after their masters, as kubeadm names them):
//! the replace plan's own `remove-member` command text, run by `sh` with `kubectl` as a
//! test double for `kubectl exec etcd-<node> -- etcdctl`, removes the SIGKILLed member;
//! then the join as kubeadm does it: `member add --learner`, a new etcd process started
//! with `--initial-cluster-state=existing`, `member promote` once it has caught up (and
//! refused before, with etcd's own text). Every process started is SIGKILLed on drop.

use hatui_testkit::etcd_cluster;
use hatui_testkit::etcd_join;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use etcd_cluster::{EtcdCluster, etcdctl_bin};
use etcd_join::{Joined, kubectl_double};
use hatui_model::{ClusterEvent, ClusterState, EtcdStatus, Node, Readiness, SourceKind};

const MASTERS: [(&str, &str); 3] = [
    ("cp-1", "127.0.0.11"),
    ("cp-2", "127.0.0.12"),
    ("cp-3", "127.0.0.13"),
];

/// etcd's refusal to promote a learner that has not caught up (etcd
/// `server/etcdserver/errors.go`, `ErrLearnerNotReady`).
const NOT_IN_SYNC: &str =
    "etcdserver: can only promote a learner member which is in sync with leader";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The test's own etcdctl (v3, the cluster's client certificate) against `endpoints`.
fn etcdctl(cluster: &EtcdCluster, endpoints: &str, args: &[&str]) -> Output {
    let s = |p: &Path| p.display().to_string();
    let c = &cluster.certs;
    Command::new(etcdctl_bin())
        .env_clear()
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg("--command-timeout=5s")
        .arg(format!("--cacert={}", s(&c.ca)))
        .arg(format!("--cert={}", s(&c.client_cert)))
        .arg(format!("--key={}", s(&c.client_key)))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("etcdctl runs")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `etcdctl member list` (its simple format: `id, status, name, peers, clients, learner`).
fn member_list(cluster: &EtcdCluster, endpoint: &str) -> Vec<Vec<String>> {
    let out = ok(
        &etcdctl(cluster, endpoint, &["member", "list"]),
        "member list",
    );
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(", ").map(str::to_string).collect())
        .collect()
}

/// One poll of every endpoint through hatui's own code.
fn poll(cluster: &EtcdCluster, endpoints: Vec<String>) -> EtcdStatus {
    let config = hatui_sources::etcd::PollerConfig::new(endpoints, Some(cluster.tls()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(hatui_sources::etcd::poll_once(&config)).0
}

fn master(name: &str) -> Node {
    Node {
        name: name.into(),
        roles: vec!["control-plane".into()],
        ready: Readiness::Ready,
        ready_since: None,
        kubelet_version: "v1.33.2".into(),
        internal_ip: None,
        hostname: None,
        taints: vec![],
        last_heartbeat: None,
        created: None,
    }
}

/// The plan's `remove-member/cp-1` command, exactly as `hatui wizard --replace cp-1`
/// runs it on cp-2 (the lab's inventory: three masters).
fn remove_member_command() -> String {
    let inv =
        hatui_fleet::inventory::parse("lab", &hatui_workflows::wizard::lab::inventory_toml(3, 0))
            .expect("the lab's inventory");
    let plan =
        hatui_workflows::wizard::plan::replace(&inv, "cp-1", "cp-2").expect("a replace plan");
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    let remove = ids.iter().position(|id| *id == "remove-member/cp-1");
    let join = ids.iter().position(|id| *id == "join-control-plane/cp-1");
    assert!(remove.is_some() && remove < join, "{ids:?}");
    let step = plan.step("remove-member/cp-1").unwrap();
    assert_eq!(step.commands.len(), 1, "{:?}", step.commands);
    assert_eq!(step.commands[0].host, "cp-2");
    step.commands[0].shown()
}

/// `sh -c TEXT` on "cp-2", the test doubles first on its PATH.
fn run_on_master(bin: &Path, text: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(text)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display()),
        )
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

/// `Member <hex id> added to cluster <hex>` and `ETCD_INITIAL_CLUSTER="..."`, as
/// `etcdctl member add` prints them.
fn added(out: &str) -> (String, String) {
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("Member ")?.split(' ').next())
        .unwrap_or_else(|| panic!("no member id in {out}"));
    let initial = out
        .lines()
        .find_map(|l| l.strip_prefix("ETCD_INITIAL_CLUSTER=\""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no ETCD_INITIAL_CLUSTER in {out}"));
    (id.to_string(), initial.to_string())
}

#[test]
fn a_dead_masters_member_is_removed_by_the_plan_and_its_replacement_joins_as_a_learner_then_votes()
{
    let mut cluster = EtcdCluster::start_on(&MASTERS);
    let urls = cluster.endpoints();
    let all = urls.join(",");
    let keys: Vec<(String, String)> = (0..15)
        .map(|i| (format!("/registry/day2/key-{i}"), format!("value-{i}")))
        .collect();
    for (k, v) in &keys {
        ok(&etcdctl(&cluster, &all, &["put", k, v]), "put");
    }
    let old = member_list(&cluster, &urls[1]);
    let old_id = old.iter().find(|m| m[2] == "cp-1").unwrap()[0].clone();

    // cp-1 loses its power: its member no longer answers, and is still a member.
    cluster.kill(0);
    let seen = poll(&cluster, urls.clone());
    let dead = seen.members.iter().find(|m| m.name == "cp-1").unwrap();
    assert!(!dead.reachable, "{seen:?}");
    assert_eq!(seen.members.len(), 3, "a dead member is still a member");

    // The plan's remove-member step, its exact text, on cp-2.
    let work = tempfile::tempdir().unwrap();
    let bin = kubectl_double(&cluster, work.path());
    let command = remove_member_command();
    assert!(
        command.contains("exec etcd-cp-2 -- etcdctl") && command.contains("member remove"),
        "{command}"
    );
    // A new leader first (the plan's check step runs before), then the step; a failed
    // step is run again, as Enter does (a loaded machine can miss etcdctl's 2 s dial).
    cluster.wait_for_leader(Duration::from_secs(30));
    let mut out = run_on_master(&bin, &command);
    for _ in 0..2 {
        if out.status.success() {
            break;
        }
        assert!(
            text(&out.stderr).contains("context deadline exceeded"),
            "{}",
            text(&out.stderr)
        );
        out = run_on_master(&bin, &command);
    }
    let said = ok(&out, "the plan's remove-member command");
    // etcdctl pads the id to 16 columns (`%16x`): an id with a leading zero has two spaces.
    let words = said.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(&format!("Member {old_id} removed from cluster")),
        "etcdctl's own line: {said}"
    );
    let left = member_list(&cluster, &urls[1]);
    let names: Vec<&str> = left.iter().map(|m| m[2].as_str()).collect();
    assert_eq!(names.len(), 2, "{left:?}");
    assert!(!names.contains(&"cp-1"), "{left:?}");
    // Run again (a resumed plan): nothing left to remove, and it says so.
    let again = ok(&run_on_master(&bin, &command), "remove-member again");
    assert_eq!(again.trim(), "cp-1 has no etcd member: already removed");

    // The replacement at cp-1's address joins as kubeadm does: a learner first.
    let (client_url, peer_url) = (
        cluster.members[0].client_url.clone(),
        cluster.members[0].peer_url.clone(),
    );
    // etcd takes a member only once the member asked has been connected to every voter
    // for 5 s (`ErrUnhealthy`); kubeadm retries the add, and so does this.
    let end = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let out = etcdctl(
            &cluster,
            &urls[1],
            &[
                "member",
                "add",
                "cp-1",
                &format!("--peer-urls={peer_url}"),
                "--learner",
            ],
        );
        let err = text(&out.stderr);
        if out.status.success() || !err.contains("etcdserver: unhealthy cluster") {
            break out;
        }
        assert!(Instant::now() < end, "member add refused for 30 s: {err}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let (id, initial) = added(&ok(&out, "member add --learner"));
    assert!(initial.contains(&format!("cp-1={peer_url}")), "{initial}");

    // Not started yet: etcd refuses to promote it, with its own words.
    let early = etcdctl(&cluster, &urls[1], &["member", "promote", &id]);
    assert!(!early.status.success(), "{}", text(&early.stdout));
    let refusal = text(&early.stderr);
    assert!(refusal.contains(NOT_IN_SYNC), "{refusal}");
    let listed = member_list(&cluster, &urls[1]);
    let learner = listed.iter().find(|m| m[0] == id).unwrap();
    assert_eq!(
        (
            learner[1].as_str(),
            learner[2].as_str(),
            learner[5].as_str()
        ),
        ("unstarted", "", "true"),
        "{listed:?}"
    );

    let joined = Joined::start(&cluster, "cp-1", &client_url, &peer_url, &initial);
    // kubeadm promotes in a loop until etcd says the learner has caught up.
    let end = Instant::now() + Duration::from_secs(60);
    let mut refused = 0;
    loop {
        let out = etcdctl(&cluster, &urls[1], &["member", "promote", &id]);
        if out.status.success() {
            let said = text(&out.stdout);
            assert!(said.contains(&format!("Member {id} promoted")), "{said}");
            break;
        }
        let err = text(&out.stderr);
        assert!(
            err.contains(NOT_IN_SYNC),
            "only the catch-up may refuse: {err}"
        );
        refused += 1;
        assert!(
            Instant::now() < end,
            "never promoted after {refused} tries: {err}\n{}",
            joined.log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Three voters, all started, the new cp-1 among them under a new id.
    let now = member_list(&cluster, &urls[1]);
    assert_eq!(now.len(), 3, "{now:?}");
    for m in &now {
        assert_eq!(
            (m[1].as_str(), m[5].as_str()),
            ("started", "false"),
            "{now:?}"
        );
    }
    let new = now.iter().find(|m| m[2] == "cp-1").unwrap();
    assert_eq!(new[0], id);
    assert_ne!(new[0], old_id);

    // hatui sees the same: every member answers, none a learner, none stale, a leader.
    let status = poll(&cluster, urls.clone());
    assert!(status.leader.is_some(), "{status:?}");
    assert_eq!(status.members.len(), 3, "{status:?}");
    assert!(
        status.members.iter().all(|m| m.reachable && !m.is_learner),
        "{status:?}"
    );
    let mut state = ClusterState::new(SourceKind::Live, "lb:6443", jiff::Timestamp::now());
    for (name, _) in MASTERS {
        state.apply(ClusterEvent::NodeUpsert(master(name)));
    }
    state.apply(ClusterEvent::Etcd(status.clone()));
    for m in &state.etcd.members {
        assert!(!state.member_standing(m).stale(), "{m:?}");
    }

    // The keys written before the replacement are in the new member's own store (a
    // serializable read answers from the member asked, not the leader).
    for (k, v) in &keys {
        let out = etcdctl(
            &cluster,
            &client_url,
            &["get", k, "--print-value-only", "--consistency=s"],
        );
        assert_eq!(ok(&out, "get on the new member").trim(), v, "{k}");
    }
    drop(joined);
}

/// The master the plan works through has lost its etcd as well (cp-2, with cp-1 dead:
/// no quorum either): the command fails with etcdctl's error and never claims the dead
/// master's member "already removed" (an empty member list is not an absent member).
#[test]
fn the_plans_remove_member_fails_loudly_when_etcd_cannot_answer() {
    let mut cluster = EtcdCluster::start_on(&MASTERS);
    cluster.kill(0);
    cluster.kill(1);
    let work = tempfile::tempdir().unwrap();
    let bin = kubectl_double(&cluster, work.path());
    let out = run_on_master(&bin, &remove_member_command());
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{said}{err}");
    assert!(!said.contains("already removed"), "{said}");
    assert!(err.contains("Error:"), "etcdctl's own error: {err}");
    // Nothing was removed: cp-3 still lists cp-1.
    let urls = cluster.endpoints();
    let listed = ok(
        &etcdctl(&cluster, &urls[2], &["member", "list"]),
        "member list",
    );
    assert!(listed.contains(", cp-1, "), "{listed}");
}
