//! The workflows' tests: the wizard's and the drill's plans and engines on the lab, and
//! against real etcd processes where etcd's own answer is the point.
#![allow(clippy::unwrap_used)] // a test that cannot go on panics, and says where

mod drill_lab;
mod drill_observe;
mod drill_report;
mod etcd_day2;
mod wizard_grow_shrink_plan;
mod wizard_inventory;
mod wizard_kubeadm_output;
mod wizard_lab_engine;
mod wizard_lab_faults;
mod wizard_lab_stream;
