//! `hatui wizard`: its flags, and the requests they make (build, replace, grow or shrink;
//! on the lab or over SSH), refused with a plain line when they do not go together.

use std::path::PathBuf;

use super::{drill, parse_boot_time};
use crate::lab::{LbCheck, LbKind};
use clap::Args;

/// `hatui wizard`: the lab run, the run on real hosts, preflight over SSH, the dry run and
/// the lab's inventory.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("hosts").args(["lab", "inventory"])))]
pub struct WizardArgs {
    /// The cluster to build (TOML; commented example: assets/inventory.example.toml).
    #[arg(long, value_name = "FILE", conflicts_with = "lab")]
    pub inventory: Option<PathBuf>,
    /// Print the whole plan as a bash script to run by hand from the bastion; run nothing.
    #[arg(long, requires = "inventory")]
    pub dry_run: bool,
    /// The embedded lab instead of real hosts.
    #[arg(long)]
    pub lab: bool,
    /// With --lab: print the lab's inventory, a starting point for real hosts.
    #[arg(long, requires = "lab")]
    pub print_inventory: bool,
    /// Lab control planes (etcd members).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=7))]
    pub control_planes: u8,
    /// Lab workers.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=5000))]
    pub workers: u16,
    /// Run the whole plan without asking: with --lab on the lab's virtual clock, with
    /// --inventory on the hosts over SSH.
    #[arg(long, requires = "hosts")]
    pub yes: bool,
    /// With --yes: print one JSON object (every step, then `hatui status --json`); with
    /// --preflight: the hosts' checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --inventory --yes: worker joins run at once, at most (masters join one at a
    /// time) [default: 10].
    #[arg(long, value_name = "N", value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..), usize::from))]
    pub parallel: Option<usize>,
    /// With --inventory: check every host over SSH (kubeadm's preflight names and hatui's
    /// own), print what fails with its fix, exit 1 when any check fails.
    #[arg(long, requires = "inventory", conflicts_with = "dry_run")]
    pub preflight: bool,
    /// Record and accept the host key of a host known_hosts has no key for (OpenSSH's
    /// accept-new); a changed key is always refused.
    #[arg(long, requires = "inventory")]
    pub accept_new_host_keys: bool,
    /// With --lab: something to practise (expired-certificate-key, expired-token,
    /// no-control-plane-endpoint, swap-on, lb-without-targets).
    #[arg(long, requires = "lab", value_parser = clap::builder::PossibleValuesParser::new(crate::wizard::headless::Scenario::NAMES))]
    pub scenario: Option<String>,
    /// With --lab: the lab's seed; the same seed builds (and drills) the same cluster.
    #[arg(long, requires = "lab", default_value_t = 1)]
    pub seed: u64,
    /// With --lab: the load balancer in front of the apiservers (nlb, haproxy, kube-vip).
    #[arg(long, requires = "lab", default_value_t = LbKind::Nlb, value_name = "KIND")]
    pub lb: LbKind,
    /// With --lab: your own active health check for nlb or haproxy,
    /// INTERVAL/UNHEALTHY/HEALTHY (e.g. 10/3/3).
    #[arg(long, requires = "lab", value_name = "INTERVAL/UNHEALTHY/HEALTHY")]
    pub lb_check: Option<LbCheck>,
    /// With --lab: how long a powered-off master boots after its power-on, e.g. 45s.
    #[arg(long, requires = "lab", default_value = "45s", value_parser = parse_boot_time, value_name = "DURATION")]
    pub boot_time: jiff::SignedDuration,
    /// With --lab --yes: once the plan verified, drill the cluster it built (kubelet,
    /// control-plane, etcd, network, shutdown or power), as `hatui drill --lab` does.
    #[arg(long, requires = "yes", value_name = "KIND")]
    pub drill: Option<crate::drill::DrillFault>,
    /// With --drill: `leader` or a node name such as cp-2.
    #[arg(
        long,
        requires = "drill",
        default_value = "leader",
        value_name = "leader|NODE"
    )]
    pub target: String,
    /// With --drill: how long the fault lasts before the restore, e.g. 120s or 3m.
    #[arg(long, requires = "drill", default_value = "120s", value_parser = drill::parse_duration)]
    pub duration: jiff::SignedDuration,
    /// With --drill: run even if the fault would lose etcd's quorum; with --replace: even
    /// if the node is not dead or its removal would lose the quorum.
    #[arg(long)]
    pub force: bool,
    /// With --yes (--lab, or --inventory FILE whose NODE entry has the replacement's
    /// address) or --dry-run: replace the dead master NODE (its etcd member removed, its
    /// Node deleted, a fresh machine joined in its place); practise with --scenario
    /// dead-master. See docs/replace.md.
    #[arg(long, value_name = "NODE", requires = "hosts", conflicts_with_all = ["drill", "preflight"])]
    pub replace: Option<String>,
    /// With --drill: where the JSON and Markdown reports go.
    #[arg(long, requires = "drill", default_value = crate::drill::headless::DEFAULT_REPORT_DIR, value_name = "DIR")]
    pub report_dir: PathBuf,
    /// With --lab --yes, or --inventory FILE --yes / --dry-run: add the inventory's
    /// control planes NODE[,NODE] to the running cluster, one at a time (a learner first,
    /// then promoted), e.g. cp-4,cp-5. See docs/grow-shrink.md.
    #[arg(long, value_name = "NODE[,NODE]", value_delimiter = ',', conflicts_with_all = ["drill", "replace", "remove"])]
    pub add: Vec<String>,
    /// With --lab --yes, or --inventory FILE --yes / --dry-run: take the live masters
    /// NODE[,NODE] out, one at a time (leadership
    /// moved off first); refused when it would leave fewer than three or an even number
    /// (--force overrides).
    #[arg(long, value_name = "NODE[,NODE]", value_delimiter = ',', conflicts_with_all = ["drill", "replace"])]
    pub remove: Vec<String>,
    /// With --yes or --dry-run: leave the kubeadm-certs Secret after the joins (no
    /// `cleanup` step deleting it).
    #[arg(long)]
    pub keep_cert_key: bool,
}

impl WizardArgs {
    /// `--add/--remove NODE[,NODE]`: growing or shrinking the control plane, on the lab
    /// (`--lab --yes`), on the hosts (`--inventory FILE --yes`) or as a script
    /// (`--dry-run`). `None`: not asked.
    pub fn resize(&self) -> Result<Option<ResizeRequest>, String> {
        if self.add.is_empty() && self.remove.is_empty() {
            return Ok(None);
        }
        let resize = crate::wizard::headless::Resize {
            add: self.add.clone(),
            remove: self.remove.clone(),
            force: self.force,
        };
        if let Some(path) = &self.inventory {
            if self.dry_run {
                return Ok(Some(ResizeRequest::DryRun {
                    inventory: path.clone(),
                    keep_cert_key: self.keep_cert_key,
                    resize,
                }));
            }
            if !self.yes {
                return Err("--add and --remove with --inventory FILE go with --yes (run the plan over SSH) or --dry-run (print it as a script)".into());
            }
            if self.parallel.is_some() {
                return Err("--parallel goes with the build: masters join one at a time".into());
            }
            return Ok(Some(ResizeRequest::Ssh {
                inventory: path.clone(),
                json: self.json,
                accept_new_host_keys: self.accept_new_host_keys,
                keep_cert_key: self.keep_cert_key,
                resize,
            }));
        }
        let crate::wizard::run::Request::Lab(run) = self.request()? else {
            return Err("--add and --remove go with --lab --yes (on the lab's virtual clock) or --inventory FILE --yes / --dry-run (on real hosts)".into());
        };
        Ok(Some(ResizeRequest::Lab(run, resize)))
    }
}

/// `hatui wizard --add/--remove NODE[,NODE]`: where, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResizeRequest {
    /// `--lab --yes`: on the lab's virtual clock.
    Lab(
        crate::wizard::headless::LabRun,
        crate::wizard::headless::Resize,
    ),
    /// `--inventory FILE --yes`: on the hosts over SSH.
    Ssh {
        inventory: PathBuf,
        json: bool,
        accept_new_host_keys: bool,
        keep_cert_key: bool,
        resize: crate::wizard::headless::Resize,
    },
    /// `--inventory FILE --dry-run`: the plan as a script.
    DryRun {
        inventory: PathBuf,
        keep_cert_key: bool,
        resize: crate::wizard::headless::Resize,
    },
}

/// `hatui wizard --replace NODE`: where, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplaceRequest {
    /// `--lab --yes`: on the lab's virtual clock.
    Lab(
        crate::wizard::headless::LabRun,
        crate::wizard::headless::Replace,
    ),
    /// `--inventory FILE --yes`: on the hosts over SSH.
    Ssh {
        inventory: PathBuf,
        json: bool,
        accept_new_host_keys: bool,
        replace: crate::wizard::headless::Replace,
    },
    /// `--inventory FILE --dry-run`: the plan as a script.
    DryRun { inventory: PathBuf, node: String },
}

impl WizardArgs {
    /// `--replace NODE`: the replacement plan on the lab or the hosts, or its script.
    /// `None`: not asked.
    pub fn replace(&self) -> Result<Option<ReplaceRequest>, String> {
        let Some(node) = &self.replace else {
            return Ok(None);
        };
        let replace = crate::wizard::headless::Replace {
            node: node.clone(),
            force: self.force,
        };
        if let Some(path) = &self.inventory {
            if self.dry_run {
                return Ok(Some(ReplaceRequest::DryRun {
                    inventory: path.clone(),
                    node: node.clone(),
                }));
            }
            if !self.yes {
                return Err("--replace NODE with --inventory FILE goes with --yes (run the replacement over SSH) or --dry-run (print it as a script)".into());
            }
            if self.parallel.is_some() {
                return Err(
                    "--parallel goes with the build: a replacement joins one master".into(),
                );
            }
            return Ok(Some(ReplaceRequest::Ssh {
                inventory: path.clone(),
                json: self.json,
                accept_new_host_keys: self.accept_new_host_keys,
                replace,
            }));
        }
        let crate::wizard::run::Request::Lab(run) = self.request()? else {
            return Err("--replace goes with --lab --yes (on the lab's virtual clock) or --inventory FILE --yes / --dry-run (on real hosts)".into());
        };
        Ok(Some(ReplaceRequest::Lab(run, replace)))
    }

    /// `--lab --yes --drill KIND`: build, then drill the same lab. `None`: not asked.
    pub fn workshop(&self) -> Result<Option<crate::runtime::workshop::Workshop>, String> {
        let Some(fault) = self.drill else {
            if self.force && self.replace.is_none() && self.remove.is_empty() {
                return Err("--force goes with --drill, --replace or --remove".into());
            }
            return Ok(None);
        };
        let crate::wizard::run::Request::Lab(build) = self.request()? else {
            return Err("--drill goes with --lab --yes: the wizard builds the lab, then the drill runs on it (on real hosts: `hatui drill --inventory FILE`)".into());
        };
        let target = match self.target.as_str() {
            "leader" => crate::drill::Target::Leader,
            node => crate::drill::Target::Node(node.to_string()),
        };
        let drill = crate::drill::headless::LabDrill {
            config: build.config(),
            spec: crate::drill::DrillSpec {
                fault,
                target,
                duration_ms: self.duration.as_millis() as i64,
                force: self.force,
            },
            yes: true,
            json: self.json,
            report_dir: self.report_dir.clone(),
            real_etcd: false,
        };
        Ok(Some(crate::runtime::workshop::Workshop { build, drill }))
    }

    /// What to do, or why the flags ask for something not built yet.
    pub fn request(&self) -> Result<crate::wizard::run::Request, String> {
        use crate::wizard::run::Request;
        if self.json && !(self.yes || self.preflight) {
            return Err("--json goes with --yes (the whole plan) or --preflight".into());
        }
        if self.parallel.is_some() && !(self.yes && self.inventory.is_some()) {
            return Err(
                "--parallel goes with --inventory FILE --yes (the plan on real hosts)".into(),
            );
        }
        match (&self.inventory, self.dry_run, self.lab, self.print_inventory) {
            (Some(path), true, ..) => Ok(Request::DryRun {
                inventory: path.clone(),
                keep_cert_key: self.keep_cert_key,
            }),
            (Some(path), false, ..) if self.preflight => Ok(Request::Preflight {
                inventory: path.clone(),
                json: self.json,
                accept_new_host_keys: self.accept_new_host_keys,
            }),
            (Some(path), false, ..) if self.yes => Ok(Request::Ssh {
                inventory: path.clone(),
                json: self.json,
                parallel: self
                    .parallel
                    .unwrap_or(crate::wizard::headless::DEFAULT_PARALLEL),
                accept_new_host_keys: self.accept_new_host_keys,
                keep_cert_key: self.keep_cert_key,
            }),
            (_, _, true, true) => Ok(Request::PrintLabInventory {
                control_planes: usize::from(self.control_planes),
                workers: usize::from(self.workers),
            }),
            (_, _, true, false) if self.yes => Ok(Request::Lab(crate::wizard::headless::LabRun {
                control_planes: usize::from(self.control_planes),
                workers: usize::from(self.workers),
                scenario: self
                    .scenario
                    .as_deref()
                    .and_then(crate::wizard::headless::Scenario::parse),
                json: self.json,
                seed: self.seed,
                lb: self.lb,
                lb_check: self.lb_check,
                boot_time_ms: self.boot_time.as_millis() as i64,
                keep_cert_key: self.keep_cert_key,
            })),
            _ => Err("the wizard's screen is in the cockpit: `hatui --inventory FILE` (then w) on real hosts, `hatui lab --bare` (then w) on the lab; without a screen, `hatui wizard --inventory FILE --preflight` checks the hosts over SSH, `--yes` runs the whole plan on them without asking, `--dry-run` prints it as a script, `hatui wizard --lab --yes` runs it on the lab, and `hatui wizard --lab --print-inventory` prints an inventory to start from".into()),
        }
    }
}
