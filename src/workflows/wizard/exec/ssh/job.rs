//! One command of the plan on one host: run as root the fleet's way ([`Root`]: sudo, a
//! timeout, its audit lines), its output sent line by line as it arrives, a sudo password
//! prompt turned into what to do.
//!
//! [`Root`]: hatui_fleet::root::Root

use std::sync::mpsc::Sender;
use std::time::Duration;

use super::{Host, Remote, TIMED_OUT};
use crate::wizard::exec::{NO_LOGIN, RunEvent, RunId};
use hatui_fleet::root::Ended;

pub(super) struct Job {
    pub id: RunId,
    /// The host's inventory name.
    pub name: String,
    pub host: Host,
    pub command: String,
    pub remote: Remote,
    pub timeout: Duration,
    pub tx: Sender<RunEvent>,
    /// The file the command saves, to copy to the bastion once it succeeded.
    pub to_bastion: Option<super::fetch::Fetch>,
}

impl Job {
    pub async fn run(self) {
        let say = |line: String| {
            let _ = self.tx.send(RunEvent::Line(self.id, line));
        };
        let (chunks, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let session = self.host.session();
        let run = self.remote.root.run(
            &self.name,
            session,
            &self.command,
            self.timeout,
            Some(chunks),
        );
        tokio::pin!(run);
        let mut lines = [String::new(), String::new()];
        let ran = loop {
            tokio::select! {
                done = &mut run => break done,
                Some((err, data)) = rx.recv() => {
                    let buf: &mut String = &mut lines[usize::from(err)];
                    buf.push_str(&String::from_utf8_lossy(&data));
                    while let Some(at) = buf.find('\n') {
                        let line: String = buf.drain(..=at).collect();
                        say(line.trim_end_matches(['\n', '\r']).to_string());
                    }
                }
            }
        };
        while let Ok((err, data)) = rx.try_recv() {
            lines[usize::from(err)].push_str(&String::from_utf8_lossy(&data));
        }
        for rest in lines.iter().filter(|l| !l.is_empty()) {
            for line in rest.lines() {
                say(line.to_string());
            }
        }
        let code = match ran.ended {
            Ended::Exited(out) => out.exit.map_or(255, |c| i32::try_from(c).unwrap_or(255)),
            Ended::SudoPassword(_) => {
                say(format!(
                    "hatui: sudo on {} asks for a password: allow {} passwordless sudo \
                     (NOPASSWD) or log in as root",
                    self.name, self.host.target.user
                ));
                1
            }
            Ended::Failed(e) => {
                say(format!("hatui: {e}"));
                NO_LOGIN
            }
            Ended::TimedOut(limit) => {
                say(format!(
                    "hatui: no answer from {} within {} s; the command may still run there",
                    self.name,
                    limit.as_secs()
                ));
                TIMED_OUT
            }
        };
        if let Some(e) = ran.audit_failed {
            say(format!("hatui: {e}"));
        }
        let code = match &self.to_bastion {
            Some(fetch) if code == 0 => match fetch.run(&self.remote, &self.name, &self.host).await
            {
                Ok(line) => {
                    say(line);
                    0
                }
                Err(e) => {
                    say(format!("hatui: {e}"));
                    1
                }
            },
            _ => code,
        };
        let _ = self.tx.send(RunEvent::Exited(self.id, code));
    }
}
