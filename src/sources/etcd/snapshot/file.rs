//! The snapshot's file: written to a temporary file beside its name (mode 0600: it holds
//! every Secret of the cluster), fsynced, checked, renamed, the directory fsynced; and the
//! check itself, as `etcdctl snapshot restore` makes it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use ring::digest::{Context, SHA256};

use super::Verified;

/// The SHA-256 etcd appends.
const HASH_LEN: u64 = 32;
/// bbolt's magic, in its first meta page after the 16-byte page header.
const BOLT_MAGIC: u32 = 0xED0C_DAED;

/// Checks a snapshot file as `etcdctl snapshot restore` would before restoring it: a
/// bbolt database followed by the SHA-256 of its bytes.
pub fn verify_snapshot(path: &Path) -> Result<Verified> {
    let shown = path.display();
    let mut file = File::open(path).wrap_err_with(|| format!("cannot read {shown}"))?;
    let size = file
        .metadata()
        .wrap_err_with(|| format!("cannot read {shown}"))?
        .len();
    if size < 512 + HASH_LEN || !(size - HASH_LEN).is_multiple_of(512) {
        bail!(
            "{shown} is not an etcd snapshot with its SHA-256 ({size} bytes; a snapshot is a \
             database of 512-byte multiples plus 32 bytes): truncated, or not from `hatui etcd \
             snapshot`/`etcdctl snapshot save`"
        );
    }
    let body = size - HASH_LEN;
    let (mut content, mut whole) = (Context::new(&SHA256), Context::new(&SHA256));
    let mut buf = vec![0u8; 256 * 1024];
    let mut read: u64 = 0;
    let mut first = Vec::new();
    while read < body {
        let want = buf.len().min((body - read) as usize);
        file.read_exact(&mut buf[..want])
            .wrap_err_with(|| format!("cannot read {shown}"))?;
        if first.len() < 24 {
            first.extend_from_slice(&buf[..want.min(24)]);
        }
        content.update(&buf[..want]);
        whole.update(&buf[..want]);
        read += want as u64;
    }
    let magic = u32::from_le_bytes([first[16], first[17], first[18], first[19]]);
    if magic != BOLT_MAGIC {
        bail!("{shown} is not an etcd snapshot: it does not start with a bbolt database");
    }
    let mut trailer = [0u8; HASH_LEN as usize];
    file.read_exact(&mut trailer)
        .wrap_err_with(|| format!("cannot read {shown}"))?;
    whole.update(&trailer);
    if content.finish().as_ref() != trailer {
        bail!(
            "{shown} is corrupt: its SHA-256 does not match its contents (etcdctl snapshot \
             restore would refuse it too); take another snapshot"
        );
    }
    Ok(Verified {
        bytes: size,
        sha256: hex(whole.finish().as_ref()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The snapshot being written, next to its final name; removed unless persisted.
pub(super) struct TempFile {
    pub(super) path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    pub(super) fn create(target: &Path) -> Result<Self> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "etcd-snapshot.db".into());
        let path = target.with_file_name(format!(".{name}.part-{}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .wrap_err_with(|| format!("cannot create {}", path.display()))?;
        Ok(Self {
            path,
            file: Some(file),
        })
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let file = self.file.as_mut().expect("open until persisted");
        file.write_all(bytes)
            .wrap_err_with(|| format!("cannot write {}", self.path.display()))
    }

    pub(super) fn sync(&mut self) -> Result<()> {
        let file = self.file.as_mut().expect("open until persisted");
        file.sync_all()
            .wrap_err_with(|| format!("cannot write {} to disk", self.path.display()))
    }

    /// Renames it to `target` and makes the rename durable.
    pub(super) fn persist(mut self, target: &Path) -> Result<()> {
        drop(self.file.take());
        std::fs::rename(&self.path, target).wrap_err_with(|| {
            format!(
                "cannot rename {} to {}",
                self.path.display(),
                target.display()
            )
        })?;
        if let Some(dir) = target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A bar on stderr, rewritten at most every 100 ms, erased when dropped. It appears only
/// once the stream has run for [`BAR_AFTER`]: a small database is saved before that.
pub(super) struct Progress {
    /// Where the bar goes: stderr, when it is a terminal; nowhere otherwise.
    out: Option<Box<dyn Write + Send>>,
    started: Instant,
    last: Option<Instant>,
}

/// How long a snapshot streams before its bar appears.
const BAR_AFTER: Duration = Duration::from_millis(500);
/// The bar's cells.
const BAR_CELLS: u64 = 24;

impl Progress {
    pub(super) fn new(on: bool) -> Self {
        let out: Option<Box<dyn Write + Send>> = on.then(|| Box::new(std::io::stderr()) as _);
        Self::to(out)
    }

    fn to(out: Option<Box<dyn Write + Send>>) -> Self {
        Self {
            out,
            started: Instant::now(),
            last: None,
        }
    }

    pub(super) fn show(&mut self, member: &str, written: u64, remaining: u64) {
        let due = |t: Instant, d: Duration| t.elapsed() >= d;
        let Some(out) = self.out.as_mut() else {
            return;
        };
        if !due(self.started, BAR_AFTER)
            || self
                .last
                .is_some_and(|t| !due(t, Duration::from_millis(100)))
        {
            return;
        }
        self.last = Some(Instant::now());
        let line = bar_line(member, written, written + remaining);
        let _ = write!(out, "\r{line}\x1b[K");
        let _ = out.flush();
    }
}

/// `snapshot from cp-2 [#######.................]  30%  1.5 MiB of 5.0 MiB`.
pub(super) fn bar_line(member: &str, written: u64, total: u64) -> String {
    let pct = (written.min(total) * 100).checked_div(total).unwrap_or(100);
    let full = (pct * BAR_CELLS / 100) as usize;
    let bar = format!(
        "{}{}",
        "#".repeat(full),
        ".".repeat(BAR_CELLS as usize - full)
    );
    format!(
        "snapshot from {member} [{bar}] {pct:>3}%  {} of {}",
        human(written),
        human(total)
    )
}

impl Drop for Progress {
    /// Gone when the stream ends, or breaks: an error then starts its own line.
    fn drop(&mut self) {
        if let (Some(out), Some(_)) = (self.out.as_mut(), self.last) {
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
        }
    }
}

/// `20.0 KiB`, `1.5 MiB`, `3.2 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake bbolt file of `pages` 512-byte pages, with etcd's trailing hash.
    fn fake_snapshot(pages: usize) -> Vec<u8> {
        let mut db = vec![0u8; pages * 512];
        db[16..20].copy_from_slice(&BOLT_MAGIC.to_le_bytes());
        for (i, b) in db.iter_mut().enumerate().skip(64) {
            *b = (i % 251) as u8;
        }
        let hash = ring::digest::digest(&SHA256, &db);
        db.extend_from_slice(hash.as_ref());
        db
    }

    #[test]
    fn a_sound_snapshot_passes_and_a_flipped_byte_fails() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.db");
        let bytes = fake_snapshot(8);
        std::fs::write(&good, &bytes).unwrap();
        let v = verify_snapshot(&good).unwrap();
        assert_eq!(v.bytes, bytes.len() as u64);
        assert_eq!(
            v.sha256,
            hex(ring::digest::digest(&SHA256, &bytes).as_ref())
        );

        let mut flipped = bytes.clone();
        flipped[2000] ^= 0xff;
        let bad = dir.path().join("bad.db");
        std::fs::write(&bad, &flipped).unwrap();
        let e = verify_snapshot(&bad).unwrap_err().to_string();
        assert!(e.contains("corrupt") && e.contains("bad.db"), "{e}");

        let cut = dir.path().join("cut.db");
        std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
        let e = verify_snapshot(&cut).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");

        let mut other = bytes.clone();
        other[16] = 0;
        let notbolt = dir.path().join("notbolt.db");
        std::fs::write(&notbolt, &other).unwrap();
        let e = verify_snapshot(&notbolt).unwrap_err().to_string();
        assert!(e.contains("bbolt"), "{e}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(20 * 1024), "20.0 KiB");
        assert_eq!(human(3 * 1024 * 1024 / 2), "1.5 MiB");
    }

    #[test]
    fn the_bar_fills_with_the_bytes_streamed() {
        let mib = 1024 * 1024;
        assert_eq!(
            bar_line("cp-2", 3 * mib / 2, 5 * mib),
            "snapshot from cp-2 [#######.................]  30%  1.5 MiB of 5.0 MiB"
        );
        assert!(bar_line("cp-2", 0, 0).contains("[########################] 100%"));
        assert!(bar_line("cp-2", 0, mib).contains("[........................]   0%"));
    }

    #[test]
    fn the_temporary_file_is_private_and_gone_unless_persisted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("snap.db");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let listing = || {
            let mut v: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };

        // A failed stream: the temporary file goes with it, nothing takes the name.
        let mut t = TempFile::create(&target).unwrap();
        t.write(b"half a database").unwrap();
        assert_eq!(mode(&t.path), 0o600, "private from its first byte");
        assert_eq!(
            t.path.parent(),
            Some(dir.path()),
            "beside its name: one rename"
        );
        drop(t);
        assert!(listing().is_empty(), "{:?}", listing());

        // An older, world-readable file of that name is replaced whole, and private.
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut t = TempFile::create(&target).unwrap();
        t.write(b"new snapshot").unwrap();
        t.sync().unwrap();
        t.persist(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new snapshot");
        assert_eq!(mode(&target), 0o600);
        assert_eq!(listing(), ["snap.db"]);
    }

    /// What the bar wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Screen(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[test]
    fn the_bar_waits_half_a_second_is_throttled_and_erased() {
        let mib = 1024 * 1024;
        let screen = Screen::default();
        let mut bar = Progress::to(Some(Box::new(screen.clone())));
        bar.show("cp-2", mib, 9 * mib);
        assert_eq!(
            screen.text(),
            "",
            "a small database is saved before any bar"
        );
        bar.started -= BAR_AFTER;
        bar.show("cp-2", 2 * mib, 8 * mib);
        bar.show("cp-2", 3 * mib, 7 * mib);
        assert_eq!(
            screen.text(),
            format!("\r{}\x1b[K", bar_line("cp-2", 2 * mib, 10 * mib)),
            "one line, rewritten at most every 100 ms"
        );
        drop(bar);
        assert!(screen.text().ends_with("\r\x1b[K"), "erased at the end");

        let mut off = Progress::new(false);
        off.started -= BAR_AFTER;
        off.show("cp-2", mib, mib);
        assert!(off.last.is_none(), "off a terminal: nothing");
    }
}
