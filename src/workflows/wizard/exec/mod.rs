//! Executors run the plan's commands on hosts: the lab's (simulated kubeadm on the lab's
//! virtual clock) and real hosts' over SSH (`ssh/`). The engine sees only this trait:
//! start a command on a host, wait for its lines and its exit code, and look at the
//! cluster.

mod acts;
mod kubeadm;
mod kubectl;
pub mod lab;
mod show;
pub mod ssh;
mod texts;

use std::time::Duration;

use jiff::Timestamp;

use hatui_model::ClusterState;

pub use lab::LabExecutor;
pub use ssh::{HostKeyDesk, HostKeyQuestion, SshExecutor};

/// One started command.
pub type RunId = usize;

/// The exit code of a command that never ran because its host did not answer over SSH
/// (as `ssh` itself exits): the lab's and the SSH executor's.
pub const NO_LOGIN: i32 = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    /// A line of the command's output (stdout and stderr, as a terminal shows them).
    Line(RunId, String),
    /// The command ended with this exit code.
    Exited(RunId, i32),
}

pub trait Executor {
    /// The executor's clock: the lab's virtual time, or wall time on real hosts.
    fn now(&self) -> Timestamp;
    /// Starts `command` (secrets in) on inventory host `host`.
    fn start(&mut self, host: &str, command: &str) -> RunId;
    /// Waits for output or an exit, at most `limit` on the executor's clock; the cluster
    /// view is current when it returns (on real hosts: at most a few seconds old).
    fn wait(&mut self, limit: Duration) -> Vec<RunEvent>;
    /// The cluster as the cockpit's sources see it now.
    fn cluster(&self) -> &ClusterState;
    /// Brings the cluster view up to date before the engine decides something on it: on
    /// real hosts, a look after commands ended (the lab's view is always current).
    fn refresh(&mut self) {}
}

/// Runs `command` on `host` to its end: its output lines and exit code.
pub fn run(exec: &mut dyn Executor, host: &str, command: &str) -> (Vec<String>, i32) {
    let id = exec.start(host, command);
    let mut lines = Vec::new();
    loop {
        for ev in exec.wait(Duration::from_secs(3600)) {
            match ev {
                RunEvent::Line(r, l) if r == id => lines.push(l),
                RunEvent::Exited(r, code) if r == id => return (lines, code),
                _ => {}
            }
        }
    }
}
