//! `hatui lab --real-etcd` through the library: real etcd processes follow the lab's
//! masters, and hatui's poller sees etcd's own re-election. Deadlines are generous and
//! nothing is timed.

use std::path::PathBuf;
use std::time::Duration;

use hatui::etcd::spawn_poller;
use hatui::lab::{Lab, LabConfig};
use hatui::message::Message;
use hatui::model::{ClusterEvent, EtcdStatus, Fault, FaultKind};
use hatui::real_etcd::RealEtcd;
use hatui::runtime::LabCommand;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

use hatui_testkit::etcd_cluster;

const WITHIN: Duration = Duration::from_secs(60);

struct Session {
    rx: mpsc::Receiver<Message>,
    faults: mpsc::Sender<LabCommand>,
    task: JoinHandle<()>,
    _poller: hatui::etcd::Poller,
    dir: PathBuf,
    notes: Vec<String>,
    etcd: Option<EtcdStatus>,
}

async fn start(speed: f64) -> Session {
    etcd_cluster::etcd_bin(); // fails first, saying what to install
    let real = RealEtcd::start(3).await.expect("real etcd starts");
    let dir = real.dir().to_path_buf();
    let mut cfg = LabConfig::new(3, 1, 5, LabConfig::default().start);
    cfg.external_etcd = true;
    let (tx, rx) = mpsc::channel(64);
    let (faults, fault_rx) = mpsc::channel(4);
    let poller = spawn_poller(real.poller_config(), tx.clone());
    let mut real = real;
    let task = tokio::spawn(hatui::runtime::lab_task::run_following(
        Lab::new(cfg),
        speed,
        tx,
        fault_rx,
        move |lab: &Lab| real.follow(lab),
    ));
    Session {
        rx,
        faults,
        task,
        _poller: poller,
        dir,
        notes: Vec::new(),
        etcd: None,
    }
}

fn leader(s: &EtcdStatus) -> Option<&str> {
    let id = s.leader?;
    s.members
        .iter()
        .find(|m| m.id == id)
        .map(|m| m.name.as_str())
}

fn reachable(s: &EtcdStatus, name: &str) -> bool {
    s.members.iter().any(|m| m.name == name && m.reachable)
}

impl Session {
    /// Reads messages until `ok` holds for the latest etcd view.
    async fn until(&mut self, what: &str, ok: impl Fn(&EtcdStatus) -> bool) -> EtcdStatus {
        let end = Instant::now() + WITHIN;
        loop {
            if let Some(s) = &self.etcd
                && ok(s)
            {
                return s.clone();
            }
            let left = end.saturating_duration_since(Instant::now());
            let msg = timeout(left, self.rx.recv()).await;
            let Ok(Some(Message::Cluster(events))) = msg else {
                panic!(
                    "{what}: not seen; last etcd view {:#?}; notes {:#?}",
                    self.etcd, self.notes
                );
            };
            for e in events {
                match e {
                    ClusterEvent::Etcd(s) => {
                        assert!(s.members.len() <= 3, "lab's own etcd view leaked: {s:?}");
                        self.etcd = Some(s);
                    }
                    ClusterEvent::Note(n) => self.notes.push(n),
                    _ => {}
                }
            }
        }
    }

    async fn fault(&self, node: &str, kind: FaultKind) {
        let node = node.to_string();
        self.faults.send(Fault { node, kind }.into()).await.unwrap();
    }

    async fn healthy_leader(&mut self) -> String {
        let s = self
            .until("a leader with every member reachable", |s| {
                // Names come with the first member list; until then members go by URL.
                let named = s.members.iter().all(|m| m.name.starts_with("cp-"));
                leader(s).is_some() && named && s.members.iter().all(|m| m.reachable)
            })
            .await;
        let mut names: Vec<_> = s.members.iter().map(|m| m.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["cp-1", "cp-2", "cp-3"], "one member per lab master");
        leader(&s).unwrap().to_string()
    }

    /// Ends the lab task (it owns the processes) and checks everything is cleaned up.
    async fn finish(self) {
        drop(self.rx);
        timeout(WITHIN, self.task)
            .await
            .expect("the lab task ends")
            .unwrap();
        assert!(!self.dir.exists(), "{} removed", self.dir.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powering_off_the_leaders_master_kills_its_real_member_and_etcd_elects_another() {
    let mut s = start(1.0).await;
    let old = s.healthy_leader().await;
    s.fault(&old, FaultKind::PowerOff).await;
    let after = s
        .until("a new leader, the old one unreachable", |st| {
            leader(st).is_some_and(|l| l != old) && !reachable(st, &old)
        })
        .await;
    assert_eq!(after.members.iter().filter(|m| m.reachable).count(), 2);
    let killed = format!("LAB: {old}: real etcd");
    assert!(
        s.notes
            .iter()
            .any(|n| n.starts_with(&killed) && n.contains("SIGKILL")),
        "{:#?}",
        s.notes
    );
    s.fault(&old, FaultKind::Restore).await;
    s.until("the restored member answering again", |st| {
        reachable(st, &old) && st.members.iter().all(|m| m.reachable) && leader(st).is_some()
    })
    .await;
    assert!(
        s.notes
            .iter()
            .any(|n| n.starts_with(&killed) && n.contains("started again")),
        "{:#?}",
        s.notes
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_sends_sigterm_and_a_stopped_kubelet_touches_nothing() {
    // 20x: the kubelet's ~20 s manifest check takes about a second.
    let mut s = start(20.0).await;
    let old = s.healthy_leader().await;
    let other = ["cp-1", "cp-2", "cp-3"]
        .into_iter()
        .find(|n| *n != old)
        .unwrap();
    s.fault(other, FaultKind::StopKubelet).await;
    s.fault(&old, FaultKind::StopControlPlane).await;
    s.until("a new leader after the clean stop", |st| {
        leader(st).is_some_and(|l| l != old) && !reachable(st, &old)
    })
    .await;
    assert!(
        s.notes
            .iter()
            .any(|n| n.starts_with(&format!("LAB: {old}: real etcd")) && n.contains("SIGTERM")),
        "{:#?}",
        s.notes
    );
    let untouched = format!("LAB: {other}: real etcd");
    assert!(
        !s.notes.iter().any(|n| n.starts_with(&untouched)),
        "{:#?}",
        s.notes
    );
    assert!(
        reachable(s.etcd.as_ref().unwrap(), other),
        "kubelet stopped, etcd runs on"
    );
    s.finish().await;
}

fn hatui(args: &[&str], path: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .env("PATH", path)
        .output()
        .expect("hatui runs")
}

#[test]
fn without_etcd_on_path_the_error_says_what_to_install() {
    let out = hatui(&["lab", "--real-etcd"], "/nonexistent");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(hatui::real_etcd::MISSING_ETCD), "{err}");
    assert!(
        !err.contains("\x1b[?1049h"),
        "the terminal was never taken over: {err}"
    );
}

#[test]
fn real_etcd_with_another_etcd_is_refused() {
    let path = std::env::var("PATH").unwrap_or_default();
    let out = hatui(
        &["--etcd-ssh", "root@10.0.0.11", "lab", "--real-etcd"],
        &path,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--real-etcd cannot be used with --etcd-ssh"),
        "{err}"
    );
}

/// `E` is `crictl stop` of the etcd container: the real member gets SIGTERM (it hands
/// leadership over) and, when the lab's kubelet starts it again, runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_etcd_alone_sigterms_the_real_member_and_the_kubelet_brings_it_back() {
    let mut s = start(1.0).await;
    let old = s.healthy_leader().await;
    s.fault(&old, FaultKind::StopEtcd).await;
    s.until("another leader, the old member stopped", |st| {
        leader(st).is_some_and(|l| l != old) && !reachable(st, &old)
    })
    .await;
    let sigterm = format!("LAB: {old}: real etcd");
    assert!(
        s.notes
            .iter()
            .any(|n| n.starts_with(&sigterm) && n.contains("SIGTERM")),
        "{:#?}",
        s.notes
    );
    s.until("the member running again", |st| reachable(st, &old))
        .await;
    s.finish().await;
}
