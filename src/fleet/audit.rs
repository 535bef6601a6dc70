//! The audit log of every command the wizard, its preflight and the drill run on a real
//! host (`~/.local/state/hatui/audit-<cluster>.log`), appended: a line when the command
//! starts (time, host, the command with its secrets hidden), so that a command cut short
//! (hatui killed, the host gone) is still there, and one when it ends (time, host, exit
//! code, duration and the command).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::scrub::scrub;

#[derive(Debug, Clone)]
pub struct Audit {
    path: PathBuf,
}

impl Audit {
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$XDG_STATE_HOME/hatui/audit-<cluster>.log`, else `~/.local/state/hatui/...`.
    pub fn for_cluster(cluster: &str) -> Self {
        let state = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::home_dir().map(|h| h.join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."));
        Self::at(state.join("hatui").join(format!("audit-{cluster}.log")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the line of `command` starting on `host`, before it runs; a log that cannot
    /// be written is reported, never fatal.
    pub fn started(&self, host: &str, command: &str) -> Result<(), String> {
        self.append(format!(
            "{} host={host} started command={}\n",
            now(),
            hidden(command),
        ))
    }

    /// Appends the line of a command that ended (`exit`: `None` when it has no exit code:
    /// no login, no answer, the session lost); a log that cannot be written is reported,
    /// never fatal.
    pub fn record(
        &self,
        host: &str,
        command: &str,
        exit: Option<i32>,
        took: Duration,
    ) -> Result<(), String> {
        self.append(format!(
            "{} host={host} exit={} duration={:.1}s command={}\n",
            now(),
            exit.map_or("none".to_string(), |c| c.to_string()),
            took.as_secs_f64(),
            hidden(command),
        ))
    }

    fn append(&self, line: String) -> Result<(), String> {
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            f.write_all(line.as_bytes())
        };
        write().map_err(|e| format!("audit log {}: {e}", self.path.display()))
    }
}

/// Now, to the second.
fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
}

/// `command` on one line, its secrets hidden.
fn hidden(command: &str) -> String {
    scrub(&command.replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_has_a_line_as_it_starts_and_one_as_it_ends_its_secrets_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::at(dir.path().join("state/audit-t.log"));
        let join = "kubeadm join lb:6443 \\\n --token abcdef.0123456789abcdef";
        audit.started("cp-2", join).unwrap();
        audit
            .record("cp-2", join, Some(0), Duration::from_millis(1500))
            .unwrap();
        let log = std::fs::read_to_string(audit.path()).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        let shown = "kubeadm join lb:6443 \\  --token abcdef.<hidden>";
        assert_eq!(lines.len(), 2, "{log}");
        assert!(
            lines[0].ends_with(&format!(" host=cp-2 started command={shown}")),
            "{log}"
        );
        assert!(
            lines[1].ends_with(&format!(" host=cp-2 exit=0 duration=1.5s command={shown}")),
            "{log}"
        );
    }
}
