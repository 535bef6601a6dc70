//! How a failed run ends: a mistake the user can fix prints plain lines, like kubectl's
//! (`error: kubeconfig /root/.kube/config: ...`); a bug prints color-eyre's full report.

use std::io::IsTerminal;

use color_eyre::Report;
use color_eyre::config::{HookBuilder, Theme};

/// An error that is hatui's fault, not the user's: reported with its location and the
/// backtrace hint, so it can be filed as a bug.
#[derive(Debug)]
pub struct Bug(pub String);

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Bug {}

/// Installs color-eyre's panic and error hooks, coloured only when stderr is a terminal
/// and `NO_COLOR` is unset (<https://no-color.org>).
pub fn install_hooks() -> color_eyre::Result<()> {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let theme = if colour { Theme::dark() } else { Theme::new() };
    HookBuilder::default()
        .theme(theme)
        .display_env_section(false)
        .install()
}

/// What to print for an error that ended the run. Plain unless it is a [`Bug`] or the user
/// asked for backtraces.
pub fn render(report: &Report, backtrace_asked: bool) -> String {
    let bug = report.chain().any(|e| e.is::<Bug>());
    if bug || backtrace_asked {
        format!("{report:?}")
    } else {
        plain(report)
    }
}

/// `error: ` and the chain of causes, one line, as kubectl prints them.
fn plain(report: &Report) -> String {
    let causes: Vec<String> = report.chain().map(|e| e.to_string()).collect();
    format!("error: {}", causes.join(": "))
}

/// `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` set to anything but `0`.
pub fn backtrace_asked() -> bool {
    ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| v != "0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use color_eyre::eyre::{WrapErr, eyre};

    #[test]
    fn a_user_error_is_one_plain_line_with_its_causes() {
        let _ = color_eyre::install();
        let r: Result<(), _> = Err(eyre!("missing: set clusters[].cluster.server"));
        let r = r.wrap_err("kubeconfig /root/.kube/config");
        let text = render(&r.unwrap_err(), false);
        assert_eq!(
            text,
            "error: kubeconfig /root/.kube/config: missing: set clusters[].cluster.server"
        );
    }

    #[test]
    fn a_bug_keeps_the_full_report_with_its_location() {
        let _ = color_eyre::install();
        let text = render(&Report::new(Bug("the lab task ended".into())), false);
        assert!(text.contains("the lab task ended"), "{text}");
        assert!(text.contains("Location:"), "{text}");
    }

    #[test]
    fn rust_backtrace_asks_for_the_full_report() {
        let _ = color_eyre::install();
        let text = render(&eyre!("no such context"), true);
        assert!(text.contains("Location:"), "{text}");
    }
}
