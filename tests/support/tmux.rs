//! A private tmux server for end-to-end tests: the real binary in a real terminal, its
//! screen read and keys typed as an operator would.

#![allow(dead_code)] // each test binary uses a different part

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A private tmux server (its own socket), killed on drop whatever the test did.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Self {
        let socket = format!("hatui-e2e-{name}-{}", std::process::id());
        let tmux = Self { socket };
        let status = tmux
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                "e2e",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(command)
            .status()
            .expect("tmux runs (tests/run.sh installs it)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]).args(args);
        c
    }

    pub fn screen(&self) -> String {
        let out = self
            .cmd(&["capture-pane", "-p", "-t", "e2e"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &str) {
        let status = self
            .cmd(&["send-keys", "-t", "e2e", keys])
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    pub fn pane_pid(&self) -> u32 {
        let out = self
            .cmd(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"])
            .output()
            .expect("display-message");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pid")
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).status();
    }
}
