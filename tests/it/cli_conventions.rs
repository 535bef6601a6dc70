//! Command-line conventions with the real binary: `--help` groups the cluster-access flags
//! under their own heading (and `lab --help` leaves out what the lab refuses), the shell
//! completions are scripts the shells accept and that complete, the man page renders.

use std::process::{Command, Output};

fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("hatui runs")
}

fn stdout(args: &[&str]) -> String {
    let out = hatui(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    String::from_utf8(out.stdout).unwrap()
}

/// The flags (`--name`) listed under `heading` in a help text, up to the next heading.
fn flags_under(help: &str, heading: &str) -> Vec<String> {
    let start = help
        .find(&format!("\n{heading}:\n"))
        .unwrap_or_else(|| panic!("no {heading:?} heading in:\n{help}"));
    help[start + heading.len() + 3..]
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("-h, ").unwrap_or(l);
            l.starts_with("--")
                .then(|| l.split([' ', '=']).next().unwrap().to_string())
        })
        .collect()
}

const ACCESS: &str = "Cluster access";

#[test]
fn lab_help_groups_cluster_access_and_leaves_out_what_the_lab_refuses() {
    let help = stdout(&["lab", "--help"]);
    let own = flags_under(&help, "Options");
    let access = flags_under(&help, ACCESS);
    for flag in ["--control-planes", "--speed", "--real-etcd", "--bare"] {
        assert!(own.iter().any(|f| f == flag), "{flag} not in {own:?}");
    }
    for flag in [
        "--etcd-endpoints",
        "--etcd-ssh",
        "--ssh-identity",
        "--inventory",
    ] {
        assert!(access.iter().any(|f| f == flag), "{flag} not in {access:?}");
        assert!(!own.iter().any(|f| f == flag), "{flag} among lab's own");
    }
    for refused in ["--etcd-exec", "--kubeconfig", "--context"] {
        assert!(
            !help.contains(refused),
            "lab --help shows {refused}:\n{help}"
        );
    }
    // Hidden, still refused as before (not silently accepted).
    let out = hatui(&["lab", "--etcd-exec"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--etcd-exec") && err.contains("the lab has none"),
        "{err}"
    );
}

#[test]
fn wizard_and_top_level_help_group_cluster_access_too() {
    let help = stdout(&["wizard", "--help"]);
    let own = flags_under(&help, "Options");
    let access = flags_under(&help, ACCESS);
    for flag in ["--lab", "--yes", "--dry-run", "--preflight"] {
        assert!(own.iter().any(|f| f == flag), "{flag} not in {own:?}");
    }
    for flag in [
        "--kubeconfig",
        "--context",
        "--etcd-ssh",
        "--etcd-exec",
        "--ssh-known-hosts",
    ] {
        assert!(access.iter().any(|f| f == flag), "{flag} not in {access:?}");
        assert!(
            !own.iter().any(|f| f == flag),
            "{flag} among the wizard's own"
        );
    }
    let top = stdout(&["--help"]);
    let access = flags_under(&top, ACCESS);
    assert!(access.iter().any(|f| f == "--kubeconfig"), "{top}");
    assert!(
        !flags_under(&top, "Options")
            .iter()
            .any(|f| f == "--etcd-ssh")
    );
}

const SUBCOMMANDS: [&str; 7] = [
    "lab",
    "status",
    "wizard",
    "drill",
    "etcd",
    "completions",
    "man",
];

#[test]
fn bash_completions_parse_and_complete_subcommands_and_flags() {
    let script = stdout(&["completions", "bash"]);
    for sub in SUBCOMMANDS {
        assert!(script.contains(sub), "{sub} not in the bash script");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hatui.bash");
    std::fs::write(&file, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // What bash offers, through the script's own function, as on a Tab.
    let complete = |words: &str, cword: usize| {
        let code = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             _hatui hatui \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             echo \"${{COMPREPLY[*]}}\"",
            file.display()
        );
        let out = Command::new("bash").arg("-c").arg(code).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(complete("hatui st", 1), "status");
    assert_eq!(complete("hatui status --fa", 2), "--fault");
    let subs = complete("hatui ''", 1);
    for sub in SUBCOMMANDS {
        assert!(
            subs.split(' ').any(|s| s == sub),
            "{sub} not offered: {subs}"
        );
    }
}

#[test]
fn zsh_and_fish_completions_name_every_subcommand() {
    let zsh = stdout(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef hatui"), "{}", &zsh[..80]);
    let fish = stdout(&["completions", "fish"]);
    for sub in SUBCOMMANDS {
        assert!(
            zsh.contains(&format!("'{sub}:")),
            "{sub} not in the zsh script"
        );
        assert!(
            fish.contains(&format!("-a \"{sub}\"")),
            "{sub} not in the fish script"
        );
    }
    let out = hatui(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bash, zsh, fish"));
}

#[test]
fn the_man_page_renders_with_every_subcommand() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH hatui 1"), "roff title");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hatui.1");
    std::fs::write(&file, &page).unwrap();
    let man = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap_or_else(|e| panic!("man: {e}: install it with `apt-get install -y man-db`"));
    let text = String::from_utf8_lossy(&man.stdout);
    let warnings = String::from_utf8_lossy(&man.stderr);
    assert!(man.status.success(), "{warnings}");
    assert!(warnings.trim().is_empty(), "groff warns: {warnings}");
    assert!(
        text.contains("hatui - A terminal cockpit for highly available kubeadm clusters"),
        "{text}"
    );
    assert!(text.contains("CLUSTER ACCESS"), "{text}");
    for sub in [
        "LAB",
        "STATUS",
        "WIZARD",
        "DRILL",
        "ETCD",
        "COMPLETIONS",
        "MAN",
    ] {
        assert!(
            text.contains(&format!("\nHATUI {sub}\n")),
            "no HATUI {sub}:\n{text}"
        );
    }
    // Each subcommand's own flags, the cluster-access ones said once.
    assert!(text.contains("--fault <KIND:NODE>"), "{text}");
    assert!(text.contains("--real-etcd"), "{text}");
    assert_eq!(text.matches("--etcd-pki-dir <DIR>").count(), 1, "{text}");
}
