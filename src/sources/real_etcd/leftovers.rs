//! What a `hatui lab --real-etcd` killed with SIGKILL (or a power cut) left behind: its
//! etcd processes, still running on loopback, and its temp directory with private keys.
//! The next run removes them: the directory names the pid of the hatui that made it.

use std::path::Path;

/// Prefix of the lab's temp directories: `hatui-lab-etcd-<pid>-<nanos>`.
pub(super) const PREFIX: &str = "hatui-lab-etcd-";

/// Kills the etcd processes of every lab directory in `temp` whose hatui is gone and
/// removes the directory; says what it did, one line per directory.
pub fn sweep(temp: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner(&name) else { continue };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        let dir = entry.path();
        let killed = kill_users_of(&dir);
        let removed = std::fs::remove_dir_all(&dir).is_ok();
        notes.push(format!(
            "removed what an earlier `hatui lab --real-etcd` (pid {pid}) left: {killed} etcd \
             process(es){}",
            if removed {
                format!(", {}", dir.display())
            } else {
                format!("; could not remove {}", dir.display())
            }
        ));
    }
    notes
}

fn owner(dir_name: &str) -> Option<u32> {
    dir_name
        .strip_prefix(PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    // EPERM: it exists but belongs to someone else.
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// SIGKILLs every process whose command line names `dir` (each member's `--data-dir`),
/// with its process group: a member runs in a group of its own.
fn kill_users_of(dir: &Path) -> usize {
    let needle = dir.display().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for p in procs.flatten() {
        let Some(pid) = p
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains(&needle) {
            continue;
        }
        // SAFETY: getpgid/kill on a pid read from /proc; at worst the process is gone
        // and the call fails. No memory is involved.
        unsafe {
            let group = libc::getpgid(pid);
            if group == pid {
                libc::kill(-group, libc::SIGKILL);
            } else {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        killed += 1;
    }
    killed
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_dead_hatuis_members_and_directory_go_and_a_live_ones_stay() {
        let temp = tempfile::tempdir().unwrap();
        // A pid that certainly belonged to a process that is gone.
        let mut gone = Command::new("true").spawn().unwrap();
        let dead = gone.id();
        gone.wait().unwrap();
        let stale = temp.path().join(format!("{PREFIX}{dead}-1a2b"));
        let live = temp
            .path()
            .join(format!("{PREFIX}{}-3c4d", std::process::id()));
        std::fs::create_dir_all(stale.join("cp-1.etcd")).unwrap();
        std::fs::create_dir_all(&live).unwrap();
        // A member as hatui starts one: its own process group, the data dir in its args.
        let data_dir = format!("--data-dir={}", stale.join("cp-1.etcd").display());
        // `read` is a builtin: the shell never forks a child that would be counted too.
        let mut member = Command::new("sh")
            .args(["-c", "read -r line", "etcd", &data_dir])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();

        // As the member shows in /proc before it is swept (exec is done, it still runs).
        let cmdline = format!("/proc/{}/cmdline", member.id());
        let end = Instant::now() + Duration::from_secs(10);
        while !std::fs::read(&cmdline)
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&data_dir))
        {
            assert!(
                member.try_wait().unwrap().is_none(),
                "the member died early"
            );
            assert!(Instant::now() < end, "the member never showed in {cmdline}");
            std::thread::sleep(Duration::from_millis(10));
        }

        let notes = sweep(temp.path());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains(&format!("pid {dead}")) && notes[0].contains("1 etcd"),
            "{notes:?}"
        );
        assert!(!stale.exists() && live.exists());
        let end = Instant::now() + Duration::from_secs(10);
        while member.try_wait().unwrap().is_none() {
            assert!(Instant::now() < end, "the leftover member still runs");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
