//! `hatui drill`: the failover drill's flags, turned into plain settings.

use std::path::PathBuf;

use clap::Args;
use jiff::SignedDuration;

use crate::drill::headless::{DEFAULT_REPORT_DIR, LabDrill};
use crate::drill::live::{LiveCluster, LiveDrill};
use crate::drill::{DrillFault, DrillSpec, Target};
use crate::etcd::EtcdSettings;
use crate::fleet::SshOverrides;

use super::Topology;

#[derive(Debug, Clone, Args)]
pub struct DrillArgs {
    /// Drill on the embedded lab, on its virtual clock.
    #[arg(long, conflicts_with = "inventory")]
    pub lab: bool,
    /// The real cluster's hosts (the wizard's inventory): the fault runs on the target over
    /// SSH; the kubeconfig (--kubeconfig) and the etcd flags say how to watch the cluster.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// With --inventory: accept and record the host key of a host never seen before
    /// (OpenSSH's accept-new); a changed key is always refused.
    #[arg(long, requires = "inventory")]
    pub accept_new_host_keys: bool,
    /// With --inventory: print the fault and restore commands; run nothing.
    #[arg(long, requires = "inventory")]
    pub dry_run: bool,
    #[command(flatten)]
    pub topology: Topology,
    /// With --lab: run the lab's etcd as real etcd processes on loopback (etcd from PATH);
    /// the etcd figures are theirs and the drill runs on the wall clock.
    #[arg(long, requires = "lab")]
    pub real_etcd: bool,
    /// kubelet (systemctl stop kubelet), control-plane (the four control-plane manifests
    /// moved away), etcd (crictl stop of its container), network (iptables DROP of
    /// 2379/2380/6443 from the other masters), shutdown (systemctl poweroff: clean) or power
    /// (a cut: systemctl poweroff --force --force).
    #[arg(long, value_name = "KIND")]
    pub fault: DrillFault,
    /// `leader` (the etcd leader, else a lease holder) or a node name such as cp-2.
    #[arg(long, default_value = "leader", value_name = "leader|NODE")]
    pub target: String,
    /// How long the fault lasts before the restore, e.g. 120s or 3m.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub duration: SignedDuration,
    /// Run even if the fault would lose etcd's quorum.
    #[arg(long)]
    pub force: bool,
    /// Run without asking (headless; the cockpit will ask instead).
    #[arg(long)]
    pub yes: bool,
    /// Print the report as JSON (the plan goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where the JSON and Markdown reports go.
    #[arg(long, default_value = DEFAULT_REPORT_DIR, value_name = "DIR")]
    pub report_dir: PathBuf,
}

pub(super) fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = s
        .parse()
        .map_err(|e| format!("`{s}` is not a duration like 120s or 3m: {e}"))?;
    if d < SignedDuration::from_secs(1) || d > SignedDuration::from_hours(1) {
        return Err("use 1s to 1h".into());
    }
    Ok(d)
}

impl DrillArgs {
    /// `--inventory FILE --dry-run`: the plan as text, or why (exit 2). `None`: not asked.
    pub fn dry_run(&self) -> Option<color_eyre::Result<Result<String, String>>> {
        let path = self.inventory.as_ref().filter(|_| self.dry_run)?;
        let inv = match crate::fleet::inventory::load(path) {
            Ok(inv) => inv,
            Err(e) => return Some(Err(e.into())),
        };
        let plan = crate::drill::dry_run::render(
            &inv,
            self.fault,
            &self.target,
            self.duration.as_secs(),
            self.force,
        );
        Some(Ok(plan.map_err(|r| r.to_string())))
    }

    fn spec(&self) -> DrillSpec {
        let target = match self.target.as_str() {
            "leader" => Target::Leader,
            node => Target::Node(node.to_string()),
        };
        DrillSpec {
            fault: self.fault,
            target,
            duration_ms: self.duration.as_millis() as i64,
            force: self.force,
        }
    }

    /// The drill on the lab, or why these flags ask for another.
    pub fn request(&self) -> Result<LabDrill, String> {
        if !self.lab {
            return Err(
                "say where to drill: `--lab` (the embedded lab) or `--inventory FILE` (a \
                 live cluster over SSH; `--dry-run` prints what it would run)"
                    .into(),
            );
        }
        Ok(LabDrill {
            config: self.topology.lab_config(),
            spec: self.spec(),
            yes: self.yes,
            json: self.json,
            report_dir: self.report_dir.clone(),
            real_etcd: self.real_etcd,
        })
    }

    /// `--inventory FILE` without `--dry-run`: the live drill. `None`: not asked.
    pub fn live(
        &self,
        kubeconfig: crate::live::Target,
        etcd: &EtcdSettings,
    ) -> Option<color_eyre::Result<LiveDrill>> {
        let path = self.inventory.as_ref().filter(|_| !self.dry_run)?;
        let inventory = match crate::fleet::inventory::load(path) {
            Ok(inv) => inv,
            Err(e) => return Some(Err(e.into())),
        };
        let ssh = SshOverrides {
            identity: etcd.ssh_identity.clone(),
            known_hosts: etcd.ssh_known_hosts.clone(),
            accept_new_host_keys: self.accept_new_host_keys,
        };
        // No way to etcd given: the inventory's masters over SSH, as `hatui --inventory`.
        let mut etcd = etcd.clone();
        let told = !etcd.etcd_endpoints.is_empty() || !etcd.etcd_ssh.is_empty() || etcd.etcd_exec;
        if !told && etcd.inventory_masters.is_empty() {
            let masters = inventory.control_planes();
            etcd.inventory_masters = masters.map(|h| inventory.ssh_target(h, &ssh)).collect();
        }
        Some(Ok(LiveDrill {
            cluster: LiveCluster {
                inventory,
                kubeconfig,
                etcd,
                ssh,
            },
            spec: self.spec(),
            yes: self.yes,
            json: self.json,
            report_dir: self.report_dir.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{Cli, Command};
    use crate::drill::{DrillFault, Target};

    fn drill(args: &[&str]) -> Result<super::DrillArgs, String> {
        let all = ["hatui", "drill"].into_iter().chain(args.iter().copied());
        match Cli::try_parse_from(all).map_err(|e| e.to_string())?.command {
            Some(Command::Drill(a)) => Ok(a),
            _ => Err("not drill".into()),
        }
    }

    #[test]
    fn flags_become_a_lab_drill_with_the_issues_defaults() {
        let a = drill(&["--lab", "--fault", "power", "--seed", "4", "--yes"]).unwrap();
        let r = a.request().unwrap();
        assert_eq!(r.spec.fault, DrillFault::Power);
        assert_eq!(r.spec.target, Target::Leader);
        assert_eq!(r.spec.duration_ms, 120_000);
        assert_eq!(r.config.seed, 4);
        assert!(r.yes && !r.json && !r.spec.force);
        assert_eq!(r.report_dir, std::path::PathBuf::from("./hatui-reports"));
        let a = drill(&[
            "--lab",
            "--fault",
            "etcd",
            "--target",
            "cp-2",
            "--duration",
            "3m",
        ]);
        let r = a.unwrap().request().unwrap();
        assert_eq!(r.spec.target, Target::Node("cp-2".into()));
        assert_eq!(r.spec.duration_ms, 180_000);
    }

    #[test]
    fn bad_flags_say_what_to_use() {
        let e = drill(&["--lab", "--fault", "reboot"]).unwrap_err();
        assert!(
            e.contains("kubelet, control-plane, etcd, network, shutdown or power"),
            "{e}"
        );
        let e = drill(&["--lab", "--fault", "power", "--duration", "soon"]).unwrap_err();
        assert!(e.contains("like 120s or 3m"), "{e}");
        let nowhere = drill(&["--fault", "power"]).unwrap().request().unwrap_err();
        assert!(nowhere.contains("`--inventory FILE`"), "{nowhere}");
    }
}
