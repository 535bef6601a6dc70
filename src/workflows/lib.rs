//! The workflows: the wizard (build a cluster, keep it whole) and the drill (kill a master,
//! measure what happened). They drive the lab or real hosts through the fleet and the
//! sources, and report through owned updates; they know neither the app nor the view.

pub mod drill;
pub mod error;
pub mod wizard;
