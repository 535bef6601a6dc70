use clap::Parser;
use color_eyre::{Result, eyre::bail};
use hatui::cli::{Cli, Command};

fn main() -> Result<()> {
    color_eyre::install()?;
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match cli.command {
        Some(Command::Lab(args)) => runtime.block_on(hatui::runtime::run_lab(args)),
        Some(Command::Status(args)) => {
            print!("{}", hatui::status::render(&args)?);
            Ok(())
        }
        None => bail!(
            "the live-cluster cockpit is not built yet; run `hatui lab` for the embedded lab \
             cluster, or `hatui status --lab`"
        ),
    }
}
