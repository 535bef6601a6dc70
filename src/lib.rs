//! hatui: a terminal cockpit for highly available kubeadm clusters.
//!
//! Data flows one way: sources (the lab, kube watchers, later etcd pollers, SSH) send
//! owned [`message::Message`]s; [`app::App::update`] is the only code that changes state;
//! [`view::draw`] renders from state and does no I/O.
//!
//! `scenes`, `screen` and `svg` are test machinery (snapshots, screenshots, benchmarks):
//! only built with the `test-support` feature, which the tests and benches turn on.

pub mod app;
pub mod cause;
pub mod cli;
pub mod drill;
pub mod error;
pub mod etcd;
pub mod fleet;
pub mod keys;
pub mod lab;
pub mod live;
pub mod message;
pub mod model;
pub mod real_etcd;
pub mod runtime;
#[cfg(any(test, feature = "test-support"))]
pub mod scenes;
#[cfg(any(test, feature = "test-support"))]
pub mod screen;
pub mod ssh;
pub mod status;
pub mod supervise;
#[cfg(any(test, feature = "test-support"))]
pub mod svg;
pub mod terminal;
pub mod view;
pub mod wizard;
