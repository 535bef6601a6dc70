//! The wizard that builds an HA cluster step by step from an inventory (in
//! [`crate::fleet`]): kubeadm's output parsers, the plan as data, the dry run that prints it as a bash script, the step engine
//! and its executors (the lab's kubeadm now, SSH next), headless runs, and the thread that
//! runs it beside the cockpit on the bare lab.

pub mod cockpit;
pub mod command;
pub mod engine;
pub mod exec;
pub mod headless;
pub mod kubeadm_output;
pub mod kubeconfig;
pub mod lab;
pub mod material;
pub mod plan;
pub mod preflight;
pub mod run;
pub mod script;
