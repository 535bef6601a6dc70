//! The wizard that builds an HA cluster step by step (issue 10). This is its foundation:
//! the inventory, kubeadm's output parsers, the plan as data, and the dry run that prints
//! the plan as a bash script. Executors (the lab, SSH) and the TUI pane come next.

pub mod command;
pub mod engine;
pub mod exec;
pub mod headless;
pub mod inventory;
pub mod kubeadm_output;
pub mod lab;
pub mod material;
pub mod plan;
pub mod run;
pub mod script;
pub mod scrub;
pub mod secret;
