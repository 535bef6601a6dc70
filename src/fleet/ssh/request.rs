//! What a session's handle asks its actor.

use std::net::SocketAddr;

use super::job::{Job, Reply};

pub(crate) enum Request {
    /// Needs a live session: waits while one is being re-established.
    Job(Job),
    /// Only binds a local listener: answered even while the host is down.
    Forward(String, u16, Reply<SocketAddr>),
}
