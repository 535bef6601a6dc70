//! A remote command on an open session channel, and what it gave back.

use std::fmt;

use russh::client::Msg;
use russh::{Channel, ChannelMsg};

use super::error::SshError;
use super::target::SshTarget;

/// What a remote command gave back. `Debug` shows sizes only: stdout may be a key.
pub struct ExecOutput {
    /// `None` when the command died from a signal or the server sent no status.
    pub exit: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl fmt::Debug for ExecOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecOutput")
            .field("exit", &self.exit)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .finish()
    }
}

pub(crate) fn exec_error(target: &SshTarget, cmd: &str, problem: String) -> SshError {
    SshError::Remote {
        target: target.to_string(),
        command: cmd.to_string(),
        problem,
    }
}

/// Output as it arrives: stdout (`false`) or stderr (`true`) bytes.
pub type Chunks = tokio::sync::mpsc::UnboundedSender<(bool, Vec<u8>)>;

/// Runs `cmd` on `ch` and collects its output until the channel closes; each piece also
/// goes to `stream` as it arrives, when given.
pub(crate) async fn exec(
    mut ch: Channel<Msg>,
    target: &SshTarget,
    cmd: &str,
    stream: Option<&Chunks>,
) -> Result<ExecOutput, SshError> {
    let fail = |problem: String| exec_error(target, cmd, problem);
    ch.exec(true, cmd)
        .await
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    let mut out = ExecOutput {
        exit: None,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    // The exit status may come before or after EOF; the channel ends with Close.
    let send = |err: bool, data: &[u8]| {
        if let Some(tx) = stream {
            let _ = tx.send((err, data.to_vec()));
        }
    };
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                send(false, &data);
                out.stdout.extend_from_slice(&data);
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                send(true, &data);
                out.stderr.extend_from_slice(&data);
            }
            ChannelMsg::ExitStatus { exit_status } => out.exit = Some(exit_status),
            ChannelMsg::Failure => return Err(fail("the server refused to run it".into())),
            _ => {}
        }
    }
    Ok(out)
}
