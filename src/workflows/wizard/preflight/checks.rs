//! The preflight checks, on the facts each host gave. Names follow kubeadm's preflight
//! (`Swap`, `Port-6443`, `FileContent--proc-sys-net-ipv4-ip_forward`, `CRI`, `Hostname`,
//! `NumCPU`, `Mem`) where kubeadm has one; the rest are hatui's. Each failure says what to
//! run to fix it.

use serde::Serialize;

use super::facts::Facts;
use hatui_fleet::inventory::{Host, Inventory, Role};

/// One preflight rule: kubeadm's check name (or hatui's), what is wrong when it fails, and
/// what to run. `--preflight` checks these on a host's facts (with the numbers it found)
/// and the plan's preflight step runs them in shell on the host ([`step_script`]): one
/// rule set, one fix each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub problem: &'static str,
    pub fix: &'static str,
}

pub const SWAP: Rule = Rule {
    name: "Swap",
    problem: "swap is on (swapon lists a swap device): the kubelet refuses to start with it (failSwapOn is true by default)",
    fix: "swapoff -a && sed -i '/\\sswap\\s/ s/^/#/' /etc/fstab",
};
pub const IP_FORWARD: Rule = Rule {
    name: "FileContent--proc-sys-net-ipv4-ip_forward",
    problem: "/proc/sys/net/ipv4/ip_forward is not 1",
    fix: "echo net.ipv4.ip_forward=1 > /etc/sysctl.d/k8s.conf && sysctl --system",
};
pub const CRI: Rule = Rule {
    name: "CRI",
    problem: "the container runtime does not answer on the CRI socket",
    fix: "systemctl enable --now containerd",
};
/// kubeadm, kubelet and kubectl: each its own check, `Binary-<name>`.
pub const BINARIES: [&str; 3] = ["kubeadm", "kubelet", "kubectl"];
pub const BINARY_FIX: &str =
    "install kubeadm, kubelet and kubectl from pkgs.k8s.io (one minor version)";

/// The line the plan's preflight step prints for a rule that failed.
pub fn failure_line(name: &str, problem: &str, fix: &str) -> String {
    format!("hatui preflight: {problem} [{name}]; fix: {fix}")
}

/// The plan's preflight step on one host, POSIX sh (dash and bash): [`SWAP`],
/// [`IP_FORWARD`], each of [`BINARIES`] on its own (`command -v a b` succeeds when `a`
/// alone is found), and [`CRI`] (containerd running and crictl answering on
/// `cri_socket`; crictl through `sudo -n` when `sudo`). Every rule runs, so one pass names
/// every problem, one [`failure_line`] each; it exits 1 when any failed.
pub fn step_script(cri_socket: &str, sudo: bool) -> String {
    let mut s = String::from("fail=0");
    let mut rule = |test: &str, name: &str, problem: &str, fix: &str| {
        let line = hatui_fleet::ssh::shell_quote(&failure_line(name, problem, fix));
        s.push_str(&format!("; {test} || {{ printf '%s\\n' {line}; fail=1; }}"));
    };
    rule(
        "[ -z \"$(swapon --noheadings)\" ]",
        SWAP.name,
        SWAP.problem,
        SWAP.fix,
    );
    rule(
        "[ \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 ]",
        IP_FORWARD.name,
        IP_FORWARD.problem,
        IP_FORWARD.fix,
    );
    for bin in BINARIES {
        rule(
            &format!("command -v {bin} >/dev/null"),
            &format!("Binary-{bin}"),
            &format!("{bin} is not on the PATH"),
            BINARY_FIX,
        );
    }
    let sudo = if sudo { "sudo -n " } else { "" };
    rule(
        &format!(
            "{{ systemctl is-active --quiet containerd && {sudo}crictl --runtime-endpoint {cri_socket} info >/dev/null; }}"
        ),
        CRI.name,
        CRI.problem,
        CRI.fix,
    );
    s.push_str("; exit $fail");
    s
}

/// kubeadm's minimum for a control plane (`ControlPlaneNumCPU`).
const MIN_CPUS: u64 = 2;
/// kubeadm's minimum memory for a control plane, in MB (`ControlPlaneMem`).
const MIN_MEM_MB: u64 = 1700;
/// More clock skew than this breaks certificates' not-before and etcd's leases.
const MAX_SKEW_S: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What to run on the host, for a failure.
    pub fix: Option<String>,
}

fn pass(name: &str, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn check(name: &str, ok: bool, good: &str, bad: String, fix: &str) -> Check {
    if ok {
        pass(name, good)
    } else {
        fail(name, bad, fix)
    }
}

/// The checks one host's facts answer by themselves; `now` is the bastion's clock.
pub fn host_checks(inv: &Inventory, host: &Host, f: &Facts, now: i64) -> Vec<Check> {
    let master = host.role == Role::ControlPlane;
    let mut out = Vec::new();
    let swap = f.number("swap").unwrap_or(0);
    out.push(check(
        SWAP.name,
        swap == 0,
        "no swap",
        format!("{swap} swap device(s) on: the kubelet refuses to start with swap on"),
        SWAP.fix,
    ));
    let mut ports = vec![10250];
    if master {
        ports.extend([6443, 2379, 2380, 10257, 10259]);
    }
    ports.sort_unstable();
    for port in ports {
        out.push(check(
            &format!("Port-{port}"),
            !f.listening(port),
            "free",
            format!("Port {port} is in use"),
            &format!("ss -ltnp 'sport = :{port}'  # then stop what listens there"),
        ));
    }
    let fwd = f.get("ip_forward");
    out.push(check(
        IP_FORWARD.name,
        fwd == "1",
        "1",
        format!("/proc/sys/net/ipv4/ip_forward contents are not set to 1 (it is {fwd:?})"),
        IP_FORWARD.fix,
    ));
    out.push(check(
        CRI.name,
        f.get("cri") == "ok",
        "the container runtime answers",
        format!(
            "the container runtime at {} does not answer",
            inv.cri_socket
        ),
        CRI.fix,
    ));
    out.push(hostname(f));
    if master {
        let cpus = f.number("nproc").unwrap_or(0);
        out.push(check(
            "NumCPU",
            cpus >= MIN_CPUS,
            &format!("{cpus} CPUs"),
            format!("the number of available CPUs {cpus} is less than the required {MIN_CPUS}"),
            "give the machine at least 2 CPUs",
        ));
        let mb = f.number("mem_kb").unwrap_or(0) / 1024;
        out.push(check(
            "Mem",
            mb >= MIN_MEM_MB,
            &format!("{mb} MB"),
            format!("the system RAM ({mb} MB) is less than the minimum {MIN_MEM_MB} MB"),
            "give the machine at least 2 GB of memory",
        ));
    }
    for bin in BINARIES {
        out.push(check(
            &format!("Binary-{bin}"),
            f.get(&format!("bin_{bin}")) == "yes",
            "installed",
            format!("{bin} is not on the PATH"),
            BINARY_FIX,
        ));
    }
    out.push(versions(f));
    out.push(check(
        "Service-Kubelet",
        f.get("kubelet_enabled") == "enabled",
        "enabled",
        "kubelet service is not enabled".into(),
        "systemctl enable kubelet.service",
    ));
    for m in ["br_netfilter", "overlay"] {
        out.push(check(
            &format!("Module-{m}"),
            f.get(&format!("mod_{m}")) == "yes",
            "loaded",
            format!("kernel module {m} is not loaded"),
            &format!("modprobe {m} && echo {m} >> /etc/modules-load.d/k8s.conf"),
        ));
    }
    let cgroup = f.get("systemd_cgroup");
    out.push(check(
        "Cgroup-driver",
        cgroup.parse::<u32>().is_ok_and(|n| n > 0),
        "containerd uses the systemd cgroup driver",
        "containerd does not set SystemdCgroup = true: the kubelet (systemd driver) and containerd would disagree".into(),
        "containerd config default > /etc/containerd/config.toml && sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml && systemctl restart containerd",
    ));
    let skew = f.number("now").map(|t| i64::try_from(t).unwrap_or(0) - now);
    out.push(check(
        "Clock-sync",
        skew.is_some_and(|s| s.abs() <= MAX_SKEW_S),
        "within 5 s of the bastion",
        match skew {
            Some(s) => format!("the clock is {s:+} s off the bastion's"),
            None => "the clock could not be read".into(),
        },
        "timedatectl set-ntp true",
    ));
    let endpoint = &inv.endpoint.host;
    out.push(check(
        "Endpoint-resolves",
        endpoint.parse::<std::net::IpAddr>().is_ok() || !f.get("endpoint_ip").is_empty(),
        &format!("{endpoint} resolves"),
        format!("{endpoint} does not resolve on this host"),
        &format!("add {endpoint} to DNS (or /etc/hosts) pointing at the load balancer"),
    ));
    out
}

/// kubeadm: the hostname must be a lowercase RFC 1123 name.
fn hostname(f: &Facts) -> Check {
    let name = f.get("hostname");
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !name.starts_with('-');
    check(
        "Hostname",
        valid,
        name,
        format!("hostname \"{name}\" is not a valid lowercase RFC 1123 name"),
        "hostnamectl set-hostname <lowercase-name>",
    )
}

fn versions(f: &Facts) -> Check {
    let all = ["v_kubeadm", "v_kubelet", "v_kubectl"].map(|k| f.version(k));
    let shown: Vec<String> = ["kubeadm", "kubelet", "kubectl"]
        .iter()
        .zip(&all)
        .map(|(b, v)| format!("{b} {}", v.as_deref().unwrap_or("?")))
        .collect();
    let minor = |v: &Option<String>| {
        v.as_ref()
            .map(|v| v.split('.').take(2).collect::<Vec<_>>().join("."))
    };
    let same = all.iter().all(|v| v.is_some()) && all.iter().all(|v| minor(v) == minor(&all[0]));
    check(
        "Versions-match",
        same,
        &shown.join(", "),
        format!(
            "{}: install one minor version of all three",
            shown.join(", ")
        ),
        "apt-get install -y kubeadm=<v> kubelet=<v> kubectl=<v> && apt-mark hold kubeadm kubelet kubectl",
    )
}

/// Checks across hosts: names and product_uuids must be unique (kubeadm's install guide).
pub fn cross_checks(hosts: &[(&Host, &Facts)]) -> Vec<Vec<Check>> {
    hosts
        .iter()
        .map(|(host, f)| {
            let same = |key: &str| -> Vec<String> {
                let mine = f.get(key);
                let others = hosts
                    .iter()
                    .filter(|(h, o)| h.name != host.name && o.get(key) == mine);
                others.map(|(h, _)| h.name.clone()).collect()
            };
            let name = f.get("hostname");
            let twins = same("hostname");
            let uuid = f.get("product_uuid");
            let uuid_twins = same("product_uuid");
            vec![
                check(
                    "Unique-hostname",
                    twins.is_empty(),
                    name,
                    format!("hostname {name} is also {}'s", twins.join(", ")),
                    "hostnamectl set-hostname <a name of its own>",
                ),
                if uuid.is_empty() {
                    fail(
                        "Unique-product_uuid",
                        "/sys/class/dmi/id/product_uuid cannot be read",
                        "run preflight as root (sudo = true in [ssh]) so the uuid can be read",
                    )
                } else {
                    check(
                        "Unique-product_uuid",
                        uuid_twins.is_empty(),
                        uuid,
                        format!(
                            "product_uuid is also {}'s (a cloned VM?)",
                            uuid_twins.join(", ")
                        ),
                        "give the VM a new SMBIOS uuid (cloned machines share it)",
                    )
                },
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hatui_fleet::inventory::parse;

    fn inv() -> Inventory {
        let text = crate::wizard::lab::inventory_toml(2, 1);
        parse("lab.toml", &text).unwrap()
    }

    fn facts(text: &str) -> Facts {
        Facts::parse(text)
    }

    const GOOD: &str = "hostname=cp-1\nnow=1000\nnproc=2\nmem_kb=4000000\nswap=0\nip_forward=1\n\
        listening=22\nbin_kubeadm=yes\nbin_kubelet=yes\nbin_kubectl=yes\nv_kubeadm=v1.33.2\n\
        v_kubelet=Kubernetes v1.33.2\nv_kubectl=Client Version: v1.33.2\ncri=ok\n\
        kubelet_enabled=enabled\nmod_br_netfilter=yes\nmod_overlay=yes\nsystemd_cgroup=1\n\
        product_uuid=u1\nendpoint_ip=10.0.0.100\n";

    fn failed(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn a_prepared_master_passes_and_each_problem_fails_its_own_check() {
        let inv = inv();
        let master = &inv.hosts[0];
        assert_eq!(
            failed(&host_checks(&inv, master, &facts(GOOD), 1000)),
            Vec::<&str>::new()
        );
        let bad = GOOD
            .replace("listening=22", "listening=22 2379")
            .replace(
                "v_kubelet=Kubernetes v1.33.2",
                "v_kubelet=Kubernetes v1.32.0",
            )
            .replace("nproc=2", "nproc=1")
            .replace("now=1000", "now=1100");
        let checks = host_checks(&inv, master, &facts(&bad), 1000);
        assert_eq!(
            failed(&checks),
            ["Port-2379", "NumCPU", "Versions-match", "Clock-sync"]
        );
        let cpus = checks.iter().find(|c| c.name == "NumCPU").unwrap();
        assert_eq!(
            cpus.detail,
            "the number of available CPUs 1 is less than the required 2"
        );
    }

    #[test]
    fn two_hosts_with_one_name_or_one_uuid_both_fail() {
        let inv = inv();
        let a = facts(GOOD);
        let b = facts(&GOOD.replace("product_uuid=u1", "product_uuid=u2"));
        let c = facts(&GOOD.replace("hostname=cp-1", "hostname=worker-1"));
        let hosts = [
            (&inv.hosts[0], &a),
            (&inv.hosts[1], &b),
            (&inv.hosts[2], &c),
        ];
        let cross = cross_checks(&hosts);
        assert_eq!(
            failed(&cross[0]),
            ["Unique-hostname", "Unique-product_uuid"]
        );
        assert_eq!(failed(&cross[1]), ["Unique-hostname"]);
        assert_eq!(failed(&cross[2]), ["Unique-product_uuid"]);
    }
}
