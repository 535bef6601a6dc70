//! The failover drill: take one master down in a chosen way, measure what the control
//! plane and its clients do (every 100 ms of lab time), restore, measure the recovery, and
//! report (JSON and Markdown). Steppable: [`Drill`] advances with the lab it is lent.
//!
//! - [`fault`]: the five faults, their host commands, restores and expectations;
//! - [`plan`]: the target, the quorum arithmetic and the refusals;
//! - [`probe`]: what is read from the lab at one moment; [`series`]: availability figures;
//! - [`observe`]: milestones and the timeline, with [`why`]'s sentences;
//! - [`engine`]: the state machine; [`driver`]: the one loop that feeds it, over a target
//!   ([`lab_target`], [`real_etcd`], [`live`]); [`report`], [`verdict`], [`markdown`], [`chart`]:
//!   the report;
//! - [`headless`]: `hatui drill --lab --yes`; [`cockpit`]: the drill the lab task runs for `d`.

pub mod chart;
pub mod cockpit;
pub mod driver;
pub mod dry_run;
pub mod engine;
pub mod fault;
pub mod headless;
pub mod lab_target;
pub mod live;
pub mod markdown;
pub mod observe;
pub mod plan;
pub mod probe;
pub mod real_etcd;
pub mod report;
pub mod seen;
pub mod series;
pub mod verdict;
pub mod why;

pub use engine::{Drill, Phase};
pub use fault::DrillFault;
pub use plan::{DrillSpec, Plan, Refusal, Target};
pub use report::Report;
