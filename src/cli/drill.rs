//! `hatui drill`: the failover drill's flags, turned into plain settings.

use std::path::PathBuf;

use clap::Args;
use jiff::SignedDuration;

use crate::drill::headless::{DEFAULT_REPORT_DIR, LabDrill};
use crate::drill::{DrillFault, DrillSpec, Target};

use super::Topology;

#[derive(Debug, Clone, Args)]
pub struct DrillArgs {
    /// Drill on the embedded lab, on its virtual clock (live drills over SSH: not yet).
    #[arg(long, conflicts_with = "inventory")]
    pub lab: bool,
    /// The real cluster's hosts (the wizard's inventory): with --dry-run, print what the
    /// drill would run on the target over SSH and how it would restore it.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// With --inventory: print the fault and restore commands; run nothing.
    #[arg(long, requires = "inventory")]
    pub dry_run: bool,
    #[command(flatten)]
    pub topology: Topology,
    /// kubelet (systemctl stop kubelet), control-plane (manifests moved away), etcd (crictl
    /// stop of its container), network (iptables DROP of 2379/2380/6443 from the other
    /// masters) or power (systemctl poweroff).
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

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
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
        let inv = match crate::wizard::inventory::load(path) {
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

    /// The drill to run, or why these flags ask for something not built.
    pub fn request(&self) -> Result<LabDrill, String> {
        if !self.lab {
            return Err(
                "live drills over SSH are not built yet: use `hatui drill --lab` to \
                        drill on the embedded lab, or `--inventory FILE --dry-run` for the \
                        commands a live drill would run"
                    .into(),
            );
        }
        let target = match self.target.as_str() {
            "leader" => Target::Leader,
            node => Target::Node(node.to_string()),
        };
        Ok(LabDrill {
            config: self.topology.lab_config(),
            spec: DrillSpec {
                fault: self.fault,
                target,
                duration_ms: self.duration.as_millis() as i64,
                force: self.force,
            },
            yes: self.yes,
            json: self.json,
            report_dir: self.report_dir.clone(),
        })
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
            e.contains("kubelet, control-plane, etcd, network or power"),
            "{e}"
        );
        let e = drill(&["--lab", "--fault", "power", "--duration", "soon"]).unwrap_err();
        assert!(e.contains("like 120s or 3m"), "{e}");
        let live = drill(&["--fault", "power"]).unwrap().request().unwrap_err();
        assert!(live.contains("hatui drill --lab"), "{live}");
    }
}
