//! SSH to the masters: a session actor ([`SshHandle`]) that runs commands and opens
//! local tunnels (`direct-tcpip`), with known_hosts checking and key/agent login, and
//! that logs in again when the session is lost (tunnels keep their local address).
//! Generic transport: what goes through it (etcd, in `crate::etcd::over_ssh`) lives with
//! its user.

mod actor;
mod auth;
mod backoff;
mod connect;
mod error;
mod exec;
mod forward;
mod job;
mod known_hosts;
mod request;
mod session;
mod target;

pub use auth::AuthSources;
pub use error::SshError;
pub use exec::{Chunks, ExecOutput};
pub use session::SshHandle;
pub use target::SshTarget;

/// One word for a POSIX shell, in single quotes: what it holds is data, never code.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
