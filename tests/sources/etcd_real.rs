//! hatui's etcd poller against a real 3-member etcd cluster with TLS on loopback.

use hatui_testkit as support;

use std::sync::Mutex;
use std::time::Duration;

use hatui_model::{ClusterEvent, ClusterState, EtcdStatus, FeedKind, FeedStatus, Node, SourceKind};
use hatui_sources::etcd::{Poller, PollerConfig, TlsMaterial, poll_once, spawn_poller};
use support::etcd_cluster::EtcdCluster;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// One cluster at a time: elections on 2 cores are slow enough already.
static SERIAL: Mutex<()> = Mutex::new(());

struct Live {
    rt: Runtime,
    rx: mpsc::Receiver<Vec<ClusterEvent>>,
    _poller: Poller,
}

fn live(cfg: PollerConfig) -> Live {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel(16);
    let poller = rt.block_on(async { spawn_poller(cfg, tx) });
    Live {
        rt,
        rx,
        _poller: poller,
    }
}

impl Live {
    /// The first view the poller sends that satisfies `want`; generous deadline, since
    /// this checks what is seen, not how fast.
    fn until(&mut self, what: &str, want: impl Fn(&EtcdStatus, &FeedStatus) -> bool) -> EtcdStatus {
        let rx = &mut self.rx;
        self.rt.block_on(async {
            let mut last = None;
            let deadline = tokio::time::sleep(Duration::from_secs(30));
            tokio::pin!(deadline);
            loop {
                let msg = tokio::select! {
                    m = rx.recv() => m.expect("poller stopped"),
                    _ = &mut deadline => panic!("never saw {what}; last view: {last:#?}"),
                };
                let events = msg;
                let [ClusterEvent::Etcd(s), ClusterEvent::Feed(FeedKind::Etcd, f)] = &events[..]
                else {
                    panic!("unexpected batch {events:?}");
                };
                if want(s, f) {
                    return s.clone();
                }
                last = Some((s.clone(), f.clone()));
            }
        })
    }
}

/// Status answers can come before the first member list, whose names then replace
/// the endpoint placeholders: wait for those.
fn healthy(s: &EtcdStatus, f: &FeedStatus) -> bool {
    let listed = s.members.iter().all(|m| !m.name.starts_with("https://"));
    listed
        && s.members.len() == 3
        && s.members.iter().all(|m| m.reachable)
        && s.leader.is_some()
        && f.error.is_none()
}

fn leader_name(s: &EtcdStatus) -> String {
    s.leader_member().expect("a leader").name.clone()
}

fn master(name: &str) -> Node {
    Node::ready_master(name)
}

#[test]
fn members_and_leader_match_what_etcd_reports() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = EtcdCluster::start(3);
    let mut live = live(cluster.config());
    let s = live.until("3 healthy members and a leader", healthy);
    let mut names: Vec<_> = s.members.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["m0", "m1", "m2"]);
    for m in &s.members {
        let expected = &cluster.members[cluster.index_of_url(&m.client_urls[0])];
        assert_eq!(m.name, expected.name);
        assert_eq!(m.endpoint.as_deref(), Some(expected.client_url.as_str()));
        assert_eq!(m.peer_urls, std::slice::from_ref(&expected.peer_url));
        assert!(m.version.starts_with("3."), "{m:?}");
        assert!(m.raft_term > 0 && m.raft_index > 0 && m.db_size_bytes > 0 && m.rtt.is_some());
        assert!(!m.is_learner);
    }
    assert_eq!(s.members.iter().filter(|m| m.is_leader).count(), 1);
    assert_eq!(Some(leader_name(&s)), cluster.leader_name_by_etcd());
    assert!(s.quorum().has_quorum() && s.quorum().tolerates == 1);
    // Every member has its node; m2's Node deleted leaves a stale member.
    let mut c = ClusterState::new(SourceKind::Live, "lb:6443", jiff::Timestamp::now());
    for name in ["m0", "m1", "m2"] {
        c.apply(ClusterEvent::NodeUpsert(master(name)));
    }
    c.apply(ClusterEvent::Etcd(s.clone()));
    assert_eq!(c.etcd_warnings(), Vec::<String>::new());
    c.apply(ClusterEvent::NodeRemoved("m2".into()));
    let stale = c.etcd_warnings();
    let m2 = s.members.iter().find(|m| m.name == "m2").unwrap();
    assert!(
        stale
            .iter()
            .any(|w| w.contains(&format!("etcdctl member remove {:x}", m2.id))),
        "{stale:?}"
    );
}

#[test]
fn sigkill_of_the_leader_then_a_new_leader_is_seen() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = EtcdCluster::start(3);
    let mut live = live(cluster.config());
    let before = live.until("a healthy cluster", healthy);
    let old = before.leader_member().unwrap().clone();
    cluster.kill(cluster.index_of_url(&old.client_urls[0]));
    // Both survivors following it: right after the vote one of them may not have heard
    // the new leader's first heartbeat yet (no leader for a poll), on a loaded machine.
    let after = live.until("a new leader both survivors follow", |s, _| {
        s.leader.is_some_and(|l| l != old.id) && s.quorum().has_quorum()
    });
    assert_eq!(Some(leader_name(&after)), cluster.leader_name_by_etcd());
    let dead = after.members.iter().find(|m| m.id == old.id).unwrap();
    assert!(!dead.reachable && !dead.is_leader, "{dead:?}");
    assert!(dead.error.is_some());
    assert!(after.quorum().has_quorum() && after.quorum().tolerates == 0);
    assert!(
        after.leader_changes.len() == 1,
        "{:?}",
        after.leader_changes
    );
}

#[test]
fn two_members_down_shows_no_quorum_and_nothing_hangs() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = EtcdCluster::start(3);
    let mut live = live(cluster.config());
    live.until("a healthy cluster", healthy);
    cluster.kill(0);
    cluster.kill(1);
    let s = live.until("quorum lost", |s, _| {
        s.leader.is_none() && s.quorum().healthy == 1
    });
    let q = s.quorum();
    assert_eq!((q.members, q.healthy, q.needed), (3, 1, 2));
    assert!(!q.has_quorum());
    assert!(
        s.warnings()[0].starts_with("quorum lost: 1/3 healthy"),
        "{:?}",
        s.warnings()
    );
    // Still polling: the next views keep arriving (the heartbeat at least).
    live.until("another view", |s, _| s.leader.is_none());
    // A one-shot poll returns within its timeouts although two members are gone.
    let cfg = cluster.config();
    let once = live.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), poll_once(&cfg))
            .await
            .expect("poll_once hung")
    });
    assert!(!once.0.quorum().has_quorum());
    assert_eq!(once.0.members.len(), 3);
}

#[test]
fn wrong_ca_or_missing_client_certificate_is_a_clear_tls_error() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = EtcdCluster::start(3);
    let c = &cluster.certs;
    let once = |tls: TlsMaterial| {
        let cfg = PollerConfig::new(cluster.endpoints(), Some(tls));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(poll_once(&cfg))
    };

    let wrong = TlsMaterial::from_files(&c.other_ca, Some(&c.client_cert), Some(&c.client_key));
    let (s, feed) = once(wrong.unwrap());
    let ca = c.other_ca.display().to_string();
    for m in &s.members {
        let err = m.error.as_deref().unwrap_or_default();
        assert!(
            !m.reachable && err.contains("not signed by the CA in") && err.contains(&ca),
            "{err}"
        );
    }
    assert!(feed.error.unwrap().contains(&ca));

    let (s, _) = once(TlsMaterial::from_files(&c.ca, None, None).unwrap());
    let err = s.members[0].error.clone().unwrap_or_default();
    assert!(
        err.contains("requires a client certificate") && err.contains("--etcd-cert"),
        "{err}"
    );

    let gone = cluster.dir.join("no-such-client.crt");
    let err = TlsMaterial::from_files(&c.ca, Some(&gone), Some(&c.client_key)).unwrap_err();
    assert!(
        err.to_string().contains(&gone.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("etcd client certificate"), "{err}");
}

/// A master that joined after hatui started is asked too: the poller (and `status`)
/// were given two endpoints, the member list names a third.
#[test]
fn a_member_no_endpoint_names_is_found_through_the_member_list() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = EtcdCluster::start(3);
    let mut two = cluster.config();
    two.endpoints.truncate(2);
    let third = cluster.members[2].client_url.clone();

    let mut live = live(two.clone());
    let s = live.until("the third member polled at its own URL", healthy);
    let m2 = s.members.iter().find(|m| m.name == "m2").unwrap();
    assert_eq!(m2.endpoint.as_deref(), Some(third.as_str()));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (s, _) = rt.block_on(poll_once(&two));
    assert!(s.members.iter().all(|m| m.reachable), "{s:#?}");

    // Not for SSH tunnels: there a member's own URL is not reachable from here.
    let tunnels = PollerConfig {
        follow_members: false,
        ..two
    };
    let (s, _) = rt.block_on(poll_once(&tunnels));
    let m2 = s.members.iter().find(|m| m.name == "m2").unwrap();
    assert!(!m2.reachable && m2.endpoint.is_none(), "{m2:?}");
}

/// A test process that ends without dropping its cluster (what an `Arc` in a helper thread
/// or `process::exit` leads to) takes the cluster with it: no etcd outlives the tests.
#[test]
fn an_etcd_cluster_dies_with_the_test_process_that_never_dropped_it() {
    const CHILD: &str = "HATUI_REAPER_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let etcd = EtcdCluster::start(3);
        let pids: Vec<String> = (0..3).map(|i| etcd.pid(i).unwrap().to_string()).collect();
        println!("PIDS {}", pids.join(" "));
        println!("DIR {}", etcd.dir.display());
        std::mem::forget(etcd);
        std::process::exit(0);
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            // The test's own name in this binary: its module path without the crate's.
            &format!(
                "{}::an_etcd_cluster_dies_with_the_test_process_that_never_dropped_it",
                module_path!().split_once("::").map_or("", |(_, m)| m)
            ),
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pids: Vec<u32> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PIDS "))
        .unwrap_or_else(|| panic!("the child test printed no pids: {out:?}"))
        .split(' ')
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 3);
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            // A zombie (state Z) waits for init to reap it: it runs no more.
            .is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
    };
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while pids.iter().any(alive) {
        assert!(
            std::time::Instant::now() < end,
            "etcd members {pids:?} outlived the test process that started them"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(dir) = stdout.lines().find_map(|l| l.strip_prefix("DIR ")) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
