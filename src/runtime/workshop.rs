//! `hatui wizard --lab --yes --drill KIND`: a workshop's whole flow headless. The wizard
//! builds the lab from bare hosts, then the drill runs on that same cluster (the same
//! simulation, clock and seed), the plan printed first and the drill after it.

use std::io::Write;

use color_eyre::Result;

use crate::drill::headless::{self, LabDrill};
use crate::wizard::headless::{LabRun, build};

#[derive(serde::Serialize)]
struct Whole {
    plan: serde_json::Value,
    warnings: serde_json::Value,
    verified: serde_json::Value,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    kubeconfig: serde_json::Value,
    status: serde_json::Value,
    drill: serde_json::Value,
}

/// What to build and what to drill on it.
#[derive(Debug, Clone)]
pub struct Workshop {
    pub build: LabRun,
    /// `config` is ignored: the drill runs on the lab the wizard built.
    pub drill: LabDrill,
}

/// Builds, then drills. Returns the exit code: 1 when the plan was not verified (nothing is
/// drilled then), else the drill's (0 ran and restored, 1 not restored, 2 refused). With
/// `--json` the one object is `{plan, warnings, verified, status, drill}`.
pub fn run(w: &Workshop, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let json = w.build.json;
    let mut plan_out = Vec::new();
    let (verified, exec) = build(&w.build, &mut plan_out)?;
    if !json {
        out.write_all(&plan_out)?;
    }
    if !verified {
        if json {
            out.write_all(&plan_out)?;
        }
        writeln!(
            err,
            "hatui wizard: the plan did not verify, so no drill ran: fix the step that failed \
             and run it again"
        )?;
        return Ok(1);
    }
    let lab = exec.into_lab();
    if !json {
        writeln!(out)?;
        return Ok(headless::run_on(lab, &w.drill, out, err)?);
    }
    let mut drill_out = Vec::new();
    let code = headless::run_on(lab, &w.drill, &mut drill_out, err)?;
    let plan: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&plan_out)?;
    let drill: serde_json::Value = if drill_out.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&drill_out)?
    };
    // The plan's fields in the plan's order, then the drill.
    let field = |k: &str| plan.get(k).cloned().unwrap_or_default();
    let whole = Whole {
        plan: field("plan"),
        warnings: field("warnings"),
        verified: field("verified"),
        kubeconfig: field("kubeconfig"),
        status: field("status"),
        drill,
    };
    serde_json::to_writer_pretty(&mut *out, &whole)?;
    writeln!(out)?;
    Ok(code)
}
