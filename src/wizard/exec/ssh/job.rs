//! One command of the plan on one host: run as root, its output sent line by line as it
//! arrives, a sudo password prompt turned into what to do, a timeout, an audit line.

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::{Host, Remote, TIMED_OUT};
use crate::wizard::exec::{RunEvent, RunId};

pub(super) struct Job {
    pub id: RunId,
    /// The host's inventory name.
    pub name: String,
    pub host: Host,
    pub command: String,
    pub remote: Remote,
    pub timeout: Duration,
    pub tx: Sender<RunEvent>,
}

impl Job {
    pub async fn run(self) {
        let started = Instant::now();
        let say = |line: String| {
            let _ = self.tx.send(RunEvent::Line(self.id, line));
        };
        // A log that cannot be written is said once, at the end.
        let _ = self.remote.audit.started(&self.name, &self.command);
        let code = match tokio::time::timeout(self.timeout, self.exec(&say)).await {
            Ok(Ok(code)) => code,
            Ok(Err(e)) => {
                say(format!("hatui: {e}"));
                1
            }
            Err(_) => {
                say(format!(
                    "hatui: no answer from {} within {} s; the command may still run there",
                    self.name,
                    self.timeout.as_secs()
                ));
                TIMED_OUT
            }
        };
        let audit = &self.remote.audit;
        if let Err(e) = audit.record(&self.name, &self.command, Some(code), started.elapsed()) {
            say(format!("hatui: {e}"));
        }
        let _ = self.tx.send(RunEvent::Exited(self.id, code));
    }

    async fn exec(&self, say: &impl Fn(String)) -> Result<i32, String> {
        let ssh = self.host.session().await?;
        let cmd = self.remote.as_root(&self.command);
        let (chunks, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let run = ssh.exec_streaming(&cmd, Some(chunks));
        tokio::pin!(run);
        let mut lines = [String::new(), String::new()];
        let mut asked_password = false;
        let result = loop {
            tokio::select! {
                done = &mut run => break done,
                Some((err, data)) = rx.recv() => {
                    let buf = &mut lines[usize::from(err)];
                    buf.push_str(&String::from_utf8_lossy(&data));
                    while let Some(at) = buf.find('\n') {
                        let line: String = buf.drain(..=at).collect();
                        let line = line.trim_end_matches(['\n', '\r']).to_string();
                        asked_password |= err && line.contains("a password is required");
                        say(line);
                    }
                }
            }
        };
        while let Ok((err, data)) = rx.try_recv() {
            lines[usize::from(err)].push_str(&String::from_utf8_lossy(&data));
        }
        for rest in lines.iter().filter(|l| !l.is_empty()) {
            for line in rest.lines() {
                asked_password |= line.contains("a password is required");
                say(line.to_string());
            }
        }
        let out = result.map_err(|e| e.to_string())?;
        if self.remote.sudo && asked_password {
            say(format!(
                "hatui: sudo on {} asks for a password: allow {} passwordless sudo (NOPASSWD) \
                 or log in as root",
                self.name, self.host.target.user
            ));
            return Ok(1);
        }
        Ok(out.exit.map_or(255, |c| i32::try_from(c).unwrap_or(255)))
    }
}
