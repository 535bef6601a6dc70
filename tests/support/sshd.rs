//! A real OpenSSH server on loopback for tests: its own host key, client keys made
//! here, a free port, `-D -e` in the foreground in its own process group, killed with
//! all its children on drop (also when a test panics). [`Sshd::stop`] and
//! [`Sshd::restart`] play a master that reboots: every connection dies with it, and it
//! comes back on the same port with the same host key (or a new one, reinstalled).

#![allow(dead_code)] // each test binary uses a different part

use std::io::Read;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hatui_fleet::ssh::SshTarget;

use super::etcd_cluster::free_ports;
use super::host_doubles::path_line;

pub const SSHD: &str = "/usr/sbin/sshd";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

/// Fails the test, saying what to install, unless the OpenSSH tools are there and we are
/// root (the tests log in as root). Checked once per test binary.
pub fn need_sshd() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let verdict = CHECKED.get_or_init(|| {
        let tools = [
            SSHD,
            "/usr/bin/ssh-keygen",
            "/usr/bin/ssh-keyscan",
            "/usr/bin/ssh-agent",
            "/usr/bin/ssh-add",
            "/usr/bin/sudo",
        ];
        let missing: Vec<_> = tools
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "tests need {missing:?}: apt-get install -y openssh-server openssh-client sudo \
                 (tests/run.sh installs them)"
            ));
        }
        if !is_root() {
            return Err("the sshd tests log in as root: run them as root".into());
        }
        Ok(())
    });
    if let Err(why) = verdict {
        panic!("{why}");
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub struct Sshd {
    pub dir: PathBuf,
    /// The loopback address it listens on.
    pub addr: String,
    pub port: u16,
    /// Accepted client keys, without passphrase.
    pub ed25519_key: PathBuf,
    pub rsa_key: PathBuf,
    /// A key the server does not accept.
    pub stranger_key: PathBuf,
    /// A known_hosts file holding the server's real ed25519 host key.
    pub known_hosts: PathBuf,
    /// The server's other host key, as a known_hosts line.
    pub rsa_known_line: String,
    pub log: PathBuf,
    config: PathBuf,
    host_keys: [PathBuf; 2],
    /// `None` while stopped: the pid may have been reused, so nothing is killed by it.
    child: Option<Child>,
}

pub fn keygen(dir: &Path, name: &str, kind: &str) -> PathBuf {
    need_sshd();
    // 2048-bit RSA: the default 3072 makes every server start noticeably slower.
    let bits = if kind == "rsa" { "2048" } else { "256" };
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-b", bits, "-N", "", "-C", name, "-f"])
        .arg(dir.join(name))
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "ssh-keygen: {:?}", out);
    dir.join(name)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

impl Sshd {
    pub fn start() -> Self {
        Self::start_on("127.0.0.1", &[])
    }

    /// On `addr` (a loopback address), with `extra` lines for sshd_config (`SetEnv
    /// PATH=...` gives a host its own test doubles).
    pub fn start_on(addr: &str, extra: &[String]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "hatui-sshd-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let host_key = keygen(&dir, "host_ed25519", "ed25519");
        let host_rsa = keygen(&dir, "host_rsa", "rsa");
        let ed25519_key = keygen(&dir, "client_ed25519", "ed25519");
        let rsa_key = keygen(&dir, "client_rsa", "rsa");
        let stranger_key = keygen(&dir, "stranger_ed25519", "ed25519");
        let pubs = [&ed25519_key, &rsa_key].map(|k| read(&k.with_extension("pub")));
        let authorized = dir.join("authorized_keys");
        std::fs::write(&authorized, pubs.concat()).unwrap();
        let port = free_ports(1)[0];
        let config = dir.join("sshd_config");
        let log = dir.join("sshd.log");
        let settings = [
            format!("Port {port}"),
            format!("ListenAddress {addr}"),
            format!("HostKey {}", host_key.display()),
            format!("HostKey {}", host_rsa.display()),
            format!("AuthorizedKeysFile {}", authorized.display()),
            format!("PidFile {}", dir.join("sshd.pid").display()),
            "PermitRootLogin yes".into(),
            "StrictModes no".into(),
            "UsePAM no".into(),
            "PasswordAuthentication no".into(),
            "KbdInteractiveAuthentication no".into(),
            "AllowTcpForwarding yes".into(),
            "LogLevel VERBOSE".into(),
        ];
        let settings = [&settings[..], extra].concat();
        std::fs::write(&config, settings.join("\n") + "\n").unwrap();
        let known_hosts = dir.join("known_hosts");
        let host_pub = read(&host_key.with_extension("pub"));
        std::fs::write(&known_hosts, format!("[{addr}]:{port} {host_pub}")).unwrap();
        let rsa_pub = read(&host_rsa.with_extension("pub"));
        let rsa_known_line = format!("[{addr}]:{port} {rsa_pub}");
        let mut sshd = Self {
            dir,
            addr: addr.to_string(),
            port,
            ed25519_key,
            rsa_key,
            stranger_key,
            known_hosts,
            rsa_known_line,
            log,
            config,
            host_keys: [host_key, host_rsa],
            child: None,
        };
        sshd.spawn();
        sshd
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "sshd is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut sshd = Command::new(SSHD);
        sshd.args(["-D", "-e", "-f"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own group, so stop can kill the listener and anything it forked.
            .process_group(0);
        let child = super::reaper::spawn_tied(sshd).expect("start sshd");
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(10));
    }

    /// Like a master that loses power: the listener and every open connection are
    /// SIGKILLed (connections run in sessions of their own, so not in its group).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        // Stopped first, so it forks no new connection while its tree is collected.
        let _ = Command::new("kill").args(["-STOP", "--", &group]).status();
        let mut doomed = descendants(child.id());
        doomed.push(child.id());
        for pid in doomed {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = child.wait();
    }

    /// Starts it again on the same port with the same configuration and host keys.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// New host keys, as after a reinstall; takes effect at the next [`Sshd::restart`].
    /// `known_hosts` keeps the old key.
    pub fn replace_host_keys(&mut self) {
        for (key, kind) in self.host_keys.iter().zip(["ed25519", "rsa"]) {
            let _ = std::fs::remove_file(key);
            let _ = std::fs::remove_file(key.with_extension("pub"));
            let name = key.file_name().unwrap().to_str().unwrap();
            keygen(&self.dir, name, kind);
        }
    }

    fn wait_ready(&mut self, within: Duration) {
        let end = Instant::now() + within;
        let child = self.child.as_mut().expect("sshd started");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("sshd exited ({status}): {}", read(&self.log));
            }
            if let Ok(mut s) = TcpStream::connect((self.addr.as_str(), self.port)) {
                let mut banner = [0u8; 8];
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                if s.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                    return;
                }
            }
            assert!(Instant::now() < end, "sshd not ready: {}", read(&self.log));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `root@127.0.0.1:PORT` with the accepted ed25519 key and the right known_hosts.
    pub fn target(&self) -> SshTarget {
        let mut t = SshTarget::new("root", self.addr.clone(), self.port);
        t.identity_file = Some(self.ed25519_key.clone());
        t.known_hosts = Some(self.known_hosts.clone());
        t
    }
}

/// Every process below `pid`, found by parent pid in /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("sshd files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A real `ssh-agent` on a socket of its own, holding the given keys; killed on drop.
pub struct Agent {
    pub socket: PathBuf,
    child: Child,
}

impl Agent {
    pub fn start(dir: &Path, keys: &[&Path]) -> Self {
        let socket = dir.join("agent.sock");
        let mut agent = Command::new("ssh-agent");
        agent
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = super::reaper::spawn_tied(agent).expect("start ssh-agent");
        let agent = Self { socket, child };
        let end = Instant::now() + Duration::from_secs(10);
        while !agent.socket.exists() {
            assert!(Instant::now() < end, "ssh-agent made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        for key in keys {
            let out = Command::new("ssh-add")
                .arg(key)
                .env("SSH_AUTH_SOCK", &agent.socket)
                .output()
                .expect("run ssh-add");
            assert!(out.status.success(), "ssh-add: {out:?}");
        }
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Hosts of an inventory, each its own sshd on its own loopback address with its own
/// host key, all accepting one client key.
pub struct Fleet {
    pub sshds: Vec<Sshd>,
    /// A known_hosts file with every host's key.
    pub known_hosts: PathBuf,
    /// The client key every host accepts.
    pub key: PathBuf,
    /// The `[[hosts]]` tables of an inventory, with each sshd's port.
    pub hosts_toml: String,
}

/// `(name, address, role, bin)`: each host's sshd puts `bin` (its test doubles) first on
/// the PATH of every command it runs. `dir` holds the known_hosts file.
pub fn fleet(dir: &Path, hosts: &[(&str, &str, &str, &Path)]) -> Fleet {
    need_sshd();
    let mut sshds: Vec<Sshd> = Vec::new();
    let mut hosts_toml = String::new();
    for (name, addr, role, bin) in hosts {
        let sshd = Sshd::start_on(addr, &[path_line(bin)]);
        hosts_toml.push_str(&format!(
            "\n[[hosts]]\nname = \"{name}\"\naddress = \"{addr}\"\nrole = \"{role}\"\nport = {}\n",
            sshd.port
        ));
        sshds.push(sshd);
    }
    let known_hosts = known_hosts_of(dir, &sshds);
    let key = one_client_key(&sshds);
    Fleet {
        sshds,
        known_hosts,
        key,
        hosts_toml,
    }
}

/// `dir/known_hosts` with every one of `sshds`' host keys.
pub fn known_hosts_of(dir: &Path, sshds: &[Sshd]) -> PathBuf {
    let known: String = sshds
        .iter()
        .map(|s| std::fs::read_to_string(&s.known_hosts).unwrap() + "\n")
        .collect();
    let known_hosts = dir.join("known_hosts");
    std::fs::write(&known_hosts, known).unwrap();
    known_hosts
}

/// One client key for all: the first sshd's, which the others are made to accept too.
pub fn one_client_key(sshds: &[Sshd]) -> PathBuf {
    let key = sshds[0].ed25519_key.clone();
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    for s in &sshds[1..] {
        let accepted = s.dir.join("authorized_keys");
        let all = std::fs::read_to_string(&accepted).unwrap() + &public;
        std::fs::write(accepted, all).unwrap();
    }
    key
}
