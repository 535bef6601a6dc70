//! Why a connection failed, in the operator's words (connection refused, TLS, timeout),
//! never a Rust debug dump: shared by the sources that talk to a cluster (`live/`, `etcd/`).

use std::error::Error as StdError;

/// Errors below HTTP: finds the root cause in the source chain.
pub fn transport(e: &(dyn StdError + 'static)) -> String {
    let mut chain: Vec<&(dyn StdError + 'static)> = vec![e];
    let mut cur = e.source();
    while let Some(next) = cur {
        chain.push(next);
        cur = next.source();
    }
    for err in &chain {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return "connection refused".into(),
                TimedOut => return "timeout".into(),
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => {
                    return "connection lost".into();
                }
                _ => {}
            }
        }
    }
    let root = chain.last().map(|e| e.to_string()).unwrap_or_default();
    let lower = chain
        .iter()
        .map(|e| e.to_string().to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        format!("TLS failure: {root}")
    } else if lower.contains("timed out") || lower.contains("elapsed") {
        "timeout".into()
    } else if lower.contains("connection refused") {
        "connection refused".into()
    } else {
        root
    }
}
