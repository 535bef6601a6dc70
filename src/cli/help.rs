//! The command line as people read it: `--help` (the cluster-access flags under their own
//! heading, and none the lab refuses in `lab --help`), shell completions and the man page,
//! all from one `clap::Command`.

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::Cli;

/// The heading of the flags every subcommand takes: which cluster, and how to reach etcd.
pub const CLUSTER_ACCESS: &str = "Cluster access";

/// Global flags `hatui lab` has no use for: `--etcd-exec` it refuses (the lab has no etcd
/// pods to exec into), the kubeconfig and its context it never reads.
pub const LAB_HIDES: [&str; 3] = ["etcd_exec", "kubeconfig", "context"];

/// The whole command line, as parsed and as documented.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    // A global flag is copied into each subcommand that has none of its id when the
    // command is built; `lab` gets hidden copies first, still global, so that their values
    // reach the top level as the others' do (and the lab refuses `--etcd-exec` as before).
    let hidden: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| LAB_HIDES.contains(&a.get_id().as_str()))
        .map(|a| a.clone().hide(true))
        .collect();
    // `mut_subcommand` moves the one it changes to the end: going through all of them in
    // order keeps the order `--help` lists them in.
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().into()).collect();
    names.iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, |sub| match name.as_str() {
            "lab" => sub.args(hidden.clone()),
            _ => sub,
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(), "hatui", &mut out);
    out
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is no error.
pub fn print(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The man page, hatui(1), in roff: the top level with every subcommand's flags.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = command();
    // Built, each subcommand holds the global flags its own refer to (`conflicts_with`).
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    // Each subcommand's own flags, so one page documents the whole command line.
    let own = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help");
    for sub in own {
        let title = sub.get_name().to_uppercase();
        // Built: its bin_name is already `hatui <name>`, which the synopsis shows. The
        // cluster-access flags are said once, above; hiding them here only shapes the page.
        let sub = sub
            .clone()
            .mut_args(|a| if a.is_global_set() { a.hide(true) } else { a });
        let page = clap_mangen::Man::new(sub);
        let mut section = Vec::new();
        page.render_synopsis_section(&mut section)?;
        page.render_options_section(&mut section)?;
        // Its sections become subsections of its own.
        let section = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
        writeln!(out, ".SH \"HATUI {title}\"")?;
        out.write_all(section.as_bytes())?;
    }
    man.render_version_section(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{FromArgMatches, Parser};

    use super::*;

    /// The lab's hidden copies change its help only: every command line parses to the
    /// same `Cli` as the derive's own command, or fails the same way.
    #[test]
    fn the_documented_command_parses_as_the_derived_one() {
        let lines: [&[&str]; 9] = [
            &["lab", "--seed", "1", "--speed", "2"],
            &[
                "--kubeconfig",
                "/k",
                "lab",
                "--bare",
                "--scenario",
                "swap-on",
            ],
            &["lab", "--kubeconfig", "/k", "--context", "prod"],
            &["lab", "--etcd-exec"],
            &["--etcd-ssh", "root@cp-1", "lab", "--real-etcd"],
            &["status", "--lab", "--fault", "power:cp-1", "--json"],
            &["--context", "prod", "status", "--etcd-exec"],
            &["wizard", "--lab", "--yes", "--inventory", "x"],
            &["lab", "--etcd-endpoints", "https://a:2379", "--real-etcd"],
        ];
        for line in lines {
            let argv: Vec<&str> = std::iter::once("hatui")
                .chain(line.iter().copied())
                .collect();
            let derived = Cli::try_parse_from(&argv).map(|c| format!("{c:?}"));
            let ours = command()
                .try_get_matches_from(&argv)
                .and_then(|m| Cli::from_arg_matches(&m))
                .map(|c| format!("{c:?}"));
            match (derived, ours) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{line:?}"),
                (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{line:?}"),
                (a, b) => panic!("{line:?}: derived {a:?}, ours {b:?}"),
            }
        }
    }
}
