//! SSH to the masters: a session actor ([`SshHandle`]) that runs commands and opens
//! local tunnels (`direct-tcpip`), with known_hosts checking and key/agent login, and
//! [`etcd_over_ssh`], which reaches each master's `127.0.0.1:2379` through a tunnel
//! using the etcd client certificates read over the same session (kept in memory only).

mod auth;
mod error;
mod etcd;
mod forward;
mod known_hosts;
mod session;
mod target;

pub use auth::AuthSources;
pub use error::SshError;
pub use etcd::{EtcdMaster, EtcdOverSsh, PkiPaths, etcd_over_ssh, read_tls};
pub use session::{ExecOutput, SshHandle};
pub use target::SshTarget;
