//! Preflight over SSH (`hatui wizard --inventory FILE --preflight [--json]`): every host
//! of the inventory is asked for its facts in one SSH command (in the audit log like any
//! other), at most [`CONCURRENCY`] at a time, so 50 hosts take about as long as the
//! slowest; the checks run here.

pub mod checks;
mod facts;

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

pub use checks::Check;
use facts::Facts;

use hatui_fleet::audit::Audit;
use hatui_fleet::inventory::{Host, Inventory, SshOverrides};
use hatui_fleet::root::{Ended, Root};
use hatui_fleet::ssh::{SshError, SshHandle, shell_quote};
use hatui_fleet::target;

/// Hosts asked at once.
pub const CONCURRENCY: usize = 10;
/// Login plus the facts script, per host.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub name: String,
    pub address: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub checks: Vec<Check>,
}

impl HostReport {
    pub fn passed(&self) -> bool {
        self.reachable && self.checks.iter().all(|c| c.ok)
    }
}

/// Asks every host, each facts script in `audit`; the reports come back in inventory order.
pub async fn run(inv: &Inventory, overrides: &SshOverrides, audit: &Audit) -> Vec<HostReport> {
    let root = Root {
        sudo: inv.ssh.sudo,
        audit: audit.clone(),
    };
    let asked = futures::stream::iter(inv.hosts.iter().map(|h| ask(inv, h, overrides, &root)))
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let now = jiff::Timestamp::now().as_second();
    let answered: Vec<(&Host, &Facts)> = inv
        .hosts
        .iter()
        .zip(&asked)
        .filter_map(|(h, a)| a.as_ref().ok().map(|f| (h, f)))
        .collect();
    let mut cross = checks::cross_checks(&answered).into_iter();
    inv.hosts
        .iter()
        .zip(asked)
        .map(|(host, facts)| match facts {
            Ok(f) => {
                let mut checks = checks::host_checks(inv, host, &f, now);
                checks.extend(cross.next().unwrap_or_default());
                HostReport {
                    name: host.name.clone(),
                    address: host.address.clone(),
                    reachable: true,
                    error: None,
                    checks,
                }
            }
            Err(e) => HostReport {
                name: host.name.clone(),
                address: host.address.clone(),
                reachable: false,
                error: Some(e),
                checks: Vec::new(),
            },
        })
        .collect()
}

async fn ask(
    inv: &Inventory,
    host: &Host,
    overrides: &SshOverrides,
    root: &Root,
) -> Result<Facts, String> {
    let target = target(inv, host, overrides);
    let script = format!(
        "sh -c {} hatui-preflight {} {}",
        shell_quote(facts::SCRIPT),
        shell_quote(&inv.cri_socket),
        shell_quote(&inv.endpoint.host)
    );
    let session = async { SshHandle::connect(&target).await.map_err(|e| e.to_string()) };
    // Best effort: preflight only reads, and says nothing of its log.
    let ran = root.run(&host.name, session, &script, TIMEOUT, None).await;
    match ran.ended {
        Ended::Exited(out) => Ok(Facts::parse(&String::from_utf8_lossy(&out.stdout))),
        Ended::SudoPassword(_) => Err(SshError::SudoPassword {
            target: target.to_string(),
            user: target.user.clone(),
        }
        .to_string()),
        Ended::Failed(e) => Err(e),
        Ended::TimedOut(limit) => Err(format!("{target}: no answer within {}s", limit.as_secs())),
    }
}

/// One block per host: each failing check with its fix, a line for the passing ones.
pub fn render_text(reports: &[HostReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("{} ({})", r.name, r.address));
        if let Some(e) = &r.error {
            out.push_str(&format!(": UNREACHABLE: {e}\n"));
            continue;
        }
        let failed: Vec<&Check> = r.checks.iter().filter(|c| !c.ok).collect();
        out.push_str(&format!(
            ": {} of {} checks passed\n",
            r.checks.len() - failed.len(),
            r.checks.len()
        ));
        for c in failed {
            out.push_str(&format!("  [FAIL {}]: {}\n", c.name, c.detail));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("      fix: {fix}\n"));
            }
        }
    }
    let bad = reports.iter().filter(|r| !r.passed()).count();
    out.push_str(&if bad == 0 {
        "preflight passed on every host\n".to_string()
    } else {
        format!("preflight failed on {bad} of {} host(s)\n", reports.len())
    });
    out
}
