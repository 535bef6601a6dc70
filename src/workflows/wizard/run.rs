//! What `hatui wizard` does, from plain settings (the command line is turned into a
//! [`Request`] in `cli.rs`).

use std::path::PathBuf;

use color_eyre::Result;

use super::{lab, plan, script};
use hatui_fleet::audit::Audit;
use hatui_fleet::inventory;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Print the plan for the inventory as a bash script; run nothing.
    DryRun {
        inventory: PathBuf,
        keep_cert_key: bool,
    },
    /// Print the lab's inventory, a starting point for real hosts.
    PrintLabInventory {
        control_planes: usize,
        workers: usize,
    },
    /// Run the whole plan on the bare lab (`--lab --yes`).
    Lab(super::headless::LabRun),
    /// Run the whole plan on the inventory's hosts over SSH (`--inventory FILE --yes`).
    Ssh {
        inventory: PathBuf,
        json: bool,
        parallel: usize,
        accept_new_host_keys: bool,
        keep_cert_key: bool,
    },
    /// Check the inventory's hosts over SSH.
    Preflight {
        inventory: PathBuf,
        json: bool,
        accept_new_host_keys: bool,
    },
}

/// Preflight over SSH: the report to print, and whether every check passed.
pub async fn preflight(
    path: &std::path::Path,
    json: bool,
    overrides: &hatui_fleet::SshOverrides,
) -> Result<(String, bool)> {
    let inv = inventory::load(path)?;
    let audit = Audit::for_cluster(&inv.name);
    let reports = super::preflight::run(&inv, overrides, &audit).await;
    let passed = reports.iter().all(|r| r.passed());
    let out = if json {
        serde_json::to_string_pretty(&reports)? + "\n"
    } else {
        super::preflight::render_text(&reports)
    };
    Ok((out, passed))
}

/// The text to print on stdout; `ssh`: the command line's files, which the dry-run
/// script uses instead of the inventory's.
pub fn run(request: &Request, ssh: &inventory::SshOverrides) -> Result<String> {
    match request {
        Request::DryRun {
            inventory: path,
            keep_cert_key,
        } => {
            let inv = inventory::load(path)?.with_overrides(ssh);
            let opts = plan::BuildOptions {
                keep_cert_key: *keep_cert_key,
            };
            let plan = plan::build_with(&inv, opts);
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
        // They need a runtime for SSH: the caller uses [`preflight`] or `run_ssh`.
        Request::Preflight { .. } | Request::Ssh { .. } => Err(color_eyre::eyre::eyre!(
            crate::error::Bug(
                "wizard::run::run called for SSH; use wizard::run::preflight or wizard::headless::run_ssh".into()
            )
        )),
    }
}
