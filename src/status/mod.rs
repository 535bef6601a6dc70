//! `hatui status`: one snapshot, as text or JSON, then exit.

pub mod json;
mod text;

use color_eyre::{Result, eyre::bail};
use jiff::SignedDuration;

use crate::cli::StatusArgs;
use crate::lab::Lab;
use crate::model::{ClusterState, SourceKind};

/// Builds the snapshot the arguments ask for and renders it.
pub fn render(args: &StatusArgs) -> Result<String> {
    if !args.lab {
        bail!(
            "`hatui status` on a live cluster is not built yet; use `hatui status --lab` for the embedded lab"
        );
    }
    let cluster = lab_cluster(&args.topology, args.advance.unwrap_or(SignedDuration::ZERO));
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
