//! Children that die with the test process. A test binary exits without running the
//! destructors of what its threads still hold (an `Arc` in a helper thread, a world the
//! last test dropped a moment too late), so each long-lived child asks the kernel for a
//! SIGKILL when its parent goes (`PR_SET_PDEATHSIG`). The kernel sends it when the *thread*
//! that forked exits, not the process: children are forked by one thread that lives as long
//! as the test process, never by a test's own thread or a tokio blocking thread.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};

type Request = (Command, Sender<std::io::Result<Child>>);

/// Spawns `cmd` from the process-long spawner thread; the child is SIGKILLed when the test
/// process ends, however it ends.
pub fn spawn_tied(cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: Mutex<Option<Sender<Request>>> = Mutex::new(None);
    let tx = {
        let mut slot = SPAWNER.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| {
            let (tx, rx) = channel::<Request>();
            std::thread::Builder::new()
                .name("reaper-spawner".into())
                .spawn(move || {
                    for (mut cmd, reply) in rx {
                        // SAFETY: prctl and getppid are async-signal-safe; nothing allocates.
                        unsafe {
                            cmd.pre_exec(|| {
                                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                                    return Err(std::io::Error::last_os_error());
                                }
                                Ok(())
                            });
                        }
                        let _ = reply.send(cmd.spawn());
                    }
                })
                .expect("start the spawner thread");
            tx
        })
        .clone()
    };
    let (reply, answer) = channel();
    tx.send((cmd, reply)).expect("the spawner thread runs");
    answer.recv().expect("the spawner thread answers")
}
