//! hatui: a terminal cockpit for highly available kubeadm clusters.
//!
//! Data flows one way: sources (the lab, kube watchers, later etcd pollers, SSH) send
//! owned [`message::Message`]s; [`app::App::update`] is the only code that changes state;
//! [`view::draw`] renders from state and does no I/O.
//!
//! `scenes` (the lab states of the snapshots, the screenshots and the benchmarks) is test
//! machinery: only built with the `test-support` feature, which the tests and benches turn
//! on. The rest of the tests' machinery is the `hatui-testkit` crate (tests/support).

pub mod app;
pub mod cli;
pub mod keys;
pub mod message;
pub mod runtime;
#[cfg(any(test, feature = "test-support"))]
pub mod scenes;
pub mod status;
pub mod terminal;
pub mod view;

// The layers below, under the names the app and the tests have always used.
pub use hatui_fleet as fleet;
pub use hatui_fleet::ssh;
pub use hatui_lab as lab;
pub use hatui_model as model;
pub use hatui_sources::{cause, etcd, live, real_etcd, supervise};
pub use hatui_workflows::{drill, error, wizard};
