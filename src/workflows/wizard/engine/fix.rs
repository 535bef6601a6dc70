//! The fixes the wizard offers for a failed step: what is wrong in a sentence or two, and
//! the exact commands that fix it. The engine runs them when the operator says so (or
//! `--yes`), then runs the step again.

use super::Engine;
use crate::wizard::command::Command;
use crate::wizard::exec::{Executor, RunEvent};
use crate::wizard::plan::{Site, StepKind};
use hatui_fleet::inventory::LoadBalancer;
use hatui_fleet::scrub::scrub;

/// The host name of fix commands run against the load balancer itself (the HAProxy
/// machine, or the AWS CLI for an NLB), which is not one of the inventory's hosts.
pub const LOAD_BALANCER: &str = "load-balancer";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// What is wrong, and what the commands do about it.
    pub what: String,
    /// Run in order; the first that fails stops the fix.
    pub commands: Vec<Command>,
}

impl Fix {
    /// `host: command`, one per command.
    pub fn shown(&self) -> Vec<String> {
        let shown = self.commands.iter();
        shown
            .map(|c| format!("{}: {}", c.host, c.shown()))
            .collect()
    }
}

/// The fix for a command of a `kind` step that failed on `host`, from its raw output.
pub fn diagnose(kind: StepKind, host: &str, output: &[String], site: &Site) -> Option<Fix> {
    let said = |s: &str| output.iter().any(|l| l.contains(s));
    match kind {
        StepKind::Preflight if said("swap is on") => Some(swap_off(host)),
        StepKind::Init if said("could not bootstrap the admin user") => {
            Some(register_targets(host, site))
        }
        _ => None,
    }
}

fn swap_off(host: &str) -> Fix {
    Fix {
        what: format!(
            "swap is on on {host}: kubeadm only warns ([WARNING Swap]), but the kubelet then \
             refuses to start (\"running with swap on is not supported, please disable swap or \
             set --fail-swap-on flag to false\") and the join times out. The fix turns swap off \
             now and comments its line out of /etc/fstab (a copy is kept in /etc/fstab.bak) so \
             that it stays off after a reboot."
        ),
        commands: vec![Command::root(
            host,
            "swapoff -a && sed -i.bak -E 's|^([^#].*[[:space:]]swap[[:space:]].*)$|#\\1|' /etc/fstab",
        )],
    }
}

fn register_targets(first: &str, site: &Site) -> Fix {
    let ep = &site.endpoint;
    let masters = &site.masters;
    let reset = Command::root(first, "kubeadm reset -f");
    let (how, mut commands) = match site.load_balancer {
        LoadBalancer::Nlb => {
            let targets: Vec<String> = masters
                .iter()
                .map(|(_, a)| format!("Id={a},Port=6443"))
                .collect();
            (
                "register every master as a target of the NLB's target group (target type ip, \
                 TCP 6443, health check TCP 6443; set TARGET_GROUP_ARN first)",
                vec![Command {
                    root: false,
                    ..Command::root(
                        LOAD_BALANCER,
                        format!(
                            "aws elbv2 register-targets --target-group-arn \"$TARGET_GROUP_ARN\" --targets {}",
                            targets.join(" ")
                        ),
                    )
                }],
            )
        }
        LoadBalancer::Haproxy => {
            let servers: Vec<String> = masters
                .iter()
                .map(|(n, a)| format!("    server {n} {a}:6443 check check-ssl verify none"))
                .collect();
            (
                "add every master as a server of the apiserver backend (`backend apiserverbackend`, the last section of \
                 haproxy.cfg in kubeadm's HA guide, checked with GET /healthz over TLS) and \
                 reload HAProxy",
                vec![Command::root(
                    LOAD_BALANCER,
                    format!(
                        "printf '{}\\n' >> /etc/haproxy/haproxy.cfg && systemctl reload haproxy",
                        servers.join("\\n")
                    ),
                )],
            )
        }
        LoadBalancer::KubeVip => (
            "make kube-vip hold the VIP: its static pod on the first master must use \
             /etc/kubernetes/super-admin.conf during init (since 1.29)",
            Vec::new(),
        ),
    };
    commands.push(reset);
    Fix {
        what: format!(
            "the control plane runs on {first}, but nothing answers through {ep}: the load \
             balancer forwards to no master yet, so init could not use the API through it. \
             Fix: {how}; then `kubeadm reset -f` undoes the half-done init on {first} and \
             init runs again."
        ),
        commands,
    }
}

impl Engine {
    /// Runs the fix of the step the engine stopped on, then that step again. Returns the
    /// indices of the reports that changed; nothing when there is no fix to run.
    pub fn run_fix(&mut self, exec: &mut dyn Executor) -> Vec<usize> {
        let Some(i) = self.failed_step() else {
            return Vec::new();
        };
        let Some(fix) = self.reports[i].fix.take() else {
            return Vec::new();
        };
        for c in &fix.commands {
            let id = exec.start(&c.host, &c.shown());
            let code = loop {
                let mut exited = None;
                for ev in exec.wait(std::time::Duration::from_secs(3600)) {
                    match ev {
                        RunEvent::Line(r, line) if r == id => {
                            let shown = scrub(&line);
                            if let Some(f) = self.on_line.as_mut() {
                                f(&self.reports[i].id, &shown);
                            }
                            self.reports[i].output.push(shown);
                        }
                        RunEvent::Exited(r, code) if r == id => exited = Some(code),
                        _ => {}
                    }
                }
                if let Some(code) = exited {
                    break code;
                }
            };
            if code != 0 {
                let r = &mut self.reports[i];
                r.notes.push(format!(
                    "the fix failed on {} (exit code {code}): {}",
                    c.host,
                    c.shown()
                ));
                r.fix = Some(fix);
                return vec![i];
            }
        }
        let r = &mut self.reports[i];
        let mut hosts: Vec<&str> = fix.commands.iter().map(|c| c.host.as_str()).collect();
        hosts.dedup();
        r.notes
            .push(format!("the fix ran on {}: trying again", hosts.join(", ")));
        r.fixed = Some(fix);
        self.retry();
        let mut changed = self.run_next(exec);
        if !changed.contains(&i) {
            changed.insert(0, i);
        }
        changed
    }
}
