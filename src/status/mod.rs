//! `hatui status`: one snapshot, as text or JSON, then exit.

pub mod json;
mod text;

use std::time::Duration;

use color_eyre::{Result, eyre::bail};
use jiff::SignedDuration;

use crate::cli::StatusArgs;
use crate::lab::Lab;
use crate::live::{self, Target};
use crate::model::{ClusterState, SourceKind};

/// How long `status` waits for a live cluster's first answers.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The lab snapshot the arguments ask for, rendered.
pub fn render(args: &StatusArgs) -> Result<String> {
    if !args.lab {
        bail!("a live snapshot needs the async runtime: use `render_live`");
    }
    let cluster = lab_cluster(&args.topology, args.advance.unwrap_or(SignedDuration::ZERO));
    render_cluster(&cluster, args.json)
}

/// One snapshot of the live cluster of `target`, through the same sources as the cockpit.
pub async fn render_live(target: &Target, args: &StatusArgs) -> Result<String> {
    let sources = live::connect(target, live::wall_clock()).await?;
    let cluster = live::snapshot(&sources, LIVE_TIMEOUT).await?;
    render_cluster(&cluster, args.json)
}

pub fn render_cluster(cluster: &ClusterState, json: bool) -> Result<String> {
    Ok(if json {
        let mut out = serde_json::to_string_pretty(&json::Snapshot::of(cluster))?;
        out.push('\n');
        out
    } else {
        text::render(cluster)
    })
}

/// The lab's state after running its clock forward `advance`, through the same events the
/// cockpit applies.
pub fn lab_cluster(topology: &crate::cli::Topology, advance: SignedDuration) -> ClusterState {
    let mut lab = Lab::new(crate::scenes::lab_config(topology));
    let mut cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    for ev in lab.full_state() {
        cluster.apply(ev);
    }
    let total = advance.unsigned_abs();
    let step = std::time::Duration::from_secs(60);
    let mut done = std::time::Duration::ZERO;
    while done < total {
        let dt = step.min(total - done);
        for ev in lab.advance(dt) {
            cluster.apply(ev);
        }
        done += dt;
    }
    cluster
}
