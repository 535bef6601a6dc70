//! Named lab states: the snapshot tests, the README screenshots and the benchmarks all use
//! these, so a picture in the README is always a state the tests check.

mod driver;
mod wizard;

use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;

use crate::lab::LabConfig;
use crate::message::Message;

pub use driver::{Driver, scene_start};

pub struct Scene {
    pub name: &'static str,
    pub caption: &'static str,
    pub width: u16,
    pub height: u16,
    build: fn() -> Driver,
}

impl Scene {
    pub fn driver(&self) -> Driver {
        (self.build)()
    }

    pub fn render(&self) -> Buffer {
        self.driver().render(self.width, self.height)
    }
}

fn healthy() -> Driver {
    let mut d = Driver::new(LabConfig::new(3, 2, 7, scene_start()));
    d.advance(Duration::from_secs(60));
    d
}

fn leader_powered_off() -> Driver {
    let mut d = healthy();
    d.press(KeyCode::Char('L'));
    d.press(KeyCode::Char('P'));
    d.advance(Duration::from_secs(20));
    d
}

fn quorum_lost() -> Driver {
    let mut d = healthy();
    d.press(KeyCode::Char('L'));
    d.press(KeyCode::Char('P'));
    d.advance(Duration::from_secs(5));
    d.press(KeyCode::Char('L'));
    d.press(KeyCode::Char('P'));
    d.advance(Duration::from_secs(30));
    d
}

fn kubelet_stopped() -> Driver {
    let mut d = healthy();
    d.press(KeyCode::Char('L'));
    d.press(KeyCode::Char('K'));
    d.advance(Duration::from_secs(70));
    d
}

fn cert_key_expired() -> Driver {
    let mut d = healthy();
    // The key was uploaded 25 minutes before the lab started: 2 h later it is gone.
    d.advance(Duration::from_secs(95 * 60 + 30));
    d
}

/// `d` on the healthy lab, confirmed: the leader powered off by the drill, 30 s in.
fn drill_power() -> Driver {
    use crate::drill::cockpit::{DrillCommand, Running};
    use crate::drill::{DrillFault, DrillSpec};
    let mut d = healthy();
    // Never written: the scene stops long before the drill's end.
    let mut drill = Running::new(std::env::temp_dir().join("hatui-scene-reports"));
    let lab = d.lab.as_mut().expect("a lab scene");
    let spec = DrillSpec::new(DrillFault::Power);
    let (events, said) = drill.command(lab, DrillCommand::Start(spec));
    d.app.update(Message::Cluster(events));
    let mut last = said;
    for _ in 0..30 {
        let lab = d.lab.as_mut().expect("a lab scene");
        if let Some((events, said)) = drill.advance(lab, Duration::from_secs(1)) {
            d.app.update(Message::Cluster(events));
            last = said.or(last);
        }
    }
    if let Some(update) = last {
        d.app.update(Message::Drill(update));
    }
    d
}

pub const SCENES: &[Scene] = &[
    Scene {
        name: "healthy",
        caption: "A healthy 3-master lab cluster",
        width: 120,
        height: 40,
        build: healthy,
    },
    Scene {
        name: "leader-powered-off",
        caption: "The etcd leader's master powered off: re-election, lease takeover",
        width: 120,
        height: 40,
        build: leader_powered_off,
    },
    Scene {
        name: "quorum-lost",
        caption: "Two of three masters down: etcd quorum lost, the API is down",
        width: 120,
        height: 40,
        build: quorum_lost,
    },
    Scene {
        name: "kubelet-stopped",
        caption: "`systemctl stop kubelet` on the leader: NotReady, yet the control plane runs on",
        width: 120,
        height: 40,
        build: kubelet_stopped,
    },
    Scene {
        name: "cert-key-expired",
        caption: "The certificate key expired: kubeadm-certs is gone, and the fix is shown",
        width: 120,
        height: 40,
        build: cert_key_expired,
    },
    Scene {
        name: "drill-power",
        caption: "d: a failover drill powers off the etcd leader, 30 s in",
        width: 120,
        height: 40,
        build: drill_power,
    },
    Scene {
        name: "wizard-half-built",
        caption: "The wizard on a bare lab: cp-2 joined, cp-3 joining as an etcd learner",
        width: 120,
        height: 40,
        build: wizard::half_built,
    },
    Scene {
        name: "small-terminal",
        caption: "The healthy lab in an 80x24 terminal",
        width: 80,
        height: 24,
        build: healthy,
    },
];
