//! The drill's six faults: what each runs on a real host, how it is undone, what a real
//! cluster does about it, and the lab fault that behaves the same way.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use hatui_fleet::ssh::shell_quote;
use hatui_model::FaultKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillFault {
    /// `systemctl stop kubelet`: only heartbeats stop.
    Kubelet,
    /// The control plane's four static-pod manifests moved out of
    /// `/etc/kubernetes/manifests` (a `kube-vip.yaml` beside them stays).
    ControlPlane,
    /// `crictl stop` of etcd's container alone.
    Etcd,
    /// iptables DROP of 2379, 2380 and 6443 from the other masters.
    Network,
    /// `systemctl poweroff`: a clean shutdown (SIGTERM to everything).
    Shutdown,
    /// A power cut: `systemctl poweroff --force --force` (no unit is stopped, nothing gets
    /// SIGTERM). The inventory has no field for a hypervisor's or cloud's stop, so this is
    /// the command.
    Power,
}

/// The control plane's static pods as kubeadm writes them; anything else in the directory
/// (kube-vip's `kube-vip.yaml`) is not the control plane's and stays.
pub const CONTROL_PLANE_MANIFESTS: [&str; 4] = [
    "etcd.yaml",
    "kube-apiserver.yaml",
    "kube-controller-manager.yaml",
    "kube-scheduler.yaml",
];
const MANIFESTS: &str = "/etc/kubernetes/manifests";
const PARKED: &str = "/etc/kubernetes/manifests.hatui-drill";

/// `mv` of the four control-plane manifests from `from` into `to`.
fn move_manifests(from: &str, to: &str) -> String {
    let files: Vec<String> = CONTROL_PLANE_MANIFESTS
        .iter()
        .map(|f| format!("{from}/{f}"))
        .collect();
    format!("mv {} {to}/", files.join(" "))
}

/// The iptables rules that cut a master off its peers on etcd's and the API's ports, both
/// ways; `op` is `-I` to add them, `-D` to delete them.
fn cut(op: &str, others: &[String]) -> Vec<String> {
    let ips = if others.is_empty() {
        "<the other masters' IPs>".to_string()
    } else {
        others.join(",")
    };
    let ports = "-p tcp -m multiport --dports 2379,2380,6443 -j DROP";
    vec![
        format!("iptables {op} INPUT -s {ips} {ports}"),
        format!("iptables {op} OUTPUT -d {ips} {ports}"),
    ]
}

impl DrillFault {
    pub const ALL: [DrillFault; 6] = [
        Self::Kubelet,
        Self::ControlPlane,
        Self::Etcd,
        Self::Network,
        Self::Shutdown,
        Self::Power,
    ];

    /// The `--fault` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kubelet => "kubelet",
            Self::ControlPlane => "control-plane",
            Self::Etcd => "etcd",
            Self::Network => "network",
            Self::Shutdown => "shutdown",
            Self::Power => "power",
        }
    }

    /// What the drill is called in its title and report: "power cut of cp-1".
    pub fn headline(self, target: &str) -> String {
        match self {
            Self::Kubelet => format!("kubelet stop on {target}"),
            Self::ControlPlane => format!("control-plane stop on {target}"),
            Self::Etcd => format!("etcd stop on {target}"),
            Self::Network => format!("network cut of {target}"),
            Self::Shutdown => format!("clean shutdown of {target}"),
            Self::Power => format!("power cut of {target}"),
        }
    }

    /// The host goes off: nothing on it can restore it, nor run a dead man's switch.
    pub fn powers_off(self) -> bool {
        matches!(self, Self::Shutdown | Self::Power)
    }

    /// The lab fault that behaves as this one does on a real host.
    pub fn lab_kind(self) -> FaultKind {
        match self {
            Self::Kubelet => FaultKind::StopKubelet,
            Self::ControlPlane => FaultKind::StopControlPlane,
            Self::Etcd => FaultKind::StopEtcd,
            Self::Network => FaultKind::Partition,
            Self::Shutdown => FaultKind::Shutdown,
            Self::Power => FaultKind::PowerOff,
        }
    }

    /// Whether the fault takes the target's etcd member out of the quorum.
    pub fn takes_etcd_member(self) -> bool {
        self != Self::Kubelet
    }

    /// Whether it makes sense only on a control-plane node.
    pub fn needs_master(self) -> bool {
        matches!(self, Self::ControlPlane | Self::Etcd | Self::Network)
    }

    /// Exactly what it runs on the target, as root; `others`: the other masters' IPs.
    pub fn commands(self, others: &[String]) -> Vec<String> {
        let lines: Vec<String> = match self {
            Self::Kubelet => vec!["systemctl stop kubelet".into()],
            // Only the control plane's four: a kube-vip.yaml beside them is the VIP's.
            Self::ControlPlane => vec![
                format!("mkdir -p {PARKED}"),
                move_manifests(MANIFESTS, PARKED),
            ],
            Self::Etcd => {
                // `--timeout`: crictl's default is 0, and containerd's CRI then sends SIGKILL
                // at once (`internal/cri/server/container_stop.go`: the stop signal only when
                // timeout > 0): no leadership handover. With one etcd gets SIGTERM first.
                vec![
                    "crictl stop --timeout 30 $(crictl ps --name '^etcd$' --state running -q)"
                        .into(),
                ]
            }
            Self::Network => cut("-I", others),
            Self::Shutdown => vec!["systemctl poweroff".into()],
            // Twice --force: no unit is stopped, no process signalled, the kernel powers off
            // at once: as near a cut as anything run on the host gets.
            Self::Power => vec!["systemctl poweroff --force --force".into()],
        };
        lines
    }

    /// How the drill undoes it.
    pub fn restore_commands(self, others: &[String]) -> Vec<String> {
        match self {
            Self::Kubelet => vec!["systemctl start kubelet".into()],
            Self::ControlPlane => {
                vec![move_manifests(PARKED, MANIFESTS), format!("rmdir {PARKED}")]
            }
            // The kubelet starts it again after its crash back-off; restarting the kubelet
            // forgets the back-off and starts it at once.
            Self::Etcd => vec!["systemctl restart kubelet".into()],
            Self::Network => cut("-D", others),
            Self::Shutdown | Self::Power => vec![
                "Power it on from the console, the hypervisor or the cloud (e.g. aws ec2 \
                 start-instances --instance-ids <id>): nothing on a host that is off can run, \
                 and it is back only once it has booted."
                    .into(),
            ],
        }
    }

    /// On a real host, a dead man's switch armed with the fault: should the drill die (or
    /// lose the host) before its restore, the host restores itself `after_s` seconds
    /// later. Returns the command that arms it and the one that disarms it (the restore
    /// runs it first). `None` for a shutdown or power cut: nothing on a host that is off
    /// can run.
    /// `dir`: where on the host the switch's pid file goes (the inventory's
    /// `drill_state_dir`).
    pub fn guard(
        self,
        target: &str,
        others: &[String],
        after_s: i64,
        dir: &str,
    ) -> Option<(String, String)> {
        if self.powers_off() {
            return None;
        }
        let pid = format!("{}/hatui-drill-{target}.pid", dir.trim_end_matches('/'));
        let mut undo = self.restore_commands(others);
        undo.push(format!("rm -f {pid}"));
        let script = format!("sleep {after_s}; {}", undo.join("; "));
        let arm = format!(
            "nohup sh -c {} >/dev/null 2>&1 & echo $! > {pid}",
            shell_quote(&script)
        );
        let disarm = format!("kill $(cat {pid}) 2>/dev/null; rm -f {pid}");
        Some((arm, disarm))
    }

    /// What a real cluster will do, in one sentence.
    pub fn expectation(self) -> &'static str {
        match self {
            Self::Kubelet => {
                "The control plane keeps running under containerd; only the node goes NotReady \
                 after the grace period (40 s; 50 s from v1.32) and its pods are marked not \
                 ready: this proves \
                 nothing about failover."
            }
            Self::ControlPlane => {
                "Only the four control-plane manifests move (a kube-vip.yaml beside them stays): \
                 the kubelet's inotify watch sees it within about a second and stops apiserver, \
                 etcd, scheduler and controller-manager cleanly: etcd hands its leadership over, \
                 the scheduler releases its lease, the controller-manager's lease expires 15 s \
                 later."
            }
            Self::Etcd => {
                "etcd stops cleanly (SIGTERM) and hands its leadership over; the apiserver on \
                 this master keeps listening but cannot serve until the kubelet starts etcd again."
            }
            Self::Network => {
                "The master is cut off like a partition: the majority elects a new etcd leader \
                 after an election timeout, this apiserver loses etcd, and a load balancer that \
                 only checks TCP keeps sending it requests."
            }
            Self::Shutdown => {
                "A clean shutdown: systemd stops every unit and SIGTERMs what is left, so etcd \
                 hands its leadership over (tens of ms), the scheduler releases its lease \
                 (taken within a retry, 2-4.4 s), the controller-manager's lease expires \
                 15 s after its last renewal; bringing it back needs the operator or the cloud, \
                 then its boot."
            }
            Self::Power => {
                "A power cut (systemctl poweroff --force --force: the inventory names no \
                 hypervisor or cloud stop): everything on the master dies at once, etcd elects \
                 after an election timeout (1-2 s), the leases are taken over 15 to ~24 s \
                 after their last renewal (leaseDuration from when another copy saw it, then \
                 a jittered retry); bringing it back needs the operator or the cloud, then \
                 its boot."
            }
        }
    }
}

impl fmt::Display for DrillFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DrillFault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a drill fault: use kubelet, control-plane, etcd, network, \
                     shutdown or power"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_their_names_and_say_what_they_run() {
        for f in DrillFault::ALL {
            assert_eq!(f.name().parse::<DrillFault>(), Ok(f));
            assert!(!f.commands(&[]).is_empty() && !f.restore_commands(&[]).is_empty());
        }
        assert!(
            "reboot"
                .parse::<DrillFault>()
                .unwrap_err()
                .contains("control-plane")
        );
        assert_eq!(
            DrillFault::Kubelet.commands(&[]),
            ["systemctl stop kubelet"]
        );
        let others = ["10.0.0.12".to_string(), "10.0.0.13".to_string()];
        assert_eq!(
            DrillFault::Network.commands(&others),
            [
                "iptables -I INPUT -s 10.0.0.12,10.0.0.13 -p tcp -m multiport --dports \
                 2379,2380,6443 -j DROP",
                "iptables -I OUTPUT -d 10.0.0.12,10.0.0.13 -p tcp -m multiport --dports \
                 2379,2380,6443 -j DROP"
            ]
        );
        let undo = DrillFault::Network.restore_commands(&others);
        assert!(
            undo.iter().all(|c| c.starts_with("iptables -D ")),
            "{undo:?}"
        );
        assert!(
            DrillFault::Kubelet
                .expectation()
                .contains("proves nothing about failover")
        );
        assert!(
            DrillFault::Power
                .expectation()
                .contains("the operator or the cloud")
        );
    }

    #[test]
    fn the_guard_restores_after_the_delay_unless_disarmed_and_a_power_off_has_none() {
        let (arm, disarm) = DrillFault::Kubelet.guard("cp-1", &[], 135, "/run").unwrap();
        assert_eq!(
            arm,
            "nohup sh -c 'sleep 135; systemctl start kubelet; rm -f /run/hatui-drill-cp-1.pid' \
             >/dev/null 2>&1 & echo $! > /run/hatui-drill-cp-1.pid"
        );
        assert_eq!(
            disarm,
            "kill $(cat /run/hatui-drill-cp-1.pid) 2>/dev/null; rm -f /run/hatui-drill-cp-1.pid"
        );
        assert!(DrillFault::Power.guard("cp-1", &[], 135, "/run").is_none());
        assert!(
            DrillFault::Shutdown
                .guard("cp-1", &[], 135, "/run")
                .is_none()
        );
        let (arm, _) = DrillFault::Kubelet
            .guard("cp-1", &[], 135, "/var/lib/hatui/")
            .unwrap();
        assert!(
            arm.ends_with("echo $! > /var/lib/hatui/hatui-drill-cp-1.pid"),
            "{arm}"
        );
    }

    /// `systemctl poweroff` is a clean shutdown; the power cut is twice --force.
    #[test]
    fn a_shutdown_is_clean_and_a_power_cut_is_not() {
        assert_eq!(DrillFault::Shutdown.commands(&[]), ["systemctl poweroff"]);
        assert_eq!(
            DrillFault::Power.commands(&[]),
            ["systemctl poweroff --force --force"]
        );
        assert_eq!(DrillFault::Power.headline("cp-1"), "power cut of cp-1");
        assert_eq!(
            DrillFault::Shutdown.headline("cp-1"),
            "clean shutdown of cp-1"
        );
        assert_eq!(DrillFault::Shutdown.lab_kind(), FaultKind::Shutdown);
        assert_eq!(DrillFault::Power.lab_kind(), FaultKind::PowerOff);
        assert!(
            DrillFault::Shutdown
                .expectation()
                .contains("hands its leadership over")
        );
        for f in [DrillFault::Shutdown, DrillFault::Power] {
            let restore = f.restore_commands(&[]);
            let [line] = restore.as_slice() else {
                panic!("{restore:?}")
            };
            assert!(
                line.starts_with("Power it on") && line.ends_with('.'),
                "{line}"
            );
        }
    }

    /// Only etcd's, the apiserver's, the controller-manager's and the scheduler's manifests
    /// move: a kube-vip.yaml beside them is the VIP's.
    #[test]
    fn the_control_plane_fault_moves_only_the_four_manifests() {
        let m = "/etc/kubernetes/manifests";
        let p = "/etc/kubernetes/manifests.hatui-drill";
        assert_eq!(
            DrillFault::ControlPlane.commands(&[]),
            [
                format!("mkdir -p {p}"),
                format!(
                    "mv {m}/etcd.yaml {m}/kube-apiserver.yaml {m}/kube-controller-manager.yaml \
                     {m}/kube-scheduler.yaml {p}/"
                )
            ]
        );
        let undo = DrillFault::ControlPlane.restore_commands(&[]);
        assert!(undo.iter().all(|c| !c.contains('*')), "{undo:?}");
        assert!(
            DrillFault::ControlPlane
                .expectation()
                .contains("within about a second")
        );
    }
}
