//! `hatui status`: one snapshot, as text or JSON, with its health, then exit with the
//! health's plugin exit code.

pub mod health;
mod text;

use std::time::Duration;

use color_eyre::Result;
use jiff::SignedDuration;

use crate::etcd::{EtcdAccess, EtcdSettings};
use crate::lab::{Lab, LabConfig};
use crate::live::{self, Target};
use crate::model::{ClusterEvent, ClusterState, Fault, FeedKind, Snapshot, SourceKind};

pub use health::{Health, Verdict};

/// What `status` prints, and the health its exit code says.
#[derive(Debug, Clone)]
pub struct Report {
    pub out: String,
    pub health: Health,
}

/// How long `status` waits for a live cluster's first answers.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The lab of `cfg` with `faults` injected at its start, after `advance` of its clock,
/// rendered (as JSON with `json`).
pub async fn render_lab(
    cfg: LabConfig,
    faults: &[Fault],
    advance: SignedDuration,
    json: bool,
    etcd: &EtcdSettings,
) -> Result<Report> {
    // A fault on a node the lab lacks would change nothing: a typo must not read as OK.
    if let Some(f) = faults.iter().find(|f| cfg.index_of(&f.node).is_none()) {
        let (m, w) = (cfg.control_planes, cfg.workers);
        let workers = if w == 0 {
            String::new()
        } else {
            format!(", worker-1..worker-{w}")
        };
        color_eyre::eyre::bail!(
            "--fault: no node {} in this lab (cp-1..cp-{m}{workers})",
            f.node
        );
    }
    let etcd = etcd.access().await?;
    let mut cluster = lab_cluster(cfg, faults, advance, etcd.is_some());
    if let Some(etcd) = &etcd {
        apply_etcd(&mut cluster, etcd).await;
    }
    render_cluster(&cluster, json)
}

/// One snapshot of the live cluster of `target`, through the same sources as the cockpit.
pub async fn render_live(target: &Target, json: bool, etcd: &EtcdSettings) -> Result<Report> {
    let mut sources = live::connect(target, live::wall_clock()).await?;
    let mut found = live::etcd_way::choose(&mut sources, etcd).await?;
    let mut cluster = live::snapshot(&sources, LIVE_TIMEOUT).await?;
    // The API was not reachable for discovery; the snapshot may have found a way to it.
    if found.is_none() {
        found = live::etcd_way::retry_once(&mut sources, etcd).await?;
    }
    if let Some(etcd) = &found {
        apply_etcd(&mut cluster, etcd).await;
    }
    render_cluster(&cluster, json)
}

/// etcd asked directly replaces whatever the cluster view had for it.
async fn apply_etcd(cluster: &mut ClusterState, etcd: &EtcdAccess) {
    let (status, feed) = crate::etcd::poll_once(&etcd.config).await;
    cluster.apply(ClusterEvent::Etcd(status));
    // An answer during this poll is current as of the snapshot, in the cluster's time
    // (the lab's clock is not the wall clock the poller dates answers by).
    let feed = crate::model::FeedStatus {
        last_ok: feed.last_ok.map(|_| cluster.now),
        ..feed
    };
    cluster.apply(ClusterEvent::Feed(FeedKind::Etcd, feed));
    // Partial data: say which masters are missing from it.
    if !etcd.unreachable.is_empty() {
        let error = Some(format!("etcd over SSH: {}", etcd.unreachable.join("; ")));
        let feed = crate::model::FeedStatus {
            last_ok: Some(cluster.now),
            error,
            every: None,
        };
        cluster.apply(ClusterEvent::Feed(FeedKind::Etcd, feed));
    }
}

/// `status --json`: the health first, then the cluster's snapshot (the schema the wizard's
/// and the drill's reports share).
#[derive(serde::Serialize)]
struct StatusJson {
    #[serde(flatten)]
    verdict: Verdict,
    #[serde(flatten)]
    snapshot: Snapshot,
}

pub fn render_cluster(cluster: &ClusterState, json: bool) -> Result<Report> {
    let verdict = health::judge(cluster);
    let health = verdict.health;
    let out = if json {
        let snapshot = Snapshot::of(cluster);
        let mut out = serde_json::to_string_pretty(&StatusJson { verdict, snapshot })?;
        out.push('\n');
        out
    } else {
        text::render(cluster, &verdict)
    };
    Ok(Report { out, health })
}

/// The lab's state with `faults` injected at its start (as the cockpit's fault keys do),
/// after running its clock forward `advance`, through the same events the cockpit applies.
pub fn lab_cluster(
    mut cfg: LabConfig,
    faults: &[Fault],
    advance: SignedDuration,
    external_etcd: bool,
) -> ClusterState {
    cfg.external_etcd = external_etcd;
    let mut lab = Lab::new(cfg);
    let mut cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    for ev in lab.publishable(lab.full_state()) {
        cluster.apply(ev);
    }
    for fault in faults {
        let events = lab.inject(fault);
        for ev in lab.publishable(events) {
            cluster.apply(ev);
        }
    }
    let total = advance.unsigned_abs();
    let step = std::time::Duration::from_secs(60);
    let mut done = std::time::Duration::ZERO;
    while done < total {
        let dt = step.min(total - done);
        let events = lab.advance(dt);
        for ev in lab.publishable(events) {
            cluster.apply(ev);
        }
        done += dt;
    }
    cluster
}
