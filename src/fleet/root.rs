//! A command as root on an inventory host: the one way the wizard's commands and looks, its
//! preflight and the drill's faults run. Through `sudo -n sh -c` when the inventory says
//! root needs sudo (a sudo that wants a password is told apart, never waited on), within a
//! time limit, in the audit log as it starts and as it ends, with the exit code the host
//! gave (`none` in the log when there is none: no login, no answer, the session lost).

use std::future::Future;
use std::time::{Duration, Instant};

use super::audit::Audit;
use crate::ssh::{Chunks, ExecOutput, SshHandle, shell_quote};

/// What sudo says when it would need a password (`sudo -n`).
pub const SUDO_PASSWORD: &str = "a password is required";

/// How commands reach root on the hosts of one inventory, and where they are audited.
#[derive(Debug, Clone)]
pub struct Root {
    /// Root needs `sudo -n` (the inventory's `ssh.sudo`).
    pub sudo: bool,
    pub audit: Audit,
}

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    /// It ran to its end.
    Exited(ExecOutput),
    /// sudo wanted a password: nothing ran. What it gave back (sudo's own complaint).
    SudoPassword(ExecOutput),
    /// No session (the login failed), or the session failed or was lost: why.
    Failed(String),
    /// No answer within the limit; the command may still run there.
    TimedOut(Duration),
}

/// A run as root: how it ended, and whether its audit lines could not be written.
#[derive(Debug)]
pub struct Ran {
    pub ended: Ended,
    /// Why the audit log could not be written; the run itself went on.
    pub audit_failed: Option<String>,
}

impl Root {
    /// `command` as the login runs it: through `sudo -n sh -c` when root needs sudo.
    pub fn wrap(&self, command: &str) -> String {
        if self.sudo {
            format!("sudo -n sh -c {}", shell_quote(command))
        } else {
            command.to_string()
        }
    }

    /// Runs `command` as root on inventory host `host`, over the session `session` gives
    /// (the login counts in `limit`), its output also sent to `stream` as it arrives.
    pub async fn run(
        &self,
        host: &str,
        session: impl Future<Output = Result<SshHandle, String>>,
        command: &str,
        limit: Duration,
        stream: Option<Chunks>,
    ) -> Ran {
        let started = Instant::now();
        let first = self.audit.started(host, command).err();
        let cmd = self.wrap(command);
        let work = async {
            let ssh = session.await?;
            ssh.exec_streaming(&cmd, stream)
                .await
                .map_err(|e| e.to_string())
        };
        let ended = match tokio::time::timeout(limit, work).await {
            Ok(Ok(out))
                if self.sudo && String::from_utf8_lossy(&out.stderr).contains(SUDO_PASSWORD) =>
            {
                Ended::SudoPassword(out)
            }
            Ok(Ok(out)) => Ended::Exited(out),
            Ok(Err(e)) => Ended::Failed(e),
            Err(_) => Ended::TimedOut(limit),
        };
        let exit = match &ended {
            Ended::Exited(out) | Ended::SudoPassword(out) => exit_code(out),
            Ended::Failed(_) | Ended::TimedOut(_) => None,
        };
        let last = self
            .audit
            .record(host, command, exit, started.elapsed())
            .err();
        Ran {
            ended,
            audit_failed: first.or(last),
        }
    }
}

/// The exit code the host gave, as a shell sees it; `None` when killed by a signal or no
/// status came.
pub fn exit_code(out: &ExecOutput) -> Option<i32> {
    out.exit.map(|c| i32::try_from(c).unwrap_or(255))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(sudo: bool, dir: &std::path::Path) -> Root {
        Root {
            sudo,
            audit: Audit::at(dir.join("audit.log")),
        }
    }

    #[test]
    fn through_sudo_the_command_runs_in_one_quoted_shell() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(root(false, dir.path()).wrap("a && b"), "a && b");
        assert_eq!(
            root(true, dir.path()).wrap("a && b"),
            "sudo -n sh -c 'a && b'"
        );
    }

    #[tokio::test]
    async fn no_login_or_no_answer_is_audited_from_its_start_with_no_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let r = root(true, dir.path());
        let refused = async { Err("cp-1: connection refused".to_string()) };
        let ran = r
            .run("cp-1", refused, "true", Duration::from_secs(5), None)
            .await;
        assert!(
            matches!(&ran.ended, Ended::Failed(e) if e.contains("refused")),
            "{ran:?}"
        );
        let silent = std::future::pending();
        let ran = r
            .run("cp-2", silent, "sleep 1", Duration::from_millis(20), None)
            .await;
        assert!(matches!(ran.ended, Ended::TimedOut(_)), "{ran:?}");
        assert_eq!(ran.audit_failed, None);
        let log = std::fs::read_to_string(dir.path().join("audit.log")).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 4, "{log}");
        assert!(
            lines[0].ends_with(" host=cp-1 started command=true"),
            "{log}"
        );
        assert!(lines[1].contains(" host=cp-1 exit=none duration="), "{log}");
        assert!(
            lines[2].ends_with(" host=cp-2 started command=sleep 1"),
            "{log}"
        );
        assert!(lines[3].contains(" host=cp-2 exit=none duration="), "{log}");
    }

    #[tokio::test]
    async fn a_log_that_cannot_be_written_is_said_and_the_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        let r = Root {
            sudo: false,
            audit: Audit::at(dir.path().join("file/audit.log")),
        };
        let refused = async { Err("refused".to_string()) };
        let ran = r
            .run("cp-1", refused, "true", Duration::from_secs(5), None)
            .await;
        assert!(matches!(ran.ended, Ended::Failed(_)));
        assert!(ran.audit_failed.unwrap().starts_with("audit log "));
    }
}
