//! What preflight needs to know of a host, gathered by one shell script in one SSH round
//! trip (50 hosts cost one connection each, not one per check), printed as `key=value`
//! lines and parsed here. The checks themselves run on the bastion (`checks.rs`).

use std::collections::HashMap;

/// POSIX sh. `$1` is the CRI socket, `$2` the endpoint's host. Every probe tolerates a
/// missing tool: its key is then empty or `missing`.
pub const SCRIPT: &str = r#"
have() { command -v "$1" >/dev/null 2>&1; }
echo "hostname=$(hostname 2>/dev/null)"
echo "now=$(date +%s)"
echo "nproc=$(nproc 2>/dev/null)"
echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "swap=$(swapon --noheadings 2>/dev/null | wc -l)"
echo "ip_forward=$(sysctl -n net.ipv4.ip_forward 2>/dev/null)"
echo "listening=$(ss -Htln 2>/dev/null | awk '{n=split($4,a,":"); printf "%s ", a[n]}')"
for b in kubeadm kubelet kubectl crictl; do
  if have "$b"; then echo "bin_$b=yes"; else echo "bin_$b=missing"; fi
done
have kubeadm && echo "v_kubeadm=$(kubeadm version -o short 2>/dev/null)"
have kubelet && echo "v_kubelet=$(kubelet --version 2>/dev/null)"
have kubectl && echo "v_kubectl=$(kubectl version --client 2>/dev/null | head -n 1)"
if have crictl && crictl --runtime-endpoint "$1" info >/dev/null 2>&1; then echo "cri=ok"; else echo "cri=down"; fi
echo "kubelet_enabled=$(systemctl is-enabled kubelet 2>/dev/null)"
for m in br_netfilter overlay; do
  if lsmod 2>/dev/null | grep -q "^$m " || [ -d "/sys/module/$m" ]; then echo "mod_$m=yes"; else echo "mod_$m=no"; fi
done
if have containerd; then echo "systemd_cgroup=$(containerd config dump 2>/dev/null | grep -c 'SystemdCgroup = true')"; else echo "systemd_cgroup=missing"; fi
echo "product_uuid=$(cat /sys/class/dmi/id/product_uuid 2>/dev/null)"
echo "endpoint_ip=$(getent hosts "$2" 2>/dev/null | awk '{print $1; exit}')"
"#;

/// A host's answers, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts(HashMap<String, String>);

impl Facts {
    /// `key=value` lines; other lines (a login banner) are ignored.
    pub fn parse(stdout: &str) -> Self {
        let pairs = stdout.lines().filter_map(|l| l.split_once('='));
        Self(
            pairs
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map_or("", String::as_str)
    }

    pub fn number(&self, key: &str) -> Option<u64> {
        self.get(key).parse().ok()
    }

    /// TCP ports something listens on.
    pub fn listening(&self, port: u16) -> bool {
        let p = port.to_string();
        self.get("listening").split_whitespace().any(|l| l == p)
    }

    /// `v1.33.2` out of whatever a tool printed (`Kubernetes v1.33.2`).
    pub fn version(&self, key: &str) -> Option<String> {
        let text = self.get(key);
        let bytes = text.as_bytes();
        let at = (0..bytes.len().saturating_sub(1))
            .find(|&i| bytes[i] == b'v' && bytes[i + 1].is_ascii_digit())?;
        let v: String = text[at..]
            .chars()
            .take_while(|c| *c == 'v' || c.is_ascii_digit() || *c == '.')
            .collect();
        (v.len() > 1).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_lines_with_a_banner_around_them() {
        let f = Facts::parse(
            "Welcome!\nlistening=22 6443 \nv_kubelet=Kubernetes v1.33.2\nv_kubectl=Client Version: v1.33.2\nswap=0\n",
        );
        assert!(f.listening(6443) && f.listening(22) && !f.listening(2379));
        assert_eq!(f.version("v_kubelet").as_deref(), Some("v1.33.2"));
        assert_eq!(f.version("v_kubectl").as_deref(), Some("v1.33.2"));
        assert_eq!(f.number("swap"), Some(0));
        assert_eq!(f.get("absent"), "");
    }
}
