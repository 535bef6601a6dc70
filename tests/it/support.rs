//! The cockpit on the test kit's kubeadm cluster (the tests' own API server, hatui's real
//! live sources pointed at it), and what the tests of the whole program share.

#![allow(dead_code)]

pub use hatui_testkit::cluster::{ADMIN, Cluster, TOKEN, VIEWER};
pub use hatui_testkit::{MASTERS, etcd_pods, fixture_now};
pub use hatui_testkit::{etcd_cluster, host_doubles, sshd, tls, tmux};

use std::time::Duration;

use hatui::app::App;
use hatui::live::{self, Sources};
use hatui::message::Message;
use hatui::model::ClusterState;
use ratatui::{Terminal, backend::TestBackend};
use tokio::sync::mpsc;

/// Runs the binary (`CARGO_BIN_EXE_hatui`) off the async runtime, so the test's API
/// server keeps serving; without `KUBECONFIG` from the environment.
pub async fn hatui_off_runtime(bin: &'static str, args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(&args)
            .env_remove("KUBECONFIG")
            .output()
            .expect("hatui runs")
    })
    .await
    .unwrap()
}

/// Every fixture object the watchers bring has arrived, and the endpoint answers.
pub fn fixtures_synced(s: &ClusterState) -> bool {
    s.nodes.len() == 5
        && s.tokens.len() == 4
        && s.leases.len() == 3
        && s.static_pods.len() == 3
        && s.cert_key.secret_present
        && s.endpoint.ready == Some(true)
}

/// The cockpit on a [`Cluster`]'s live sources: the cluster is the test kit's, the app hatui's.
pub trait RunCockpit {
    /// The sources running into an app, as the cockpit runs them.
    fn cockpit(&self, context: &str) -> impl std::future::Future<Output = Cockpit>;
}

impl RunCockpit for Cluster {
    async fn cockpit(&self, context: &str) -> Cockpit {
        Cockpit::run(self.sources(context).await)
    }
}

pub struct Cockpit {
    pub app: App,
    rx: mpsc::Receiver<Message>,
}

impl Cockpit {
    /// Like [`RunCockpit::cockpit`], with sources the test adjusted (another clock).
    pub fn run(sources: Sources) -> Cockpit {
        Self::run_with(sources, |_, _| {})
    }

    /// Like [`Cockpit::run`], with `also` given the sources and the cockpit's queue first,
    /// to start what the cockpit starts beside them (an etcd poller, discovery again).
    pub fn run_with(
        sources: Sources,
        also: impl FnOnce(&Sources, mpsc::Sender<Message>),
    ) -> Cockpit {
        let app = App::new(live::empty_state(&sources));
        let (tx, rx) = mpsc::channel(64);
        also(&sources, tx.clone());
        live::spawn(sources, tx);
        Cockpit { app, rx }
    }

    pub fn state(&self) -> &ClusterState {
        &self.app.cluster
    }

    /// Applies the sources' messages until `cond` holds; fails after 15 s showing the
    /// timeline, so a broken behaviour names itself.
    pub async fn until(&mut self, what: &str, cond: impl Fn(&ClusterState) -> bool) {
        let wait = async {
            while !cond(&self.app.cluster) {
                let msg = self.rx.recv().await.expect("sources running");
                self.app.update(msg);
            }
        };
        if tokio::time::timeout(Duration::from_secs(15), wait)
            .await
            .is_err()
        {
            let timeline: Vec<String> = self
                .app
                .cluster
                .timeline
                .iter()
                .map(|e| e.text.clone())
                .collect();
            panic!("never saw {what}; timeline:\n{}", timeline.join("\n"));
        }
    }

    /// Entries that arrived together from different watchers come in a racy order (all at
    /// the same pinned second): sort them by text for a stable snapshot.
    pub fn sort_timeline(&mut self) {
        let mut entries: Vec<_> = self.app.cluster.timeline.iter().cloned().collect();
        entries.sort_by(|a, b| a.text.cmp(&b.text));
        let mut sorted = hatui::model::Timeline::default();
        for e in entries {
            sorted.push(e.at, e.severity, e.text);
        }
        self.app.cluster.timeline = sorted;
    }

    /// The whole screen as text, with probe latencies (real time) pinned.
    pub fn screen(&mut self, width: u16, height: u16) -> String {
        if self.app.cluster.endpoint.latency_ms.is_some() {
            self.app.cluster.endpoint.latency_ms = Some(3.0);
        }
        for api in self.app.cluster.apiservers.values_mut() {
            if api.latency_ms.is_some() {
                api.latency_ms = Some(2.0);
            }
        }
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| hatui::view::draw(frame, &mut self.app))
            .unwrap();
        hatui_testkit::screen::text(terminal.backend().buffer())
    }
}
