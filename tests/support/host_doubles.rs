//! A prepared kubeadm host as test doubles on its sshd's `PATH` (`SetEnv PATH=...`): what
//! preflight asks answers as on a host ready for `kubeadm init` or `join`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub fn double(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A prepared host: kubeadm, kubelet and kubectl at v1.33.2, containerd with the systemd
/// cgroup driver, the modules loaded, IP forwarding on, the kubelet enabled.
pub fn prepared_host(dir: &Path, name: &str, uuid: &str, swap: bool) -> PathBuf {
    let bin = dir.join(name);
    std::fs::create_dir_all(&bin).unwrap();
    double(&bin, "hostname", &format!("echo {name}"));
    double(&bin, "kubeadm", "echo v1.33.2");
    double(&bin, "kubelet", "echo Kubernetes v1.33.2");
    double(&bin, "kubectl", "echo 'Client Version: v1.33.2'");
    double(&bin, "crictl", "exit 0");
    double(&bin, "systemctl", "echo enabled");
    double(&bin, "sysctl", "echo 1");
    double(
        &bin,
        "lsmod",
        "printf 'br_netfilter 32768 0\\noverlay 151552 0\\n'",
    );
    double(
        &bin,
        "containerd",
        "echo '            SystemdCgroup = true'",
    );
    double(&bin, "getent", "echo \"10.0.0.100 $2\"");
    let swapon = if swap {
        "echo '/swap.img file 2G 0B -2'"
    } else {
        "exit 0"
    };
    double(&bin, "swapon", swapon);
    double(
        &bin,
        "cat",
        &format!(
            "if [ \"$1\" = /sys/class/dmi/id/product_uuid ]; then echo {uuid}; else exec /bin/cat \"$@\"; fi"
        ),
    );
    bin
}

/// The sshd_config line that puts `bin` first on the host's PATH.
pub fn path_line(bin: &Path) -> String {
    format!(
        "SetEnv PATH={}:/usr/sbin:/usr/bin:/sbin:/bin",
        bin.display()
    )
}
