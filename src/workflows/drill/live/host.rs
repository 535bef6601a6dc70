//! The drilled master over SSH: one session, opened before the fault, for the fault and
//! its restore, each run as root the fleet's way ([`Root`]: `sudo -n` when the inventory
//! says so, the audit log).

use std::time::Duration;

use hatui_fleet::audit::Audit;
use hatui_fleet::inventory::Inventory;
use hatui_fleet::root::{Ended, Root, exit_code};
use hatui_fleet::ssh::{ExecOutput, SshHandle};
use hatui_fleet::{SshOverrides, target};

/// A fault or restore that says nothing for this long has failed (`crictl stop --timeout
/// 30` may take its 30 s).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What one run gave back: its exit code (`None`: the session died, as it does under a
/// power-off) and its output, stdout then stderr.
#[derive(Debug, Clone)]
pub struct Ran {
    pub exit: Option<i32>,
    pub output: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.exit == Some(0)
    }
}

#[derive(Clone)]
pub struct Host {
    pub name: String,
    ssh: SshHandle,
    root: Root,
}

impl Host {
    /// Logs in to inventory host `name`: a host not in the inventory is never touched.
    pub async fn connect(
        inv: &Inventory,
        name: &str,
        overrides: &SshOverrides,
        audit: Audit,
    ) -> Result<Host, String> {
        let Some(host) = inv.hosts.iter().find(|h| h.name == name) else {
            let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
            return Err(format!(
                "{name} is not in the inventory (hosts: {}): the drill touches only hosts \
                 the inventory lists",
                names.join(", ")
            ));
        };
        let t = target(inv, host, overrides);
        let ssh = SshHandle::connect(&t)
            .await
            .map_err(|e| format!("cannot log in to {name} ({}): {e}", host.address))?;
        Ok(Host {
            name: name.to_string(),
            ssh,
            root: Root {
                sudo: inv.ssh.sudo,
                audit,
            },
        })
    }

    /// Runs `commands` in order as one script, stopping at the first that fails.
    pub async fn run(&self, commands: &[String]) -> Ran {
        self.script(commands.join(" && ")).await
    }

    /// Runs every one of `commands` (a restore undoes all it can), failing if any failed.
    pub async fn run_all(&self, commands: &[String]) -> Ran {
        let each: Vec<String> = commands
            .iter()
            .map(|c| format!("{{ {c}; }} || f=1"))
            .collect();
        self.script(format!("f=0; {}; exit $f", each.join("; ")))
            .await
    }

    async fn script(&self, script: String) -> Ran {
        let ssh = self.ssh.clone();
        let session = async { Ok(ssh) };
        let ran = self
            .root
            .run(&self.name, session, &script, COMMAND_TIMEOUT, None)
            .await;
        let both = |out: &ExecOutput| {
            let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
            output += &String::from_utf8_lossy(&out.stderr);
            output
        };
        let mut said = match ran.ended {
            Ended::Exited(out) | Ended::SudoPassword(out) => Ran {
                exit: exit_code(&out),
                output: both(&out),
            },
            Ended::Failed(e) => Ran {
                exit: None,
                output: e,
            },
            Ended::TimedOut(limit) => Ran {
                exit: None,
                output: format!(
                    "no answer from {} within {} s; it may still run there",
                    self.name,
                    limit.as_secs()
                ),
            },
        };
        // Best effort: a drill does not stop because its log cannot be written; it says so.
        if let Some(e) = ran.audit_failed {
            said.output += &format!("\nhatui: {e}");
        }
        said
    }
}
