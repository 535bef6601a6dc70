//! What the `hatui` binary does, from its arguments to its exit code. It lives in the
//! library so that a release build compiles it, and the generic code it calls, once: the
//! binary itself is one call.

use std::process::ExitCode;

use color_eyre::Result;

use super::{Cli, Command, usage};
use crate::error;

/// Parses the command line, runs the command, and says how it ended (plain lines for a
/// mistake the user can fix, the full report for a bug).
pub fn main() -> ExitCode {
    if let Err(e) = error::install_hooks() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = usage::parse_from(std::env::args_os().collect());
    // `status` is a monitoring check: failing to judge the cluster is UNKNOWN (3).
    let failed = match cli.command {
        Some(Command::Status(_)) => ExitCode::from(usage::STATUS_UNKNOWN as u8),
        _ => ExitCode::FAILURE,
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) => {
            eprintln!("{}", error::render(&report, error::backtrace_asked()));
            failed
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let etcd = cli.etcd_settings()?;
    match cli.command {
        Some(Command::Lab(args)) => {
            let lab = args.settings(&etcd)?;
            runtime.block_on(crate::runtime::run_lab(lab, &etcd))
        }
        Some(Command::Status(args)) => {
            let report = if args.lab {
                let cfg = args.topology.lab_config();
                let advance = args.advance.unwrap_or_default();
                let render = crate::status::render_lab(cfg, &args.fault, advance, args.json, &etcd);
                runtime.block_on(render)?
            } else {
                let target = cli.target.target();
                runtime.block_on(crate::status::render_live(&target, args.json, &etcd))?
            };
            print!("{}", report.out);
            std::io::Write::flush(&mut std::io::stdout())?;
            std::process::exit(report.health.exit_code());
        }
        Some(Command::Etcd(ref args)) => {
            let target = cli.target.target();
            let name = cli.inventory_name()?;
            let out = runtime.block_on(crate::cli::run_etcd(args, &target, &etcd, name))?;
            print!("{out}");
            Ok(())
        }
        Some(Command::Wizard(args)) => {
            if let Some(r) = args.replace().map_err(color_eyre::eyre::Report::msg)? {
                let code = replace(r, &etcd, runtime.handle().clone())?;
                std::process::exit(code);
            }
            if let Some(r) = args.resize().map_err(color_eyre::eyre::Report::msg)? {
                let code = resize(r, &etcd, runtime.handle().clone())?;
                std::process::exit(code);
            }
            if let Some(workshop) = args.workshop().map_err(color_eyre::eyre::Report::msg)? {
                let code = crate::runtime::workshop::run(
                    &workshop,
                    &mut std::io::stdout().lock(),
                    &mut std::io::stderr().lock(),
                )?;
                std::process::exit(code);
            }
            let request = args.request().map_err(color_eyre::eyre::Report::msg)?;
            // The command line's SSH files win over the inventory's, on every path.
            if let crate::wizard::run::Request::Lab(run) = &request {
                let verified = crate::wizard::headless::run(run, &mut std::io::stdout().lock())?;
                std::process::exit(if verified { 0 } else { 1 });
            }
            if let crate::wizard::run::Request::Preflight {
                inventory,
                json,
                accept_new_host_keys,
            } = &request
            {
                let ssh = ssh_overrides(&etcd, *accept_new_host_keys);
                let (out, passed) =
                    runtime.block_on(crate::wizard::run::preflight(inventory, *json, &ssh))?;
                print!("{out}");
                std::process::exit(if passed { 0 } else { 1 });
            }
            if let crate::wizard::run::Request::Ssh {
                inventory,
                json,
                parallel,
                accept_new_host_keys,
                keep_cert_key,
            } = &request
            {
                let run = crate::wizard::headless::SshRun {
                    inventory: inventory.clone(),
                    json: *json,
                    parallel: *parallel,
                    overrides: ssh_overrides(&etcd, *accept_new_host_keys),
                    keep_cert_key: *keep_cert_key,
                };
                let mut out = std::io::stdout().lock();
                let verified =
                    crate::wizard::headless::run_ssh(&run, runtime.handle().clone(), &mut out)?;
                std::process::exit(if verified { 0 } else { 1 });
            }
            let ssh = ssh_overrides(&etcd, false);
            print!("{}", crate::wizard::run::run(&request, &ssh)?);
            Ok(())
        }
        Some(Command::Drill(args)) => {
            if let Some(plan) = args.dry_run() {
                match plan? {
                    Ok(text) => print!("{text}"),
                    Err(why) => {
                        eprintln!("hatui drill: {why}");
                        std::process::exit(2);
                    }
                }
                return Ok(());
            }
            if let Some(live) = args.live(cli.target.target(), &etcd) {
                let live = live?;
                let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
                let run = crate::drill::live::run(&live, &mut out, &mut err);
                let code = runtime.block_on(run)?;
                std::process::exit(code);
            }
            let request = match args.request() {
                Ok(r) => r,
                Err(why) => {
                    eprintln!("hatui drill: {why}");
                    std::process::exit(2);
                }
            };
            let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
            let code = if request.real_etcd {
                let run = crate::drill::real_etcd::run(&request, &mut out, &mut err);
                runtime.block_on(run)?
            } else {
                crate::drill::headless::run(&request, &mut out, &mut err)?
            };
            std::process::exit(code);
        }
        Some(Command::Completions(args)) => Ok(crate::cli::help::print(
            &crate::cli::help::completions(args.shell),
        )?),
        Some(Command::Man) => {
            let mut page = Vec::new();
            crate::cli::help::man(&mut page)?;
            Ok(crate::cli::help::print(&page)?)
        }
        None => match &cli.inventory {
            Some(file) => {
                let ssh = ssh_overrides(&etcd, false);
                let run = crate::runtime::run_inventory(cli.target.target(), file, &etcd, &ssh);
                runtime.block_on(run)
            }
            None => runtime.block_on(crate::runtime::run_live(cli.target.target(), &etcd)),
        },
    }
}

/// `hatui wizard --add/--remove NODE[,NODE]`: on the lab, over SSH, or its script. The
/// exit code.
fn resize(
    r: crate::cli::ResizeRequest,
    etcd: &crate::etcd::EtcdSettings,
    rt: tokio::runtime::Handle,
) -> color_eyre::Result<i32> {
    use crate::cli::ResizeRequest;
    use crate::wizard::headless;
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    match r {
        ResizeRequest::Lab(run, resize) => headless::resize(&run, &resize, &mut out, &mut err),
        ResizeRequest::Ssh {
            inventory,
            json,
            accept_new_host_keys,
            keep_cert_key,
            resize,
        } => {
            let run = headless::SshRun {
                inventory,
                json,
                parallel: headless::DEFAULT_PARALLEL,
                overrides: ssh_overrides(etcd, accept_new_host_keys),
                keep_cert_key,
            };
            headless::resize_ssh(&run, &resize, rt, &mut out, &mut err)
        }
        ResizeRequest::DryRun {
            inventory,
            keep_cert_key,
            resize,
        } => {
            let script = headless::resize_script(
                &inventory,
                &resize,
                keep_cert_key,
                &ssh_overrides(etcd, false),
            )?;
            print_script(script, &mut out, &mut err)
        }
    }
}

/// `hatui wizard --replace NODE`: on the lab, over SSH, or its script. The exit code.
fn replace(
    r: crate::cli::ReplaceRequest,
    etcd: &crate::etcd::EtcdSettings,
    rt: tokio::runtime::Handle,
) -> color_eyre::Result<i32> {
    use crate::cli::ReplaceRequest;
    use crate::wizard::headless;
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    match r {
        ReplaceRequest::Lab(run, replace) => headless::replace(&run, &replace, &mut out, &mut err),
        ReplaceRequest::Ssh {
            inventory,
            json,
            accept_new_host_keys,
            replace,
        } => {
            let run = headless::SshRun {
                inventory,
                json,
                parallel: headless::DEFAULT_PARALLEL,
                overrides: ssh_overrides(etcd, accept_new_host_keys),
                keep_cert_key: false,
            };
            headless::replace_ssh(&run, &replace, rt, &mut out, &mut err)
        }
        ReplaceRequest::DryRun { inventory, node } => {
            let script = headless::replace_script(&inventory, &node, &ssh_overrides(etcd, false))?;
            print_script(script, &mut out, &mut err)
        }
    }
}

/// The command line's SSH files (`--ssh-identity`, `--ssh-known-hosts`) over an inventory's,
/// and whether it accepts new host keys (`--accept-new-host-keys` where a command has it).
fn ssh_overrides(
    etcd: &crate::etcd::EtcdSettings,
    accept_new_host_keys: bool,
) -> crate::fleet::inventory::SshOverrides {
    crate::fleet::inventory::SshOverrides {
        identity: etcd.ssh_identity.clone(),
        known_hosts: etcd.ssh_known_hosts.clone(),
        accept_new_host_keys,
    }
}

/// A dry run's script on stdout (exit 0), or why there is none (exit 2).
fn print_script(
    script: Result<String, String>,
    out: &mut impl std::io::Write,
    err: &mut impl std::io::Write,
) -> color_eyre::Result<i32> {
    match script {
        Ok(script) => {
            write!(out, "{script}")?;
            Ok(0)
        }
        Err(why) => {
            writeln!(err, "hatui wizard: {why}")?;
            Ok(2)
        }
    }
}
