//! `hatui status`: one snapshot, as text or JSON, then exit.

pub mod json;
mod text;

use color_eyre::{Result, eyre::bail};
use jiff::SignedDuration;

use crate::cli::StatusArgs;
use crate::lab::Lab;
use crate::model::{ClusterEvent, ClusterState, FeedKind, SourceKind};

/// Builds the snapshot the arguments ask for and renders it.
pub fn render(args: &StatusArgs) -> Result<String> {
    if !args.lab {
        bail!(
            "`hatui status` on a live cluster is not built yet; use `hatui status --lab` for the embedded lab"
        );
    }
    let etcd = args.etcd.poller_config()?;
    let advance = args.advance.unwrap_or(SignedDuration::ZERO);
    let mut cluster = lab_cluster(&args.topology, advance, etcd.is_some());
    if let Some(cfg) = etcd {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (status, feed) = runtime.block_on(crate::etcd::poll_once(&cfg));
        cluster.apply(ClusterEvent::Etcd(status));
        cluster.apply(ClusterEvent::Feed(FeedKind::Etcd, feed));
    }
    Ok(if args.json {
        let mut out = serde_json::to_string_pretty(&json::Snapshot::of(&cluster))?;
        out.push('\n');
        out
    } else {
        text::render(&cluster)
    })
}

/// The lab's state after running its clock forward `advance`, through the same events the
/// cockpit applies.
pub fn lab_cluster(
    topology: &crate::cli::Topology,
    advance: SignedDuration,
    external_etcd: bool,
) -> ClusterState {
    let mut cfg = crate::scenes::lab_config(topology);
    cfg.external_etcd = external_etcd;
    let mut lab = Lab::new(cfg);
    let mut cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    for ev in lab.publishable(lab.full_state()) {
        cluster.apply(ev);
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
