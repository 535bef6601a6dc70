//! `hatui wizard` with the real binary: the lab's inventory, the dry-run script (checked by
//! `bash -n`, then run against a fake `ssh` that answers as kubeadm's hosts would), and
//! plain errors for a bad inventory.

use std::path::Path;
use std::process::{Command, Output};

const TOKEN_SECRET: &str = "e4c82f167cb1adb5";
const KEY: &str = "85612b4f52f6fac9d97daa85fc30e44e14fb5773f38297867aac3df14aff9cec";

fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("NO_COLOR", "1")
        .output()
        .expect("run hatui")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The lab's inventory for `cps`+`workers`, written to `dir`, and its dry-run script.
fn dry_run(dir: &Path, cps: &str, workers: &str) -> (std::path::PathBuf, String) {
    let inv = stdout(&hatui(&[
        "wizard",
        "--lab",
        "--print-inventory",
        "--control-planes",
        cps,
        "--workers",
        workers,
    ]));
    let inv_path = dir.join("inventory.toml");
    std::fs::write(&inv_path, inv).unwrap();
    let script = stdout(&hatui(&[
        "wizard",
        "--inventory",
        inv_path.to_str().unwrap(),
        "--dry-run",
    ]));
    let script_path = dir.join("plan.sh");
    std::fs::write(&script_path, &script).unwrap();
    (script_path, script)
}

/// The hosts that `on HOST` lines run a command on, in script order.
fn hosts_in_order(script: &str, needle: &str) -> Vec<String> {
    script
        .lines()
        .map(|l| l.trim_start_matches("( ").trim_start_matches("OUT=$("))
        .filter(|l| l.starts_with("on ") && l.contains(needle))
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn the_dry_run_is_valid_bash_naming_each_host_in_order_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (cps, workers) in [("1", "0"), ("3", "2"), ("5", "3"), ("2", "1")] {
        let (path, script) = dry_run(dir.path(), cps, workers);
        let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(
            check.status.success(),
            "{cps}+{workers}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let (n, m): (usize, usize) = (cps.parse().unwrap(), workers.parse().unwrap());
        let masters: Vec<String> = (1..=n).map(|i| format!("cp-{i}")).collect();
        let workers: Vec<String> = (1..=m).map(|i| format!("worker-{i}")).collect();
        let all: Vec<String> = masters.iter().chain(&workers).cloned().collect();
        assert_eq!(hosts_in_order(&script, "swapon"), all, "preflight");
        assert_eq!(hosts_in_order(&script, "kubeadm init"), ["cp-1"]);
        let joined: Vec<String> = masters[1..].iter().chain(&workers).cloned().collect();
        assert_eq!(hosts_in_order(&script, "kubeadm join"), joined);
        // Each master waits for the previous one to be a voter and Ready.
        for pair in masters[1..].windows(2) {
            let voter = script.find(&format!("etcd_voter {}", pair[0])).unwrap();
            let next = script
                .find(&format!("on {} 'kubeadm join", pair[1]))
                .unwrap();
            assert!(voter < next, "{} waits for {}", pair[1], pair[0]);
        }
        assert_eq!(
            secret_shaped(&script),
            Vec::<String>::new(),
            "{cps} control planes"
        );
        if n == 2 {
            assert!(script.contains("# WARNING: 2 control planes: an even number"));
        }
    }
}

/// Words shaped like a bootstrap token or a certificate key.
fn secret_shaped(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|w| {
            let token = w
                .split_once('.')
                .is_some_and(|(a, b)| a.len() == 6 && b.len() == 16 && !b.contains('.'));
            let key = w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit());
            token || key
        })
        .map(String::from)
        .collect()
}

#[test]
fn the_secret_scan_finds_secrets() {
    let text = format!("--token 9a8x2k.{TOKEN_SECRET} \\\n--certificate-key {KEY}");
    assert_eq!(secret_shaped(&text).len(), 2);
}

/// A fake `ssh` that answers as the hosts would: init prints the 1.32 fixture, every check
/// passes at once, and each command is logged with its target.
const FAKE_SSH: &str = r#"#!/usr/bin/env bash
cmd="${@: -1}"
target="${@: -2:1}"
printf '%s %s\n' "$target" "$cmd" >> "$LOG"
printf '%s\0' "$cmd" >> "$LOG.raw"
case "$cmd" in
  *"kubeadm init "*) cat "$FIXTURES/init-v1.32-tabs.txt" ;;
  *"get --raw /readyz"*) echo ok ;;
  *jsonpath=*) printf True ;;
  *"member list"*)
    for n in 1 2 3; do
      echo "8e9e05c5216469$n, started, cp-$n, https://10.0.0.1$n:2380, https://10.0.0.1$n:2379, false"
    done ;;
  *"kubeadm join"*) echo "This node has joined the cluster and a new control plane instance was created:" ;;
esac
"#;

/// Runs `script` with the fake `ssh` first on PATH: what it printed, and what ssh was asked.
fn run_with_fake_ssh(dir: &Path, script: &Path) -> (String, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ssh = bin.join("ssh");
    std::fs::write(&ssh, FAKE_SSH).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.join("ssh.log");
    let path_env = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .arg(script)
        .env("PATH", path_env)
        .env("LOG", &log)
        .env(
            "FIXTURES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kubeadm"),
        )
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{shown}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (shown, std::fs::read_to_string(&log).unwrap())
}

#[test]
fn the_dry_run_script_runs_captures_the_secrets_and_never_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = dry_run(dir.path(), "3", "2");
    let (shown, log) = run_with_fake_ssh(dir.path(), &path);
    assert!(shown.contains("==> done"), "{shown}");
    // What the operator sees: kubeadm's output, redacted.
    assert!(shown.contains("9a8x2k.<hidden>"), "{shown}");
    assert!(shown.contains("--certificate-key <hidden>"), "{shown}");
    assert!(
        !shown.contains(TOKEN_SECRET) && !shown.contains(KEY),
        "{shown}"
    );
    // What the hosts got: the real values, captured from init's output.
    let joins: Vec<&str> = log.lines().filter(|l| l.contains("kubeadm join")).collect();
    assert_eq!(joins.len(), 4, "{log}");
    assert!(joins[0].starts_with("root@10.0.0.12 kubeadm join lab-api.hatui.local:6443 --token 9a8x2k.e4c82f167cb1adb5 --discovery-token-ca-cert-hash sha256:4873d6a68f2b9fc4eaae62765fea81db2e14dd4ed5d8504ccf37b590dcc3c413 --control-plane --certificate-key 85612b4f"), "{}", joins[0]);
    assert!(joins[1].starts_with("root@10.0.0.13 "), "{}", joins[1]);
    assert!(
        joins[2..].iter().all(
            |j| !j.contains("--control-plane") && j.contains("--token 9a8x2k.e4c82f167cb1adb5")
        ),
        "{log}"
    );
}

#[test]
fn with_sudo_every_root_command_runs_whole_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/inventory.example.toml");
    let script = stdout(&hatui(&["wizard", "--inventory", example, "--dry-run"]));
    let path = dir.path().join("plan.sh");
    std::fs::write(&path, script).unwrap();
    let (shown, log) = run_with_fake_ssh(dir.path(), &path);
    assert!(
        !shown.contains(TOKEN_SECRET) && !shown.contains(KEY),
        "{shown}"
    );
    let asked = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        asked(
            "ubuntu@10.0.0.11 sudo -n sh -c 'kubeadm init --control-plane-endpoint k8s-api.example.internal:6443"
        ),
        1,
        "{log}"
    );
    assert_eq!(
        asked(
            "sudo -n sh -c 'kubeadm join k8s-api.example.internal:6443 --token 9a8x2k.e4c82f167cb1adb5"
        ),
        3,
        "{log}"
    );
    assert!(
        log.lines()
            .filter(|l| l.contains("kubectl --kubeconfig"))
            .all(|l| l.contains(" sudo -n kubectl") || l.contains(" sudo -n sh -c 'kubectl")),
        "{log}"
    );
    assert!(
        log.contains("&& sudo -n crictl --runtime-endpoint"),
        "{log}"
    );
}

/// shellcheck, which tests/run.sh installs (Debian package shellcheck).
fn shellcheck(path: &Path) -> Output {
    match Command::new("shellcheck")
        .args(["-S", "warning"])
        .arg(path)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("shellcheck: {e}: install it with `apt-get install -y shellcheck`"),
    }
}

const SUDO_HAPROXY: &str = r#"name = "prod"
endpoint = "10.0.0.100:8443"
load_balancer = "haproxy"

[ssh]
user = "ubuntu"
sudo = true

[vip]
interface = "ens192"

[[hosts]]
name = "cp-1"
address = "10.0.0.11"
role = "control-plane"

[[hosts]]
name = "cp-2"
address = "10.0.0.12"
role = "control-plane"

[[hosts]]
name = "cp-3"
address = "10.0.0.13"
role = "control-plane"

[[hosts]]
name = "worker-1"
address = "10.0.1.1"
role = "worker"
"#;

/// A command's text with the values init printed (the fake ssh's fixture) in place.
fn with_values(c: &hatui::wizard::command::Command) -> String {
    use hatui::wizard::command::{Part, Var};
    c.parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.clone(),
            Part::Var(Var::Token) => format!("9a8x2k.{TOKEN_SECRET}"),
            Part::Var(Var::CaCertHash) => {
                "sha256:4873d6a68f2b9fc4eaae62765fea81db2e14dd4ed5d8504ccf37b590dcc3c413".into()
            }
            Part::Var(Var::CertificateKey) => KEY.into(),
        })
        .collect()
}

/// With `sudo = true`, the load balancer's `systemctl enable ... && systemctl restart ...`
/// once ran its restart as the login user (`'sudo ''systemctl enable ... && ...'`): every
/// root command reaches the host as `sudo -n sh -c 'COMMAND'`, the SSH executor's form, so
/// sudo runs all of it. The script is clean under shellcheck.
#[test]
fn with_sudo_the_script_is_shellcheck_clean_and_runs_each_root_command_whole_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = dir.path().join("hatui.toml");
    std::fs::write(&inv_path, SUDO_HAPROXY).unwrap();
    let script = stdout(&hatui(&[
        "wizard",
        "--inventory",
        inv_path.to_str().unwrap(),
        "--dry-run",
    ]));
    let path = dir.path().join("plan.sh");
    std::fs::write(&path, &script).unwrap();
    let check = shellcheck(&path);
    assert!(
        check.status.success(),
        "shellcheck -S warning:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    run_with_fake_ssh(dir.path(), &path);
    let raw = std::fs::read(dir.path().join("ssh.log.raw")).unwrap();
    let asked: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|c| !c.is_empty())
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let inv = hatui::fleet::inventory::parse("hatui.toml", SUDO_HAPROXY).unwrap();
    let plan = hatui::wizard::plan::build(&inv);
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut roots = 0;
    for c in plan.steps.iter().flat_map(|s| &s.commands) {
        let text = with_values(c);
        let want = if c.root {
            roots += 1;
            format!("sudo -n sh -c {}", quote(&text))
        } else {
            text.clone()
        };
        assert!(
            asked.contains(&want),
            "{} was not asked of {} as\n{want}\nasked:\n{}",
            c.shown(),
            c.host,
            asked.join("\n--\n")
        );
        if c.root {
            // The host's shell makes of it exactly: sudo -n sh -c COMMAND.
            let words = Command::new("bash")
                .args(["-c", r#"eval "set -- $R"; printf '%s\0' "$@""#])
                .env("R", &want)
                .output()
                .unwrap();
            let words: Vec<&[u8]> = words.stdout.split(|b| *b == 0).collect();
            let want_words: [&[u8]; 6] = [b"sudo", b"-n", b"sh", b"-c", text.as_bytes(), b""];
            assert_eq!(words, want_words, "{want}");
        }
    }
    // The load balancer's restart among them, and nothing else but the waits' one-command
    // kubectl lines.
    assert!(roots > 10, "{roots}");
    assert!(asked.contains(&"sudo -n sh -c 'systemctl enable haproxy keepalived && systemctl restart haproxy keepalived'".to_string()));
    let plan_texts: Vec<String> = plan
        .steps
        .iter()
        .flat_map(|s| &s.commands)
        .map(|c| {
            let t = with_values(c);
            if c.root {
                format!("sudo -n sh -c {}", quote(&t))
            } else {
                t
            }
        })
        .collect();
    for a in asked.iter().filter(|a| !plan_texts.contains(a)) {
        assert!(
            a.starts_with("sudo -n kubectl --kubeconfig /etc/kubernetes/admin.conf ")
                && !a.contains([';', '&', '|', '\n']),
            "{a}"
        );
    }
}

#[test]
fn the_command_lines_ssh_files_win_in_the_script_and_reach_the_bastion() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/inventory.example.toml");
    let text = std::fs::read_to_string(example).unwrap();
    let inv = dir.path().join("hatui.toml");
    let behind = text.replace(
        "# bastion = \"admin@10.0.0.5\"",
        "bastion = \"10.0.0.5:2222\"",
    );
    std::fs::write(&inv, behind).unwrap();
    let inv = inv.to_str().unwrap();
    let files = ["--ssh-identity", "/cli/id", "--ssh-known-hosts", "/cli/kh"];
    let script = stdout(&hatui(
        &[&["wizard", "--inventory", inv, "--dry-run"], &files[..]].concat(),
    ));
    assert!(
        script.contains(
            "SSH_OPTS=('-o' 'BatchMode=yes' '-i' '/cli/id' '-o' 'UserKnownHostsFile=/cli/kh')"
        ),
        "{script}"
    );
    // The jump host gets the same files; its user is [ssh] user.
    let proxy = "'ssh -o BatchMode=yes -i /cli/id -o UserKnownHostsFile=/cli/kh -p 2222 -W \"[%h]:%p\" ubuntu@10.0.0.5'";
    assert!(script.contains(&format!("[cp-1]={proxy}")), "{script}");
    assert!(script.contains(&format!("[worker-1]={proxy}")), "{script}");
    let check = Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn a_bad_inventory_is_one_plain_error_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hatui.toml");
    std::fs::write(
        &path,
        "endpoint = \"lb.example:6443\"\n\n[[hosts]]\nname = \"cp-1\"\naddress = \"10.0.0.11\"\nrole = \"master\"\n",
    )
    .unwrap();
    let out = hatui(&["wizard", "--inventory", path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: {}:6: hosts[0].role: expected \"control-plane\" or \"worker\", got \"master\"\n",
            path.display()
        )
    );
    let out = hatui(&["wizard"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: the wizard's screen is in the cockpit: `hatui --inventory FILE` (then w) on real hosts"),
        "{err}"
    );
}

/// The workshop headless: the wizard builds the lab, then the drill runs on that same
/// cluster; one JSON object, the same for the same seed.
#[test]
fn wizard_lab_drill_builds_then_drills_the_same_lab_as_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().display().to_string();
    let args = [
        "wizard",
        "--lab",
        "--yes",
        "--drill",
        "power",
        "--json",
        "--seed",
        "7",
        "--report-dir",
        &reports,
    ];
    let first = hatui(&args);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = stdout(&first);
    let v: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["plan", "verified", "status", "drill"] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert!(text.find("\"plan\"").unwrap() < text.find("\"drill\"").unwrap());
    assert_eq!(v["verified"], true);
    let drill = &v["drill"];
    assert_eq!(drill["source"], "lab");
    assert_eq!(drill["lab"]["built_by"], "wizard");
    assert_eq!(drill["lab"]["seed"], 7);
    assert_eq!(drill["fault"]["kind"], "power");
    assert_eq!(drill["recovery"]["restored"], true);
    // The drill's etcd is the wizard's: the member that led after the build lost it.
    let before = drill["before"]["etcd_leader"].as_str().unwrap();
    assert_eq!(drill["fault"]["target"], before);
    assert_ne!(drill["etcd"]["new_leader"].as_str(), Some(before));
    let steps = drill["lab"]["wizard_steps"].as_array().unwrap();
    assert_eq!(steps.len(), v["plan"].as_array().unwrap().len());
    let second = stdout(&hatui(&args));
    assert_eq!(text, second, "the same seed prints the same");
    let other = stdout(&hatui(&[
        "wizard",
        "--lab",
        "--yes",
        "--drill",
        "power",
        "--json",
        "--seed",
        "8",
        "--report-dir",
        &reports,
    ]));
    assert_ne!(text, other, "another seed, another cluster");
}

/// `--scenario swap-on`: preflight fails, its fix runs, it passes; the output says so in
/// that order, and the `ok` line does not carry the failure's text again.
#[test]
fn a_step_fixed_headless_prints_failed_then_the_fix_then_ok() {
    let out = stdout(&hatui(&[
        "wizard",
        "--lab",
        "--yes",
        "--scenario",
        "swap-on",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}:\n{out}"))
    };
    let failed = at("FAILED   preflight");
    let fix = at("fix ran  preflight");
    let ok = at("ok       preflight");
    assert!(failed < fix && fix < ok, "failed, fix, ok in order:\n{out}");
    assert!(
        lines[fix + 1].contains("swapoff -a"),
        "the fix's command under it:\n{out}"
    );
    // What belongs to the failure is said once, before the fix.
    let swap_on = |l: &&str| l.contains("swap is on");
    assert!(lines[failed..fix].iter().any(swap_on), "{out}");
    let next = lines[ok + 1..]
        .iter()
        .position(|l| !l.starts_with("         "))
        .map_or(lines.len(), |k| ok + 1 + k);
    assert!(
        !lines[ok..next].iter().any(swap_on),
        "the ok line does not repeat the failure:\n{}",
        lines[ok..next].join("\n")
    );
    assert!(out.contains("\nverified: "), "{out}");
}

/// The build ends by deleting kubeadm-certs on real hosts as on the lab; `--keep-cert-key`
/// leaves the Secret (and the script says nothing of deleting it).
#[test]
fn the_scripts_cleanup_deletes_kubeadm_certs_unless_kept() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/inventory.example.toml");
    let deletes = "delete secret kubeadm-certs";
    let script = stdout(&hatui(&["wizard", "--inventory", example, "--dry-run"]));
    assert!(script.contains(deletes), "{script}");
    let kept = [
        "wizard",
        "--inventory",
        example,
        "--dry-run",
        "--keep-cert-key",
    ];
    let script = stdout(&hatui(&kept));
    assert!(!script.contains(deletes), "{script}");
}
