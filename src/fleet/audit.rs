//! The audit log of every command the wizard runs on a real host
//! (`~/.local/state/hatui/audit-<cluster>.log`): time, host, exit code, duration and the
//! command with its secrets hidden, one line each, appended.

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

    /// Appends one line; a log that cannot be written is reported, never fatal.
    pub fn record(
        &self,
        host: &str,
        command: &str,
        exit: Option<i32>,
        took: Duration,
    ) -> Result<(), String> {
        let line = format!(
            "{} host={host} exit={} duration={:.1}s command={}\n",
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now()),
            exit.map_or("none".to_string(), |c| c.to_string()),
            took.as_secs_f64(),
            scrub(&command.replace('\n', " ")),
        );
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
