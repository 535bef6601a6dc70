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
mod main;
mod status;
pub mod usage;
mod wizard;
pub use drill::DrillArgs;
pub use etcd::{EtcdCommand, EtcdCommandArgs, SnapshotArgs, run as run_etcd};
pub use main::main;
pub use wizard::{ReplaceRequest, ResizeRequest, WizardArgs};

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
mod tests;
