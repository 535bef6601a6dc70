//! What `hatui wizard` does, from plain settings (the command line is turned into a
//! [`Request`] in `cli.rs`).

use std::path::PathBuf;

use color_eyre::Result;

use super::{inventory, lab, plan, script};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Print the plan for the inventory as a bash script; run nothing.
    DryRun { inventory: PathBuf },
    /// Print the lab's inventory, a starting point for real hosts.
    PrintLabInventory {
        control_planes: usize,
        workers: usize,
    },
    /// Run the whole plan on the bare lab (`--lab --yes`).
    Lab(super::headless::LabRun),
}

/// The text to print on stdout.
pub fn run(request: &Request) -> Result<String> {
    match request {
        Request::DryRun { inventory: path } => {
            let inv = inventory::load(path)?;
            let plan = plan::build(&inv);
            Ok(script::render(&inv, &plan, &path.display().to_string()))
        }
        Request::PrintLabInventory {
            control_planes,
            workers,
        } => Ok(lab::inventory_toml(*control_planes, *workers)),
        Request::Lab(run) => {
            let mut out = Vec::new();
            super::headless::run(run, &mut out)?;
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
    }
}
