//! Command line: `hatui` (the live cluster), `hatui lab`, `hatui status [--lab] [--json]`,
//! `hatui wizard`, `hatui drill`, `hatui etcd snapshot`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::etcd::EtcdSettings;
use crate::lab::{LabConfig, LbCheck, LbKind};
use crate::runtime::LabSettings;
use color_eyre::{Result, eyre::bail};
use jiff::SignedDuration;

mod drill;
mod etcd;
pub mod help;
mod status;
pub mod usage;
pub use drill::DrillArgs;
pub use etcd::{EtcdCommand, EtcdCommandArgs, SnapshotArgs, run as run_etcd};

#[derive(Debug, Parser)]
#[command(
    name = "hatui",
    version,
    about = "A terminal cockpit for highly available kubeadm clusters",
    long_about = "A terminal cockpit for highly available (multi-master) kubeadm clusters.\n\n\
                  With no subcommand, opens the cockpit on the cluster of the current kubeconfig \
                  context. `hatui lab` opens it on an embedded, simulated HA cluster: no cluster needed."
)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    /// etcd asked directly (live clusters, the lab and `status` alike); in the lab it
    /// replaces the simulated etcd in the etcd pane.
    #[command(flatten)]
    pub etcd: EtcdArgs,
    /// The cluster's hosts and how SSH reaches them (the wizard's inventory, TOML): unless
    /// another --etcd-* flag says how, etcd is read over SSH through its control planes,
    /// with its users, ports, identity, known_hosts and bastion.
    #[arg(long, global = true, value_name = "FILE", help_heading = help::CLUSTER_ACCESS)]
    pub inventory: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The inventory's cluster name, for file names (`None` without `--inventory`).
    pub fn inventory_name(&self) -> Result<Option<String>> {
        match &self.inventory {
            Some(path) => Ok(Some(crate::fleet::inventory::load(path)?.name)),
            None => Ok(None),
        }
    }

    /// How to reach etcd: the `--etcd-*` flags, and the inventory's masters as SSH
    /// targets (the command line's `--ssh-identity`/`--ssh-known-hosts` winning).
    pub fn etcd_settings(&self) -> Result<EtcdSettings> {
        let mut etcd = self.etcd.settings();
        if let Some(path) = &self.inventory {
            let inv = crate::fleet::inventory::load(path)?;
            let files = crate::fleet::inventory::SshOverrides {
                identity: etcd.ssh_identity.clone(),
                known_hosts: etcd.ssh_known_hosts.clone(),
                accept_new_host_keys: false,
            };
            etcd.inventory_masters = inv
                .control_planes()
                .map(|h| inv.ssh_target(h, &files))
                .collect();
        }
        Ok(etcd)
    }
}

/// Which live cluster, as with kubectl.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = help::CLUSTER_ACCESS)]
pub struct TargetArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current-context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

impl TargetArgs {
    pub fn target(&self) -> crate::live::Target {
        crate::live::Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the cockpit on the embedded lab: a simulated HA cluster (always labelled LAB).
    Lab(LabArgs),
    /// Print one snapshot of the cluster as text (or JSON) and exit.
    Status(StatusArgs),
    /// Build an HA cluster step by step: on the lab (`--lab --yes`) or on real hosts over SSH (`--inventory FILE --yes`); check the hosts (`--preflight`), print the plan as a script (`--dry-run`).
    Wizard(WizardArgs),
    /// Failover drill: take a master down one way, measure, restore, report.
    Drill(DrillArgs),
    /// etcd itself: `hatui etcd snapshot [--to FILE|DIR] [--json]`, through the same ways
    /// in as the cockpit's etcd pane.
    Etcd(EtcdCommandArgs),
    /// Print a shell completion script: `hatui completions bash > /etc/bash_completion.d/hatui`.
    Completions(help::CompletionsArgs),
    /// Print the man page, hatui(1), in roff: `hatui man | man -l -`.
    Man,
}

/// The lab's shape, shared by `lab` and `status --lab`.
#[derive(Debug, Clone, Args)]
pub struct Topology {
    /// Control-plane nodes (etcd members). Even numbers are allowed to show why they are bad.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=7))]
    pub control_planes: u8,
    /// Worker nodes.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=5000))]
    pub workers: u16,
    /// Seed of the lab's randomness (election timeouts, ids); the same seed replays the same cluster.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The load balancer in front of the apiservers: nlb (the seed's AWS NLB with AWS's
    /// defaults for a TCP target group: a TCP check on 6443 every 30 s, out after 2 fails,
    /// back after 5, passive checks, fail-open), haproxy (GET /healthz every 2 s, fall 3,
    /// rise 2, on the masters behind keepalived's VIP, as kubeadm's HA doc) or kube-vip (a
    /// VIP that follows the plndr-cp-lock lease).
    #[arg(long, default_value_t = LbKind::Nlb, value_name = "KIND")]
    pub lb: LbKind,
    /// Your own active health check for nlb or haproxy: INTERVAL/UNHEALTHY/HEALTHY, e.g.
    /// 10/3/3 (seconds between checks, fails to take a target out, passes to bring it
    /// back). kube-vip has no checks.
    #[arg(long, value_name = "INTERVAL/UNHEALTHY/HEALTHY")]
    pub lb_check: Option<LbCheck>,
    /// How long a powered-off master takes to boot after its power-on before its kubelet
    /// starts anything (firmware, OS, containerd, kubelet), e.g. 45s or 2m.
    #[arg(long, default_value = "45s", value_parser = parse_boot_time, value_name = "DURATION")]
    pub boot_time: jiff::SignedDuration,
}

/// `--boot-time`: 0s to 1h.
pub(crate) fn parse_boot_time(s: &str) -> Result<jiff::SignedDuration, String> {
    let d: jiff::SignedDuration = s
        .parse()
        .map_err(|e| format!("`{s}` is not a duration like 45s or 2m: {e}"))?;
    if d.is_negative() || d > jiff::SignedDuration::from_hours(1) {
        return Err("use 0s to 1h".into());
    }
    Ok(d)
}

/// Asking etcd directly, as `etcdctl` would (kubeadm's files are in
/// `/etc/kubernetes/pki/etcd/`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = help::CLUSTER_ACCESS)]
pub struct EtcdArgs {
    /// etcd client URLs, comma separated: `https://10.0.0.11:2379,https://10.0.0.12:2379`.
    /// Each is asked on its own connection, so one dead member never hides the others.
    #[arg(long, global = true, value_delimiter = ',', value_name = "URLS")]
    pub etcd_endpoints: Vec<String>,
    /// CA of etcd's serving certificates (kubeadm: /etc/kubernetes/pki/etcd/ca.crt).
    /// Without --etcd-endpoints, a live cluster's endpoints come from its etcd pods.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "etcd_ssh")]
    pub etcd_cacert: Option<PathBuf>,
    /// Client certificate (kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.crt).
    #[arg(long, global = true, requires_all = ["etcd_cacert", "etcd_key"], value_name = "FILE")]
    pub etcd_cert: Option<PathBuf>,
    /// Client key (kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.key).
    #[arg(long, global = true, requires_all = ["etcd_cacert", "etcd_cert"], value_name = "FILE")]
    pub etcd_key: Option<PathBuf>,
    /// Reach etcd over SSH instead: each master's `[user@]host[:port]`, comma separated.
    /// A tunnel goes to each master's 127.0.0.1:2379 and the client certificates are read
    /// there with `sudo -n cat`, kept in memory only.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        value_name = "MASTERS",
        conflicts_with = "etcd_endpoints"
    )]
    pub etcd_ssh: Vec<String>,
    /// SSH private key for --etcd-ssh and the hosts of --inventory, instead of the
    /// inventory's (default: ssh-agent, then ~/.ssh/id_ed25519, id_rsa).
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_identity: Option<PathBuf>,
    /// known_hosts for --etcd-ssh and the hosts of --inventory, instead of the inventory's
    /// (default: ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts).
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// Last resort: run `etcdctl` in each `etcd-<node>` pod through the apiserver (kube
    /// exec; needs pods/exec in kube-system and a working apiserver). Without any etcd
    /// flag a live cluster falls back to this when no client certificate is readable here.
    #[arg(long, global = true, conflicts_with_all = ["etcd_endpoints", "etcd_ssh", "etcd_cacert"])]
    pub etcd_exec: bool,
    /// etcd's client port on the masters, for --etcd-ssh and for masters whose etcd pod
    /// does not name its client URL (kubeadm: 2379).
    #[arg(long, global = true, value_name = "PORT", default_value_t = 2379)]
    pub etcd_port: u16,
    /// Where etcd's client certificates are: on the masters for --etcd-ssh; here, for a
    /// live cluster with no etcd flags (as when hatui runs on a master).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/etc/kubernetes/pki/etcd"
    )]
    pub etcd_pki_dir: String,
}

impl EtcdArgs {
    /// The plain settings the rest of the program takes.
    pub fn settings(&self) -> EtcdSettings {
        EtcdSettings {
            etcd_endpoints: self.etcd_endpoints.clone(),
            etcd_cacert: self.etcd_cacert.clone(),
            etcd_cert: self.etcd_cert.clone(),
            etcd_key: self.etcd_key.clone(),
            etcd_ssh: self.etcd_ssh.clone(),
            ssh_identity: self.ssh_identity.clone(),
            ssh_known_hosts: self.ssh_known_hosts.clone(),
            inventory_masters: Vec::new(),
            etcd_exec: self.etcd_exec,
            etcd_port: self.etcd_port,
            etcd_pki_dir: self.etcd_pki_dir.clone(),
        }
    }
}

impl Topology {
    /// The lab for the command line: wall-clock start, a fresh seed unless one is given.
    pub fn lab_config(&self) -> LabConfig {
        let now = jiff::Timestamp::now();
        let seed = self.seed.unwrap_or(now.as_nanosecond() as u64);
        LabConfig {
            lb: self.lb,
            lb_check: self.lb_check,
            boot_time_ms: self.boot_time.as_millis() as i64,
            ..LabConfig::new(
                usize::from(self.control_planes),
                usize::from(self.workers),
                seed,
                now,
            )
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    #[command(flatten)]
    pub topology: Topology,

    /// Run the lab clock this many times faster than real time (for demos), 0.1 to 1000.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,

    /// Run the lab's etcd as real etcd processes on loopback (etcd from PATH), one member
    /// per master: stopping or powering off a master stops its real member.
    #[arg(long, conflicts_with_all = ["etcd_endpoints", "etcd_ssh"])]
    pub real_etcd: bool,

    /// Hosts with nothing initialised yet: build the cluster with the wizard (`w`).
    #[arg(long, conflicts_with = "real_etcd")]
    pub bare: bool,

    /// With --bare: something to practise (expired-certificate-key, expired-token,
    /// no-control-plane-endpoint, swap-on, lb-without-targets).
    #[arg(long, requires = "bare", value_parser = clap::builder::PossibleValuesParser::new(crate::wizard::headless::Scenario::NAMES))]
    pub scenario: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Take the snapshot from the embedded lab instead of a real cluster.
    #[arg(long)]
    pub lab: bool,
    /// Print JSON (schema in docs/status.md) instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub topology: Topology,
    /// Lab only: run the lab clock forward this long first, e.g. `2h` or `90s`.
    #[arg(long, value_parser = parse_advance, requires = "lab")]
    pub advance: Option<SignedDuration>,
    /// Lab only: a fault at the lab's start, KIND:NODE (kubelet, control-plane, etcd,
    /// network, shutdown, power, delete-node), e.g. `power:cp-1`; repeat for more.
    #[arg(long, value_parser = status::parse_lab_fault, requires = "lab", value_name = "KIND:NODE")]
    pub fault: Vec<crate::model::Fault>,
}

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

impl LabArgs {
    /// The lab to run; refuses `--real-etcd` with another way to etcd.
    pub fn settings(&self, etcd: &EtcdSettings) -> Result<LabSettings> {
        if let Some(conflict) = self.etcd_conflict(etcd) {
            bail!(conflict);
        }
        Ok(LabSettings {
            config: self.topology.lab_config(),
            speed: self.speed,
            real_etcd: self.real_etcd,
            bare: self.bare,
            scenario: self
                .scenario
                .as_deref()
                .and_then(crate::wizard::headless::Scenario::parse),
        })
    }

    /// `--real-etcd` with another way to etcd, which clap misses when the (global) etcd
    /// flag comes before `lab`.
    pub fn etcd_conflict(&self, etcd: &EtcdSettings) -> Option<String> {
        let other = if !etcd.etcd_endpoints.is_empty() {
            "--etcd-endpoints"
        } else if !etcd.etcd_ssh.is_empty() {
            "--etcd-ssh"
        } else if etcd.explicit() {
            "--inventory"
        } else {
            return None;
        };
        if self.bare {
            return Some(format!(
                "--bare cannot be used with {other}: a bare lab has no etcd until the wizard builds one"
            ));
        }
        self.real_etcd
            .then(|| format!("--real-etcd cannot be used with {other}: the lab runs its own etcd"))
    }
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number (try 1, 10 or 60)"))?;
    if (0.1..=1000.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is out of range: use 0.1 to 1000"))
    }
}

fn parse_advance(s: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = s
        .parse()
        .map_err(|e| format!("`{s}` is not a duration like 90s, 25m or 2h: {e}"))?;
    if d.is_negative() {
        return Err("the lab clock only runs forward".into());
    }
    if d > SignedDuration::from_hours(24 * 30) {
        return Err("at most 30 days (720h)".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("hatui").chain(args.iter().copied()))
    }

    #[test]
    fn topology_limits_are_enforced() {
        assert!(parse(&["lab", "--control-planes", "8"]).is_err());
        assert!(parse(&["lab", "--control-planes", "0"]).is_err());
        assert!(parse(&["lab", "--workers", "5001"]).is_err());
        assert!(parse(&["lab", "--control-planes", "4", "--workers", "5000"]).is_ok());
    }

    #[test]
    fn the_load_balancer_defaults_to_the_seeds_nlb_and_reaches_the_lab() {
        let lb = |args: &[&str]| match parse(args).unwrap().command {
            Some(Command::Lab(a)) => a.topology.lab_config().lb,
            Some(Command::Status(s)) => s.topology.lab_config().lb,
            _ => panic!("not a lab subcommand"),
        };
        assert_eq!(lb(&["lab"]), LbKind::Nlb);
        assert_eq!(lb(&["lab", "--lb", "haproxy"]), LbKind::Haproxy);
        assert_eq!(
            lb(&["status", "--lab", "--lb", "kube-vip"]),
            LbKind::KubeVip
        );
        let check = |args: &[&str]| match parse(args).unwrap().command {
            Some(Command::Lab(a)) => a.topology.lab_config().lb_check,
            Some(Command::Drill(d)) => d.topology.lab_config().lb_check,
            _ => unreachable!(),
        };
        assert_eq!(check(&["lab"]), None);
        let own = "10/3/3".parse().ok();
        assert_eq!(check(&["lab", "--lb-check", "10/3/3"]), own);
        assert_eq!(
            check(&["drill", "--lab", "--fault", "power", "--lb-check", "10/3/3"]),
            own
        );
        let err = parse(&["lab", "--lb-check", "10/3"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("INTERVAL/UNHEALTHY/HEALTHY"), "{err}");
        let err = parse(&["lab", "--lb", "elb"]).unwrap_err().to_string();
        assert!(err.contains("nlb, haproxy or kube-vip"), "{err}");
    }

    /// A powered-off master boots before it is back: 45 s unless `--boot-time` says, on
    /// `hatui lab`, `hatui drill --lab` and `hatui wizard --lab`.
    #[test]
    fn boot_time_defaults_to_45_s_and_reaches_the_lab() {
        let boot = |args: &[&str]| match parse(args).unwrap().command {
            Some(Command::Lab(a)) => a.topology.lab_config().boot_time_ms,
            Some(Command::Drill(d)) => d.request().unwrap().config.boot_time_ms,
            Some(Command::Wizard(w)) => match w.request().unwrap() {
                crate::wizard::run::Request::Lab(run) => run.config().boot_time_ms,
                other => panic!("{other:?}"),
            },
            _ => panic!("not a lab subcommand"),
        };
        assert_eq!(boot(&["lab"]), 45_000);
        assert_eq!(boot(&["lab", "--boot-time", "2m"]), 120_000);
        assert_eq!(
            boot(&["drill", "--lab", "--fault", "power", "--boot-time", "0s"]),
            0
        );
        assert_eq!(
            boot(&["wizard", "--lab", "--yes", "--boot-time", "10s"]),
            10_000
        );
        let err = parse(&["lab", "--boot-time", "2h"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("0s to 1h"), "{err}");
        assert!(
            parse(&["wizard", "--boot-time", "10s"]).is_err(),
            "needs --lab"
        );
    }

    #[test]
    fn speed_and_advance_are_checked() {
        let err = parse(&["lab", "--speed", "fast"]).unwrap_err().to_string();
        assert!(err.contains("not a number"), "{err}");
        assert!(parse(&["lab", "--speed", "0"]).is_err());
        let ok = parse(&["status", "--lab", "--advance", "2h"]).unwrap();
        let Some(Command::Status(s)) = ok.command else {
            panic!("not status")
        };
        assert_eq!(s.advance, Some(SignedDuration::from_hours(2)));
        assert!(
            parse(&["status", "--advance", "2h"]).is_err(),
            "--advance needs --lab"
        );
    }

    #[test]
    fn a_bare_lab_takes_the_wizards_scenarios() {
        use crate::wizard::headless::Scenario;
        for name in Scenario::NAMES {
            let cli = parse(&["lab", "--bare", "--scenario", name]).unwrap();
            let Some(Command::Lab(args)) = cli.command else {
                panic!("not lab")
            };
            let settings = args.settings(&EtcdSettings::default()).unwrap();
            assert_eq!(settings.scenario, Scenario::parse(name), "{name}");
        }
        assert!(
            parse(&["lab", "--scenario", "swap-on"]).is_err(),
            "needs --bare"
        );
        assert!(parse(&["lab", "--bare", "--scenario", "nope"]).is_err());
    }

    #[test]
    fn real_etcd_excludes_other_etcd_flags() {
        let Some(Command::Lab(args)) = parse(&["lab", "--real-etcd"]).unwrap().command else {
            panic!("not lab")
        };
        assert!(args.real_etcd);
        for other in [
            [
                "lab",
                "--real-etcd",
                "--etcd-endpoints",
                "https://127.0.0.1:2379",
            ],
            ["lab", "--real-etcd", "--etcd-ssh", "root@10.0.0.11"],
        ] {
            let err = parse(&other).unwrap_err().to_string();
            assert!(err.contains("cannot be used with"), "{other:?}: {err}");
        }
        // Global flags before the subcommand escape clap's check: the lab checks again.
        let cli = parse(&["--etcd-ssh", "root@10.0.0.11", "lab", "--real-etcd"]).unwrap();
        let Some(Command::Lab(args)) = cli.command else {
            panic!("not lab")
        };
        let err = args.settings(&cli.etcd.settings()).unwrap_err();
        assert!(err.to_string().contains("--etcd-ssh"), "{err}");
        assert_eq!(args.etcd_conflict(&EtcdSettings::default()), None);
    }

    #[test]
    fn wizard_flags_become_a_request() {
        use crate::wizard::run::Request;
        let request = |args: &[&str]| match parse(args).unwrap().command {
            Some(Command::Wizard(w)) => w.request(),
            other => panic!("not wizard: {other:?}"),
        };
        assert_eq!(
            request(&["wizard", "--inventory", "c.toml", "--dry-run"]),
            Ok(Request::DryRun {
                inventory: PathBuf::from("c.toml"),
                keep_cert_key: false,
            })
        );
        assert_eq!(
            request(&["wizard", "--lab", "--print-inventory", "--workers", "0"]),
            Ok(Request::PrintLabInventory {
                control_planes: 3,
                workers: 0
            })
        );
        assert!(request(&["wizard", "--inventory", "c.toml"]).is_err());
        assert!(
            parse(&["wizard", "--dry-run"]).is_err(),
            "--dry-run needs --inventory"
        );
        assert!(
            parse(&["wizard", "--print-inventory"]).is_err(),
            "needs --lab"
        );
        assert!(parse(&["wizard", "--lab", "--inventory", "c.toml"]).is_err());
        use crate::wizard::headless::{LabRun, Scenario};
        assert_eq!(
            request(&[
                "wizard",
                "--lab",
                "--yes",
                "--json",
                "--control-planes",
                "5",
                "--scenario",
                "expired-token"
            ]),
            Ok(Request::Lab(LabRun {
                control_planes: 5,
                workers: 2,
                scenario: Some(Scenario::ExpiredToken),
                json: true,
                seed: 1,
                lb: crate::lab::LbKind::Nlb,
                lb_check: None,
                boot_time_ms: 45_000,
                keep_cert_key: false,
            }))
        );
        let own = request(&["wizard", "--lab", "--yes", "--lb-check", "10/3/3"]);
        assert!(
            matches!(own, Ok(Request::Lab(LabRun { lb_check: Some(c), .. })) if c.to_string() == "10/3/3"),
            "{own:?}"
        );
        assert!(
            parse(&["wizard", "--yes"]).is_err(),
            "--yes needs --lab or --inventory"
        );
        let ssh = |parallel| Request::Ssh {
            inventory: "c.toml".into(),
            json: true,
            parallel,
            accept_new_host_keys: true,
            keep_cert_key: false,
        };
        let args = ["wizard", "--inventory", "c.toml", "--yes", "--json"];
        let args = [&args[..], &["--accept-new-host-keys"]].concat();
        assert_eq!(request(&args), Ok(ssh(10)));
        let args = [&args[..], &["--parallel", "3"]].concat();
        assert_eq!(request(&args), Ok(ssh(3)));
        assert!(parse(&[&args[..], &["--parallel", "0"]].concat()).is_err());
        assert!(request(&["wizard", "--lab", "--yes", "--parallel", "3"]).is_err());
        assert!(
            request(&[
                "wizard",
                "--inventory",
                "c",
                "--preflight",
                "--parallel",
                "3"
            ])
            .is_err()
        );
        let identity = [
            "--ssh-identity",
            "k",
            "wizard",
            "--inventory",
            "c.toml",
            "--yes",
        ];
        assert!(
            parse(&identity).is_ok(),
            "--ssh-identity without --etcd-ssh"
        );
        assert!(
            request(&["wizard", "--lab", "--json"]).is_err(),
            "--json needs --yes or --preflight"
        );
        assert_eq!(
            request(&["wizard", "--inventory", "c.toml", "--preflight", "--json"]),
            Ok(Request::Preflight {
                inventory: "c.toml".into(),
                json: true,
                accept_new_host_keys: false,
            })
        );
        assert!(
            parse(&["wizard", "--preflight"]).is_err(),
            "needs --inventory"
        );
        assert!(parse(&["wizard", "--lab", "--yes", "--scenario", "nope"]).is_err());
    }

    #[test]
    fn the_inventory_gives_etcd_its_masters_with_the_command_lines_files() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("hatui.toml");
        std::fs::write(
            &inv,
            "endpoint = \"lb:6443\"\n[ssh]\nidentity = \"/inv/key\"\nknown_hosts = \"/inv/kh\"\n\
             bastion = \"ops@jump\"\n\
             [[hosts]]\nname = \"cp-1\"\naddress = \"10.0.1.11\"\nrole = \"control-plane\"\n\
             [[hosts]]\nname = \"w-1\"\naddress = \"10.0.1.21\"\nrole = \"worker\"\n",
        )
        .unwrap();
        let inv = inv.to_str().unwrap();
        let settings = |args: &[&str]| parse(args).unwrap().etcd_settings().unwrap();
        let etcd = settings(&["status", "--inventory", inv, "--ssh-identity", "/cli/key"]);
        let [cp] = &etcd.inventory_masters[..] else {
            panic!("{:?}", etcd.inventory_masters)
        };
        assert_eq!(
            cp.to_string(),
            "root@10.0.1.11:22 via jump host ops@jump:22"
        );
        assert_eq!(cp.identity_file, Some(PathBuf::from("/cli/key")));
        assert_eq!(cp.known_hosts, Some(PathBuf::from("/inv/kh")));
        assert!(etcd.explicit());
        // Another way to etcd asked for: the inventory does not choose it.
        let exec = settings(&["--inventory", inv, "--etcd-exec"]);
        assert!(!exec.explicit());
    }

    #[test]
    fn etcd_snapshot_takes_a_destination_or_a_file_to_verify() {
        let snapshot = |args: &[&str]| match parse(args).map(|c| c.command) {
            Ok(Some(Command::Etcd(EtcdCommandArgs {
                command: EtcdCommand::Snapshot(s),
            }))) => Ok(s),
            Ok(other) => panic!("not etcd snapshot: {other:?}"),
            Err(e) => Err(e.to_string()),
        };
        let s = snapshot(&["etcd", "snapshot", "--to", "/backup/", "--json"]).unwrap();
        assert_eq!((s.to, s.json), (Some(PathBuf::from("/backup/")), true));
        let s = snapshot(&["--etcd-ssh", "root@cp-1", "etcd", "snapshot"]).unwrap();
        assert_eq!((s.to, s.verify), (None, None));
        let s = snapshot(&["etcd", "snapshot", "--verify", "x.db"]).unwrap();
        assert_eq!(s.verify, Some(PathBuf::from("x.db")));
        let err = snapshot(&["etcd", "snapshot", "--verify", "x.db", "--to", "d"]).unwrap_err();
        assert!(err.contains("cannot be used with"), "{err}");
        assert!(parse(&["etcd"]).is_err(), "etcd needs its subcommand");
    }

    #[test]
    fn kubeconfig_and_context_go_before_or_after_the_subcommand() {
        let cli = parse(&["--context", "prod", "status", "--kubeconfig", "/k"]).unwrap();
        assert_eq!(cli.target.context.as_deref(), Some("prod"));
        assert_eq!(cli.target.kubeconfig, Some(PathBuf::from("/k")));
        assert!(parse(&["--kubeconfig", "/k"]).unwrap().command.is_none());
    }
}
