//! hatui's tests as a whole: the real binary (in tmux, over real sshds, against the tests'
//! API server and real etcd), the cockpit, its screens and the command line.
#![allow(clippy::unwrap_used)] // a test that cannot go on panics, and says where

mod support;
mod wizard_json;
mod wizard_ssh_fleet;

mod cli_conventions;
mod drill_cli;
mod drill_cockpit;
mod drill_live;
mod drill_quit_tmux;
mod drill_real_etcd;
mod e2e_replace_tmux;
mod e2e_tmux;
mod etcd_flags;
mod etcd_snapshot;
mod etcd_ssh_cli;
mod lab_real_etcd;
mod lab_sim;
mod layers;
mod layout;
mod live_etcd_way;
mod live_faults;
mod live_screens;
mod live_sources;
mod live_status_cli;
mod live_truth;
mod readme;
mod scenes;
mod screenshots;
mod ssh_jump;
mod status_cli;
mod user_errors;
mod wizard_cli;
mod wizard_cockpit_replace;
mod wizard_cockpit_scenarios;
mod wizard_cockpit_ssh;
mod wizard_grow_shrink;
mod wizard_lab;
mod wizard_lab_scenarios;
mod wizard_plan;
mod wizard_preflight;
mod wizard_replace;
mod wizard_ssh_exec;
mod wizard_ssh_lb;
mod wizard_ssh_plan;
mod wizard_ssh_replace;
mod wizard_ssh_replace_resume;
mod wizard_ssh_resize;
