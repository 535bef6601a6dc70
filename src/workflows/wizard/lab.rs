//! The lab's inventory, printed by `hatui wizard --lab --print-inventory` as a starting
//! point for real hosts: the lab's names and addresses, commented like the example.

use hatui_lab::LabConfig;

/// TOML that [`hatui_fleet::inventory::parse`] accepts.
pub fn inventory_toml(control_planes: usize, workers: usize) -> String {
    let cfg = LabConfig::new(control_planes, workers, 0, jiff::Timestamp::UNIX_EPOCH);
    let mut out = format!(
        "# hatui wizard inventory: the lab's {cp} control plane(s) and {w} worker(s).\n\
         # Edit the addresses, the endpoint and [ssh] for real hosts; see\n\
         # assets/inventory.example.toml for every field.\n\
         name = \"lab\"\n\
         # The load balancer's DNS name or VIP, never one master's own address.\n\
         endpoint = \"{endpoint}\"\n\
         load_balancer = \"{lb}\"  # nlb | haproxy | kube-vip\n\
         pod_cidr = \"192.168.0.0/16\"\n\
         service_cidr = \"10.96.0.0/12\"\n\
         cri_socket = \"unix:///var/run/containerd/containerd.sock\"\n\
         \n\
         [cni]\n\
         name = \"calico\"\n\
         manifest = \"{manifest}\"\n\
         \n\
         [ssh]\n\
         user = \"root\"\n\
         port = 22\n\
         # identity = \"~/.ssh/id_ed25519\"  # default: the ssh-agent\n\
         # known_hosts = \"~/.ssh/known_hosts\"\n\
         # bastion = \"admin@jump.example.internal\"  # a jump host, as ssh -J\n\
         sudo = false\n",
        cp = cfg.control_planes,
        w = cfg.workers,
        endpoint = cfg.endpoint,
        lb = cfg.lb.name(),
        manifest = hatui_fleet::inventory::DEFAULT_CALICO_MANIFEST,
    );
    for i in 0..cfg.control_planes + cfg.workers {
        let role = if i < cfg.control_planes {
            "control-plane"
        } else {
            "worker"
        };
        out.push_str(&format!(
            "\n[[hosts]]\nname = \"{}\"\naddress = \"{}\"\nrole = \"{role}\"\n",
            cfg.name(i),
            cfg.ip(i)
        ));
    }
    out
}
