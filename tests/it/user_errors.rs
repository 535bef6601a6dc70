//! Mistakes the user can fix end as kubectl's do: `error: ` and one plain line naming the
//! file or flag and what to do, exit 1, no source location, no backtrace hint and no colour
//! when stderr is not a terminal. `RUST_BACKTRACE` still gets the full report.

use std::path::Path;
use std::process::{Command, Output};

fn hatui(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hatui"));
    cmd.args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("KUBECONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("hatui runs")
}

/// Asserts the plain form and returns the message.
fn plain_error(out: &Output) -> String {
    plain_error_exit(out, 1)
}

/// `hatui status` is a monitoring check: what stops it judging is UNKNOWN, exit 3.
fn plain_error_exit(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.trim_end().lines().count() <= 2,
        "one or two lines: {err}"
    );
    for bug_only in ["Location:", "BACKTRACE", "src/", "\x1b["] {
        assert!(!err.contains(bug_only), "{bug_only:?} in {err}");
    }
    err
}

#[test]
fn no_kubeconfig_names_the_file_and_the_way_out() {
    let home = tempfile::tempdir().unwrap();
    let out = hatui(&[], &[("HOME", home.path().to_str().unwrap())]);
    let err = plain_error(&out);
    let file = home.path().join(".kube/config");
    assert!(
        err.contains(&format!("kubeconfig {}", file.display())),
        "{err}"
    );
    assert!(err.contains("hatui lab"), "{err}");
}

#[test]
fn a_kubeconfig_without_a_server_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c\n  cluster: {}\n\
         contexts:\n- name: a\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let out = hatui(&["status", "--kubeconfig", file.to_str().unwrap()], &[]);
    let err = plain_error_exit(&out, 3);
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    assert!(err.contains("server"), "{err}");
}

#[test]
fn a_bad_flag_value_is_plain_too() {
    let out = hatui(&["status", "--lab", "--etcd-endpoints", "not a url"], &[]);
    let err = plain_error_exit(&out, 3);
    assert!(err.contains("--etcd-endpoints"), "{err}");
}

#[test]
fn rust_backtrace_gets_the_full_report() {
    let home = tempfile::tempdir().unwrap();
    let out = hatui(
        &[],
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("RUST_BACKTRACE", "1"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Location:"), "{err}");
    assert!(Path::new(env!("CARGO_BIN_EXE_hatui")).exists());
}
