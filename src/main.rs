//! The `hatui` binary: all of it is [`hatui::cli::main`].

fn main() -> std::process::ExitCode {
    hatui::cli::main()
}
