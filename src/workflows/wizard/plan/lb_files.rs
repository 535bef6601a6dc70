//! The load balancer's files on the masters, rendered from the templates in `assets/`
//! (taken from kubeadm's HA guide and kube-vip's docs, cited in each), and the command
//! that writes one as root: `install -D -m MODE /dev/stdin PATH` fed by a here-document,
//! so the plan, the dry-run script and the audit log show exactly what is written.

use super::super::command::Command;
use hatui_fleet::inventory::{Inventory, Vip};

const HAPROXY_CFG: &str = include_str!("../../../../assets/haproxy.cfg");
const KEEPALIVED_CONF: &str = include_str!("../../../../assets/keepalived.conf");
const CHECK_APISERVER: &str = include_str!("../../../../assets/check_apiserver.sh");
const KUBE_VIP: &str = include_str!("../../../../assets/kube-vip.yaml");

pub const HAPROXY_CFG_PATH: &str = "/etc/haproxy/haproxy.cfg";
pub const KEEPALIVED_CONF_PATH: &str = "/etc/keepalived/keepalived.conf";
pub const CHECK_APISERVER_PATH: &str = "/etc/keepalived/check_apiserver.sh";
pub const KUBE_VIP_PATH: &str = "/etc/kubernetes/manifests/kube-vip.yaml";
/// kubeadm's cluster-admin kubeconfig during init, since 1.29.
pub const SUPER_ADMIN_CONF: &str = "/etc/kubernetes/super-admin.conf";
/// Ends the here-document; no template holds it.
const EOF_MARK: &str = "HATUI_EOF";

/// `template` with each `${NAME}` replaced by its value.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    values.iter().fold(template.to_string(), |t, (k, v)| {
        t.replace(&format!("${{{k}}}"), v)
    })
}

/// HAProxy's frontend on the endpoint's port, every master's 6443 behind it.
pub fn haproxy_cfg(inv: &Inventory) -> String {
    let servers: Vec<String> = inv
        .control_planes()
        .map(|m| {
            format!(
                "        server {} {}:6443 check check-ssl verify none",
                m.name, m.address
            )
        })
        .collect();
    fill(
        HAPROXY_CFG,
        &[
            ("CLUSTER", inv.name.clone()),
            ("APISERVER_DEST_PORT", inv.endpoint.port.to_string()),
            ("SERVERS", servers.join("\n")),
        ],
    )
}

/// keepalived on master `ordinal` (0: the first, which holds the VIP first).
pub fn keepalived_conf(inv: &Inventory, vip: &Vip, ordinal: usize) -> String {
    let (state, priority) = if ordinal == 0 {
        ("MASTER", "101")
    } else {
        ("BACKUP", "100")
    };
    fill(
        KEEPALIVED_CONF,
        &[
            ("CLUSTER", inv.name.clone()),
            ("STATE", state.into()),
            ("INTERFACE", vip.interface.clone()),
            ("ROUTER_ID", vip.router_id.to_string()),
            ("PRIORITY", priority.into()),
            ("AUTH_PASS", vrrp_pass(inv, vip)),
            ("APISERVER_VIP", vip.address.clone()),
        ],
    )
}

/// keepalived's `auth_pass`, the same on every host of one cluster and this cluster's
/// own: 8 characters (VRRP's limit) of a hash of the cluster's name, VIP and
/// `virtual_router_id`, so two clusters hatui builds never share one (kubeadm's guide
/// shows `42`). Derived, not drawn at random: the dry-run script, a re-run and every
/// host write the same. VRRP sends it in clear in every advertisement, so it keeps a
/// neighbouring cluster's advertisements apart; it is no secret.
pub fn vrrp_pass(inv: &Inventory, vip: &Vip) -> String {
    // FNV-1a, 64 bits: stable across Rust versions and machines, unlike std's hasher.
    let seed = format!(
        "hatui-vrrp\0{}\0{}\0{}",
        inv.name, vip.address, vip.router_id
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..8)
        .map(|_| {
            let c = ALPHABET[(h % 36) as usize] as char;
            h /= 36;
            c
        })
        .collect()
}

/// The check script keepalived runs: /healthz through this host's HAProxy.
pub fn check_apiserver(inv: &Inventory) -> String {
    fill(
        CHECK_APISERVER,
        &[
            ("CLUSTER", inv.name.clone()),
            ("APISERVER_DEST_PORT", inv.endpoint.port.to_string()),
        ],
    )
}

/// kube-vip's static pod holding the VIP, with `kubeconfig` (a host path) mounted.
pub fn kube_vip_manifest(inv: &Inventory, vip: &Vip, kubeconfig: &str) -> String {
    fill(
        KUBE_VIP,
        &[
            ("CLUSTER", inv.name.clone()),
            ("INTERFACE", vip.interface.clone()),
            ("VIP", vip.address.clone()),
            ("PORT", inv.endpoint.port.to_string()),
            ("IMAGE", vip.image.clone()),
            ("KUBECONFIG", kubeconfig.into()),
        ],
    )
}

/// Kubernetes 1.29+ (or unpinned: kubeadm's own, today 1.29 or later): admin.conf has no
/// rights until init has granted them, so kube-vip needs super-admin.conf during init.
pub fn needs_super_admin(inv: &Inventory) -> bool {
    let Some(v) = &inv.kubernetes_version else {
        return true;
    };
    let mut parts = v.trim_start_matches('v').split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(1);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= (1, 29)
}

/// Writes `text` to `path` on `host` as root, with `mode`.
pub fn install(host: &str, path: &str, mode: &str, text: &str) -> Command {
    debug_assert!(!text.contains(EOF_MARK));
    let mut text = text.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Command::root(
        host,
        format!("install -D -m {mode} /dev/stdin {path} <<'{EOF_MARK}'\n{text}{EOF_MARK}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hatui_fleet::inventory;

    fn inv(lb: &str, endpoint: &str, version: &str) -> Inventory {
        let text = format!(
            "name = \"prod\"\nendpoint = \"{endpoint}\"\nload_balancer = \"{lb}\"\n{version}\n\
             [vip]\ninterface = \"ens192\"\nrouter_id = 52\n\
             [[hosts]]\nname = \"cp-1\"\naddress = \"10.0.0.11\"\nrole = \"control-plane\"\n\
             [[hosts]]\nname = \"cp-2\"\naddress = \"10.0.0.12\"\nrole = \"control-plane\"\n\
             [[hosts]]\nname = \"cp-3\"\naddress = \"10.0.0.13\"\nrole = \"control-plane\"\n\
             [[hosts]]\nname = \"worker-1\"\naddress = \"10.0.1.1\"\nrole = \"worker\"\n"
        );
        inventory::parse("hatui.toml", &text).unwrap()
    }

    #[test]
    fn haproxy_listens_on_the_endpoint_port_and_checks_every_master_over_tls() {
        let inv = inv("haproxy", "10.0.0.100:8443", "");
        let cfg = haproxy_cfg(&inv);
        let end = cfg.split("\nbackend apiserverbackend\n").nth(1).unwrap();
        assert_eq!(
            end,
            "    option httpchk GET /healthz
    http-check expect status 200
    mode tcp
    balance     roundrobin
        server cp-1 10.0.0.11:6443 check check-ssl verify none
        server cp-2 10.0.0.12:6443 check check-ssl verify none
        server cp-3 10.0.0.13:6443 check check-ssl verify none
"
        );
        assert!(cfg.contains("frontend apiserver\n    bind *:8443\n    mode tcp\n"));
        assert!(
            !cfg.contains("\n    option ssl-hello-chk") && !cfg.contains("${"),
            "{cfg}"
        );
        assert!(!cfg.contains("worker-1"));
    }

    #[test]
    fn keepalived_holds_the_vip_first_on_the_first_master() {
        let inv = inv("haproxy", "10.0.0.100:8443", "");
        let vip = inv.vip.clone().unwrap();
        let first = keepalived_conf(&inv, &vip, 0);
        let instance = first.split("vrrp_instance VI_1 {\n").nth(1).unwrap();
        let pass = vrrp_pass(&inv, &vip);
        assert_eq!(
            instance,
            format!(
                "    state MASTER
    interface ens192
    virtual_router_id 52
    priority 101
    authentication {{
        auth_type PASS
        auth_pass {pass}
    }}
    virtual_ipaddress {{
        10.0.0.100
    }}
    track_script {{
        check_apiserver
    }}
}}
"
            )
        );
        assert!(first.contains("  script \"/etc/keepalived/check_apiserver.sh\"\n  interval 3\n"));
        assert!(first.contains(
            "global_defs {\n    router_id LVS_DEVEL\n    enable_script_security\n    script_user root\n}\n"
        ));
        let other = keepalived_conf(&inv, &vip, 2);
        assert!(other.contains("    state BACKUP\n") && other.contains("    priority 100\n"));
        assert!(
            other.contains(&format!("        auth_pass {pass}\n")),
            "one password per cluster"
        );
        let check = check_apiserver(&inv);
        assert!(check.starts_with("#!/bin/sh\n"));
        assert!(check.ends_with("\ncurl -sfk --max-time 2 https://localhost:8443/healthz -o /dev/null || errorExit \"Error GET https://localhost:8443/healthz\"\n"), "{check}");
    }

    #[test]
    fn each_cluster_has_a_vrrp_password_of_its_own_of_8_characters() {
        let pass = |text: &str| {
            let inv = inventory::parse("hatui.toml", text).unwrap();
            vrrp_pass(&inv, inv.vip.as_ref().unwrap())
        };
        let base = inv("haproxy", "10.0.0.100:8443", "");
        let prod = vrrp_pass(&base, base.vip.as_ref().unwrap());
        assert_eq!(prod.len(), 8);
        assert!(
            prod.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{prod}"
        );
        // The same inventory gives the same password (dry run, re-run, every host).
        assert_eq!(prod, vrrp_pass(&base, base.vip.as_ref().unwrap()));
        let text = |name: &str, vip: &str, router: &str| {
            format!(
                "name = \"{name}\"\nendpoint = \"{vip}:8443\"\nload_balancer = \"haproxy\"\n\
                 [vip]\ninterface = \"ens192\"\nrouter_id = {router}\n\
                 [[hosts]]\nname = \"cp-1\"\naddress = \"10.0.0.11\"\nrole = \"control-plane\"\n"
            )
        };
        let others = [
            pass(&text("staging", "10.0.0.100", "52")),
            pass(&text("prod", "10.0.9.100", "52")),
            pass(&text("prod", "10.0.0.100", "53")),
            pass(&text("kubernetes", "10.0.0.100", "51")),
        ];
        assert_eq!(pass(&text("prod", "10.0.0.100", "52")), prod);
        for p in &others {
            assert_ne!(*p, prod);
        }
        assert!(!others.contains(&"42".to_string()) && !others.contains(&"kubernet".to_string()));
    }

    #[test]
    fn kube_vip_holds_the_endpoint_vip_with_the_kubeconfig_given() {
        let inv = inv("kube-vip", "10.0.0.100:6443", "");
        let vip = inv.vip.clone().unwrap();
        let m = kube_vip_manifest(&inv, &vip, SUPER_ADMIN_CONF);
        for line in [
            "    - name: vip_arp\n      value: \"true\"\n",
            "    - name: port\n      value: \"6443\"\n",
            "    - name: vip_interface\n      value: ens192\n",
            "    - name: vip_leaderelection\n      value: \"true\"\n",
            "    - name: address\n      value: 10.0.0.100\n",
            "    image: ghcr.io/kube-vip/kube-vip:v0.8.9\n",
            "    - mountPath: /etc/kubernetes/admin.conf\n      name: kubeconfig\n",
            "  - hostPath:\n      path: /etc/kubernetes/super-admin.conf\n    name: kubeconfig\n",
        ] {
            assert!(m.contains(line), "{line}\n{m}");
        }
        assert!(!m.contains("${"), "{m}");
    }

    #[test]
    fn super_admin_conf_from_1_29_and_when_unpinned() {
        let at = |v: &str| needs_super_admin(&inv("kube-vip", "10.0.0.100:6443", v));
        assert!(at(""));
        assert!(at("kubernetes_version = \"1.29.0\""));
        assert!(at("kubernetes_version = \"1.33.1\""));
        assert!(!at("kubernetes_version = \"1.28.15\""));
    }

    #[test]
    fn a_file_is_installed_from_a_here_document() {
        let c = install("cp-1", "/etc/haproxy/haproxy.cfg", "0644", "a\nb");
        assert_eq!(
            c.shown(),
            "install -D -m 0644 /dev/stdin /etc/haproxy/haproxy.cfg <<'HATUI_EOF'\na\nb\nHATUI_EOF"
        );
        assert!(c.root);
    }
}
