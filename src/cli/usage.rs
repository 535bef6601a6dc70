//! Usage errors: clap's exit code 2, except under `hatui status`, which is a monitoring
//! check and so exits 3 (UNKNOWN) on a bad flag, as a Nagios/Icinga plugin does.

use std::ffi::OsString;

use clap::FromArgMatches;

use super::Cli;

/// The exit code of every `status` failure that is not a verdict on the cluster.
pub const STATUS_UNKNOWN: i32 = 3;

/// Parses `argv`; on a usage error prints clap's message and exits with [`exit_code`].
pub fn parse_from(argv: Vec<OsString>) -> Cli {
    let parsed = super::help::command()
        .try_get_matches_from(&argv)
        .and_then(|m| Cli::from_arg_matches(&m));
    match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(exit_code(&e, &argv));
        }
    }
}

/// clap's code, but 3 for a usage error under `status` (`--help` and `--version` stay 0).
pub fn exit_code(e: &clap::Error, argv: &[OsString]) -> i32 {
    if e.use_stderr() && subcommand(argv).as_deref() == Some("status") {
        STATUS_UNKNOWN
    } else {
        e.exit_code()
    }
}

/// The subcommand `argv` names, skipping the global flags before it and their values
/// (`hatui --context status status` is `status` run on the context named status).
pub fn subcommand(argv: &[OsString]) -> Option<String> {
    let cmd = super::help::command();
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    let mut words = argv.iter().skip(1);
    while let Some(word) = words.next() {
        let word = word.to_str()?;
        if word == "--" {
            return None;
        }
        if let Some(long) = word.strip_prefix("--") {
            let named = cmd.get_arguments().find(|a| a.get_long() == Some(long));
            if !long.contains('=') && named.is_some_and(takes_value) {
                words.next();
            }
        } else if let Some(short) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let first = chars.next();
            let named = cmd.get_arguments().find(|a| a.get_short() == first);
            if chars.next().is_none() && named.is_some_and(takes_value) {
                words.next();
            }
        } else {
            let found = cmd.find_subcommand(word);
            return Some(found.map_or(word.to_string(), |c| c.get_name().to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("hatui")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_subcommand_is_found_behind_global_flags_and_their_values() {
        let sub = |w: &[&str]| subcommand(&argv(w));
        assert_eq!(sub(&["status", "--bogus"]).as_deref(), Some("status"));
        assert_eq!(sub(&["--context", "status", "lab"]).as_deref(), Some("lab"));
        assert_eq!(
            sub(&["--kubeconfig=/k", "--etcd-exec", "status"]).as_deref(),
            Some("status")
        );
        assert_eq!(sub(&["--inventory", "f.toml"]), None);
    }

    #[test]
    fn a_bad_flag_under_status_is_unknown_elsewhere_clap_s_2() {
        let code = |w: &[&str]| {
            let a = argv(w);
            let e = super::super::help::command()
                .try_get_matches_from(&a)
                .unwrap_err();
            exit_code(&e, &a)
        };
        assert_eq!(code(&["status", "--bogus"]), 3);
        assert_eq!(code(&["--context", "x", "status", "--advance", "2h"]), 3);
        assert_eq!(code(&["lab", "--bogus"]), 2);
        assert_eq!(code(&["status", "--help"]), 0);
    }
}
