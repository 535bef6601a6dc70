//! A small hand-built cluster for view tests: 3 masters, 2 workers, an etcd leader, both
//! leader leases, a certificate key and a join token. Everything healthy; tests break it.

use jiff::{SignedDuration, Timestamp};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Style;

use crate::app::App;
use crate::model::{
    ApiServerHealth, CertKey, ClusterState, EndpointHealth, EtcdMember, EtcdStatus, Lease, Node,
    PodHealth, Readiness, Severity, SourceKind, StaticPods, Token,
};

pub const NOW: &str = "2025-06-01T12:00:00Z";
pub const CERT_OWNER: &str = "ck7x2p";
pub const JOIN_TOKEN: &str = "abc123";

pub fn now() -> Timestamp {
    NOW.parse().unwrap()
}

/// `now` moved by `secs` (negative: the past).
pub fn at(secs: i64) -> Timestamp {
    now() + SignedDuration::from_secs(secs)
}

pub fn node(name: &str, cp: bool, ip: &str, since_s: i64) -> Node {
    Node {
        name: name.into(),
        roles: if cp {
            vec!["control-plane".into()]
        } else {
            Vec::new()
        },
        ready: Readiness::Ready,
        ready_since: Some(at(-since_s)),
        created: Some(at(-since_s)),
        kubelet_version: "v1.33.2".into(),
        internal_ip: Some(ip.into()),
        hostname: None,
        taints: Vec::new(),
        last_heartbeat: None,
    }
}

fn member(i: u64, name: &str, leader: bool) -> EtcdMember {
    EtcdMember {
        id: 0x8e9e_05c5_2164_694d + i,
        name: name.into(),
        client_urls: vec![format!("https://10.0.0.1{i}:2379")],
        peer_urls: vec![format!("https://10.0.0.1{i}:2380")],
        is_leader: leader,
        reachable: true,
        raft_term: 5,
        raft_index: 123_456 + i,
        db_size_bytes: 4_200_000,
        version: "3.5.21".into(),
        ..EtcdMember::default()
    }
}

fn lease(name: &str, holder: &str, renewed_ago_s: i64, transitions: u32) -> Lease {
    Lease {
        name: name.into(),
        namespace: "kube-system".into(),
        holder_identity: Some(format!("{holder}_6a1f3c2e-9b1d-4e55-a8f0-1d2c3b4a5f60")),
        acquire_time: Some(at(-3_600)),
        renew_time: Some(at(-renewed_ago_s)),
        duration_s: 15,
        transitions,
    }
}

pub fn token(id: &str, expires_in_s: Option<i64>, usages: &[&str]) -> Token {
    Token {
        id: id.into(),
        expiration: expires_in_s.map(at),
        bad_expiration: None,
        usages: usages.iter().map(|u| u.to_string()).collect(),
        description: String::new(),
        groups: Vec::new(),
    }
}

pub fn cluster() -> ClusterState {
    let mut c = ClusterState::new(SourceKind::Lab, "10.0.0.10:6443", now());
    c.endpoint = EndpointHealth {
        address: "10.0.0.10:6443".into(),
        ready: Some(true),
        detail: None,
        latency_ms: Some(3.2),
        ..EndpointHealth::unknown(String::new())
    };
    for (i, name) in ["cp-1", "cp-2", "cp-3"].into_iter().enumerate() {
        let ip = format!("10.0.0.1{}", i + 1);
        c.nodes
            .upsert(node(name, true, &ip, 86_400 * 3 + 3_600 * 4));
        c.apiservers.insert(
            name.into(),
            ApiServerHealth {
                node: name.into(),
                address: format!("{ip}:6443"),
                ready: true,
                detail: None,
                latency_ms: Some(2.0 + i as f64),
                etcd_ok: None,
            },
        );
        c.static_pods.insert(name.into(), running_pods(name));
    }
    c.nodes.upsert(node("worker-1", false, "10.0.0.21", 7_200));
    c.nodes.upsert(node("worker-2", false, "10.0.0.22", 330));
    let members = vec![
        member(1, "cp-1", true),
        member(2, "cp-2", false),
        member(3, "cp-3", false),
    ];
    c.etcd = EtcdStatus {
        leader: Some(members[0].id),
        members,
        ..EtcdStatus::default()
    };
    for l in [
        lease("kube-controller-manager", "cp-2", 1, 3),
        lease("kube-scheduler", "cp-1", 2, 2),
    ] {
        c.leases.insert(l.name.clone(), l);
    }
    // The certificate key's hidden owner: 2 h TTL at upload, 1h34m left now.
    c.tokens
        .insert(CERT_OWNER.into(), token(CERT_OWNER, Some(5_640), &[]));
    let usages = ["signing", "authentication"];
    let join = token(JOIN_TOKEN, Some(23 * 3_600 + 34 * 60), &usages);
    c.tokens.insert(JOIN_TOKEN.into(), join);
    c.cert_key = CertKey {
        secret_present: true,
        owner_token_id: Some(CERT_OWNER.into()),
    };
    c.timeline.push(
        at(-1_560),
        Severity::Info,
        "lab started: 3 masters, 2 workers",
    );
    c.timeline.push(
        at(-1_500),
        Severity::Good,
        "etcd leader elected: cp-1 (term 5)",
    );
    c.timeline.push(
        at(-1_200),
        Severity::Good,
        "kubeadm-certs uploaded: a new certificate key is valid for 2h",
    );
    c.timeline.push(
        at(-330),
        Severity::Warn,
        "node worker-2 NotReady (was Ready)",
    );
    c.timeline.push(
        at(-330),
        Severity::Good,
        "node worker-2 Ready (was NotReady)",
    );
    c
}

pub fn running_pods(node: &str) -> StaticPods {
    StaticPods {
        node: node.into(),
        apiserver: PodHealth::RUNNING,
        etcd: PodHealth::RUNNING,
        scheduler: PodHealth::RUNNING,
        controller_manager: PodHealth::RUNNING,
    }
}

pub fn app() -> App {
    App::new(cluster())
}

/// Draws `app` once on a `width`×`height` test terminal.
pub fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| super::draw(f, app)).unwrap();
    terminal
}

/// Draws `app` once and hands back the screen.
pub fn screen(app: &mut App, width: u16, height: u16) -> Buffer {
    render(app, width, height).backend().buffer().clone()
}

pub use hatui_testkit::screen::text;

/// Where `needle` starts on screen (column, row), if it is there.
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    (0..buf.area.height).find_map(|y| {
        let row = hatui_testkit::screen::row(buf, y);
        let at = row.find(needle)?;
        Some((crate::view::format::width(&row[..at]) as u16, y))
    })
}

/// The style of the cell where `needle` starts; panics when it is not on screen.
pub fn style_of(buf: &Buffer, needle: &str) -> Style {
    let (x, y) =
        find(buf, needle).unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", text(buf)));
    buf[(x, y)].style()
}
