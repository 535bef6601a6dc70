//! A master reachable only through a jump host (`bastion` in the inventory), with the real
//! binary against real `sshd`s: the jump host on 127.0.0.71, the masters on 127.0.0.72-73
//! with test doubles on their PATH. The jump host may only forward to its master
//! (`PermitOpen`), and its log records the login, so an answer proves the way it came.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::host_doubles::{path_line, prepared_host};
use support::sshd::{Agent, Sshd, need_sshd};

const JUMP: &str = "127.0.0.71";

/// A jump host and the master behind it, both accepting the master's client key; an
/// inventory that reaches the master through the jump host, with `identity` or not.
struct Hops {
    dir: tempfile::TempDir,
    jump: Sshd,
    master: Sshd,
    inventory: PathBuf,
}

impl Hops {
    fn start(master_addr: &str, identity: bool) -> Self {
        need_sshd();
        let dir = tempfile::tempdir().unwrap();
        let bin = prepared_host(dir.path(), "cp-1", "uuid-1", false);
        let master = Sshd::start_on(master_addr, &[path_line(&bin)]);
        let only_to_master = format!("PermitOpen {master_addr}:{}", master.port);
        let jump = Sshd::start_on(JUMP, &[only_to_master]);
        let key = std::fs::read_to_string(master.ed25519_key.with_extension("pub")).unwrap();
        let accepted = jump.dir.join("authorized_keys");
        let before = std::fs::read_to_string(&accepted).unwrap();
        std::fs::write(&accepted, before + &key).unwrap();
        let known_hosts = dir.path().join("known_hosts");
        let line = |s: &Sshd| std::fs::read_to_string(&s.known_hosts).unwrap() + "\n";
        std::fs::write(&known_hosts, line(&jump) + &line(&master)).unwrap();
        let identity = if identity {
            format!("identity = \"{}\"\n", master.ed25519_key.display())
        } else {
            String::new()
        };
        let inventory = dir.path().join("hatui.toml");
        std::fs::write(
            &inventory,
            format!(
                "endpoint = \"k8s-api.example.internal:6443\"\n\n\
                 [ssh]\nuser = \"root\"\n{identity}known_hosts = \"{}\"\n\
                 bastion = \"{JUMP}:{}\"\n\n\
                 [[hosts]]\nname = \"cp-1\"\naddress = \"{master_addr}\"\n\
                 role = \"control-plane\"\nport = {}\n",
                known_hosts.display(),
                jump.port,
                master.port
            ),
        )
        .unwrap();
        Self {
            dir,
            jump,
            master,
            inventory,
        }
    }

    fn hatui(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hatui"));
        cmd.args(args)
            .env_remove("RUST_BACKTRACE")
            .env_remove("SSH_AUTH_SOCK");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// `hatui wizard --inventory FILE --preflight --json [extra]`: exit code and the host.
    fn preflight(&self, extra: &[&str], env: &[(&str, &Path)]) -> (Option<i32>, Value) {
        let inv = self.inventory.to_str().unwrap();
        let args = [
            &["wizard", "--inventory", inv, "--preflight", "--json"],
            extra,
        ]
        .concat();
        let out = self.hatui(&args, env);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        (out.status.code(), v[0].clone())
    }

    /// How an error about the master, reached through the jump host, begins.
    fn via_jump(&self) -> String {
        format!(
            "ssh root@{}:{} via jump host root@{JUMP}:{}: ",
            self.master.addr, self.master.port, self.jump.port
        )
    }

    /// How an error about the jump host itself begins.
    fn at_jump(&self) -> String {
        format!(
            "ssh jump host root@{JUMP}:{} (on the way to root@{}:{}): ",
            self.jump.port, self.master.addr, self.master.port
        )
    }

    fn jump_logins(&self) -> usize {
        let log = std::fs::read_to_string(&self.jump.log).unwrap();
        log.matches("Accepted publickey for root").count()
    }
}

fn error(host: &Value) -> String {
    assert_eq!(host["reachable"], false, "{host:#}");
    host["error"].as_str().unwrap().to_string()
}

#[test]
fn preflight_reaches_a_master_behind_the_jump_host_and_names_the_hop_that_fails() {
    let hops = Hops::start("127.0.0.72", true);

    // Through the jump host, with the inventory's key file: the master's own facts.
    let (code, host) = hops.preflight(&[], &[]);
    assert_eq!(code, Some(0), "{host:#}");
    let hostname = host["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Hostname")
        .unwrap();
    assert_eq!(hostname["detail"], "cp-1", "{host:#}");
    assert_eq!(hops.jump_logins(), 1, "one login on the jump host");
    // The command line's key wins over the inventory's, for the jump host too.
    let stranger = hops.master.stranger_key.to_str().unwrap();
    let e = error(&hops.preflight(&["--ssh-identity", stranger], &[]).1);
    let refused = format!("{}authentication failed; tried: {stranger}", hops.at_jump());
    assert!(e.starts_with(&refused), "{e}");

    // The dry-run script's `on` goes the same way with OpenSSH itself.
    let script = hops.hatui(
        &[
            "wizard",
            "--inventory",
            hops.inventory.to_str().unwrap(),
            "--dry-run",
        ],
        &[],
    );
    let script = String::from_utf8(script.stdout).unwrap();
    let helpers = &script[..script.find("\n# ---- step").unwrap()];
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{helpers}\non cp-1 hostname\n"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cp-1\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hops.jump_logins(), 2, "ssh went through the jump host too");

    // The master's key unknown: the keyscan to add it runs on the jump host, which alone
    // reaches the master; run as suggested, it fixes it.
    let only_jump = hops.dir.path().join("known_hosts_jump_only");
    std::fs::write(
        &only_jump,
        std::fs::read_to_string(&hops.jump.known_hosts).unwrap() + "\n",
    )
    .unwrap();
    let flag = ["--ssh-known-hosts", only_jump.to_str().unwrap()];
    let (code, host) = hops.preflight(&flag, &[]);
    assert_eq!(code, Some(1));
    let e = error(&host);
    let add = format!(
        "ssh -p {} root@{JUMP} ssh-keyscan -p {} {} >> {}",
        hops.jump.port,
        hops.master.port,
        hops.master.addr,
        only_jump.display()
    );
    assert!(e.contains(&add), "{e}");
    let unknown = format!("{}host key not known", hops.via_jump());
    assert!(e.starts_with(&unknown), "{e}");
    let login = format!(
        "ssh -o BatchMode=yes -i {} -o UserKnownHostsFile={} ",
        hops.master.ed25519_key.display(),
        only_jump.display()
    );
    let fix = Command::new("bash")
        .arg("-c")
        .arg(add.replacen("ssh ", &login, 1))
        .output()
        .unwrap();
    assert!(fix.status.success(), "{fix:?}");
    assert_eq!(hops.preflight(&flag, &[]).0, Some(0), "fixed as suggested");

    // A wrong key recorded for the jump host: refused, naming the jump host and the line.
    let wrong = hops.dir.path().join("known_hosts_wrong_jump");
    let master_key = std::fs::read_to_string(&hops.master.known_hosts).unwrap();
    let master_key = master_key.split_once(' ').unwrap().1;
    std::fs::write(
        &wrong,
        format!(
            "# the jump host\n[{JUMP}]:{} {master_key}\n{}\n",
            hops.jump.port,
            std::fs::read_to_string(&hops.master.known_hosts).unwrap()
        ),
    )
    .unwrap();
    let (code, host) = hops.preflight(&["--ssh-known-hosts", wrong.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1));
    let e = error(&host);
    let changed = format!("{}HOST KEY CHANGED!", hops.at_jump());
    assert!(e.starts_with(&changed), "{e}");
    assert!(e.contains(&format!("{}:2.", wrong.display())), "{e}");

    // The master down: the jump host says it cannot reach it.
    let mut hops = hops;
    hops.master.stop();
    let e = error(&hops.preflight(&[], &[]).1);
    let unreachable = format!("{}the jump host cannot connect to it", hops.via_jump());
    assert!(e.starts_with(&unreachable), "{e}");

    // The jump host down: that hop is named.
    hops.jump.stop();
    let e = error(&hops.preflight(&[], &[]).1);
    let refused = format!("{}Connection refused", hops.at_jump());
    assert!(e.starts_with(&refused), "{e}");
}

#[test]
fn agent_login_works_through_the_jump_host() {
    let hops = Hops::start("127.0.0.73", false);
    let agent = Agent::start(hops.dir.path(), &[&hops.master.ed25519_key]);
    // No key file anywhere: HOME has no ~/.ssh, the inventory names none.
    let home = hops.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = [("SSH_AUTH_SOCK", agent.socket.as_path()), ("HOME", &home)];
    let (code, host) = hops.preflight(&[], &env);
    assert_eq!(code, Some(0), "{host:#}");
    assert_eq!(hops.jump_logins(), 1);

    // Without the agent nothing logs in, and the jump host is the hop that says so.
    let (_, host) = hops.preflight(&[], &[("HOME", &home)]);
    let e = error(&host);
    let refused = format!("{}authentication failed", hops.at_jump());
    assert!(e.starts_with(&refused), "{e}");
}
