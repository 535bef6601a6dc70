//! SSH to the masters: a session actor ([`SshHandle`]) that runs commands and opens
//! local tunnels (`direct-tcpip`), with known_hosts checking and key/agent login, and
//! that logs in again when the session is lost (tunnels keep their local address); and
//! [`etcd_over_ssh`], which reaches each master's `127.0.0.1:2379` through a tunnel
//! using the etcd client certificates read over the same session (kept in memory only).

mod actor;
mod auth;
mod backoff;
mod connect;
mod error;
mod etcd;
mod exec;
mod forward;
mod job;
mod known_hosts;
mod session;
mod target;

pub use auth::AuthSources;
pub use error::SshError;
pub use etcd::{EtcdMaster, EtcdOverSsh, PkiPaths, etcd_over_ssh, read_tls};
pub use exec::ExecOutput;
pub use session::SshHandle;
pub use target::SshTarget;
