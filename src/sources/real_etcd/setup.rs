//! What the cluster needs before a process starts: the `etcd` binary, a private
//! directory that is removed again, and free loopback ports.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::leftovers::PREFIX;
use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};

pub const MISSING_ETCD: &str =
    "--real-etcd needs etcd on PATH (Debian: apt-get install etcd-server)";

/// The `etcd` executable on `$PATH`, or the error an operator can act on.
pub fn find_etcd() -> Result<PathBuf> {
    match executable_on_path("etcd") {
        Some(p) => Ok(p),
        None => bail!(MISSING_ETCD),
    }
}

/// `name` as a shell finds it: the first executable file of that name on `$PATH`.
pub fn executable_on_path(name: &str) -> Option<PathBuf> {
    find_on_path(
        std::env::var_os("PATH").as_deref().unwrap_or_default(),
        name,
    )
}

fn find_on_path(path: &OsStr, name: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

/// A directory only we can read (it holds private keys), removed on drop.
#[derive(Debug)]
pub(super) struct TempDir(pub PathBuf);

impl TempDir {
    pub(super) fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("{PREFIX}{}-{nanos:x}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .wrap_err_with(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `n` free loopback ports below Linux's ephemeral range (32768+), where etcd's own
/// outgoing connections could take a port between our check and etcd's bind. All are held
/// until all are chosen, so none is handed out twice.
/// A port is released before etcd binds it, so two clusters started at once in one
/// process must not be offered the same ones: each call goes on where the last stopped.
pub(super) fn free_ports(n: usize) -> Result<Vec<u16>> {
    static CURSOR: AtomicUsize = AtomicUsize::new(usize::MAX);
    let (low, high) = (10_000, 30_000);
    let span = high - low;
    let first = || {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos() as usize;
        (nanos + std::process::id() as usize * 7919) % span
    };
    let _ = CURSOR.compare_exchange(usize::MAX, first(), Ordering::SeqCst, Ordering::SeqCst);
    let mut held = Vec::new();
    for _ in 0..span {
        if held.len() == n {
            break;
        }
        let port = low + CURSOR.fetch_add(1, Ordering::SeqCst) % span;
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port as u16)) {
            held.push(l);
        }
    }
    if held.len() < n {
        bail!("no {n} free ports on 127.0.0.1 between {low} and {high}");
    }
    Ok(held
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_found_where_path_has_nothing() {
        assert_eq!(
            find_on_path(OsStr::new("/nonexistent:/also-not"), "etcd"),
            None
        );
    }

    #[test]
    fn the_first_executable_on_path_wins() {
        let dir = TempDir::new().unwrap();
        let (a, b) = (dir.0.join("a"), dir.0.join("b"));
        for d in [&a, &b] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("etcd"), "#!/bin/sh\n").unwrap();
        }
        // Not executable: skipped.
        std::fs::set_permissions(a.join("etcd"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(b.join("etcd"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(find_on_path(&path, "etcd"), Some(b.join("etcd")));
        let gone = dir.0.clone();
        drop(dir);
        assert!(!gone.exists(), "removed on drop");
    }

    #[test]
    fn free_ports_are_distinct_and_below_the_ephemeral_range() {
        let mut ports = free_ports(6).unwrap();
        assert!(ports.iter().all(|&p| (10_000..30_000).contains(&p)));
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), 6);
    }
}
