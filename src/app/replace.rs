//! The wizard's offer to replace a dead master: once a master's Node has been NotReady
//! past the node controller's grace period and its etcd member does not answer, the open
//! wizard names it and `r` puts the plan of `hatui wizard --lab --replace NODE` in the
//! pane, where its steps run as any others on the lab's virtual clock.

use super::{App, Outcome};
use crate::keys::{self, Action};
use crate::message::{Command, WizardCommand};
use crate::model::{ClusterState, Readiness};
use crate::wizard::headless::replace_refusal;

/// A master the wizard offers to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub node: String,
    /// Seconds since its kubelet was last heard from, when its heartbeat is known.
    pub silent_s: Option<i64>,
    /// The node controller's grace period (40 s to v1.31, 50 s from v1.32).
    pub grace_s: i64,
}

impl Offer {
    /// The pane's line, naming the key from the key table.
    pub fn line(&self) -> String {
        let silent = match self.silent_s {
            Some(s) if s < 120 => format!("silent for {s} s"),
            Some(s) => format!("silent for {} min", s / 60),
            None => "marked NotReady".into(),
        };
        format!(
            "{key}: replace {node}. It is dead: {silent} (grace period {grace} s), its etcd \
             member does not answer. Its member and Node go, a fresh machine joins in its \
             place (the plan of `hatui wizard --lab --replace {node}`).",
            node = self.node,
            grace = self.grace_s,
            key = keys::key_of(Action::WizardReplace),
        )
    }
}

/// The first master that is dead for the wizard's purpose: its Node not Ready, silent for
/// longer than the grace period (when its heartbeat is known; a NotReady mark is the node
/// controller's own verdict after it), its etcd member listed and not answering; and the
/// replacement would not be refused (quorum left, another member to work through).
pub fn dead_master(c: &ClusterState) -> Option<Offer> {
    if c.etcd.nobody_answered() {
        return None;
    }
    let grace_s = c.node_monitor_grace_s();
    let through = |node: &str| {
        c.etcd
            .members
            .iter()
            .any(|m| m.reachable && !m.is_learner && !m.name.is_empty() && m.name != node)
    };
    c.nodes
        .iter()
        .filter(|n| n.is_control_plane() && n.ready != Readiness::Ready)
        .find_map(|n| {
            let silent_s = c.heartbeat_age_s(n);
            if silent_s.is_some_and(|s| s < grace_s) {
                return None;
            }
            let member = c.etcd.members.iter().find(|m| m.name == n.name)?;
            let dead = !member.reachable && through(&n.name);
            (dead && replace_refusal(c, &n.name).is_none()).then(|| Offer {
                node: n.name.clone(),
                silent_s,
                grace_s,
            })
        })
}

impl App {
    /// What the open wizard offers now: nothing while a step runs, a replacement is
    /// already in the pane, or on anything but the lab.
    pub fn replace_offer(&self) -> Option<Offer> {
        let w = self.wizard.as_ref()?;
        if !self.wizard_open() || !w.on_lab || w.running.is_some() || w.replacing.is_some() {
            return None;
        }
        dead_master(&self.cluster)
    }

    /// `r` on the offer: the wizard's thread makes the plan and puts it in the pane.
    pub(super) fn accept_replace(&mut self) -> Outcome {
        let Some(offer) = self.replace_offer() else {
            return Outcome::default();
        };
        if let Some(w) = self.wizard.as_mut() {
            w.replacing = Some(offer.node.clone());
            w.follow = true;
        }
        self.ui.flash = Some(format!(
            "the plan replacing {} comes into the pane: read it, then Enter runs the next \
             step, a runs them all",
            offer.node
        ));
        Outcome {
            redraw: true,
            commands: vec![Command::Wizard(WizardCommand::Replace(offer.node))],
        }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};
    use jiff::Timestamp;

    use super::*;
    use crate::message::{Message, WizardUpdate};
    use crate::model::{ClusterEvent, EtcdMember, EtcdStatus, Node, SourceKind};
    use crate::view::fixture::{screen, text};

    const T0: i64 = 1_000_000;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(T0 + s).unwrap()
    }

    fn master(name: &str, ready: Readiness) -> Node {
        Node {
            ready,
            ..Node::ready_master(name)
        }
    }

    fn member(id: u64, name: &str, reachable: bool) -> EtcdMember {
        EtcdMember {
            id,
            name: name.into(),
            reachable,
            ..EtcdMember::default()
        }
    }

    /// The lab cockpit with its wizard open: three masters (v1.33: a 50 s grace period),
    /// cp-1's kubelet last heard at t=0 and its member silent from then on.
    fn cockpit() -> App {
        let mut c = ClusterState::new(SourceKind::Lab, "lb:6443", at(0));
        for n in ["cp-1", "cp-2", "cp-3"] {
            c.apply(ClusterEvent::NodeUpsert(master(n, Readiness::Ready)));
        }
        c.apply(ClusterEvent::NodeLeases(
            ["cp-1", "cp-2", "cp-3"].map(|n| (n.into(), at(0))).into(),
        ));
        let mut app = App::with_wizard(c);
        app.update(Message::Key(KeyEvent::from(KeyCode::Char('w'))));
        assert!(app.wizard_open());
        app
    }

    /// `s` seconds on: the others heartbeat, cp-1 stays silent; `etcd_up`: cp-1's member
    /// still answers; `ready`: what the node controller has marked cp-1.
    fn later(app: &mut App, s: i64, ready: Readiness, etcd_up: bool) {
        let others = ["cp-2", "cp-3"].map(|n| (n.to_string(), at(s)));
        let status = EtcdStatus {
            leader: Some(2),
            members: vec![
                member(1, "cp-1", etcd_up),
                member(2, "cp-2", true),
                member(3, "cp-3", true),
            ],
            ..EtcdStatus::default()
        };
        app.update(Message::Cluster(vec![
            ClusterEvent::Clock(at(s)),
            ClusterEvent::NodeLeases(others.into()),
            ClusterEvent::NodeUpsert(master("cp-1", ready)),
            ClusterEvent::Etcd(status),
        ]));
    }

    fn press(app: &mut App, c: char) -> Outcome {
        app.update(Message::Key(KeyEvent::from(KeyCode::Char(c))))
    }

    #[test]
    fn not_offered_within_the_grace_period_nor_while_the_member_answers() {
        let mut app = cockpit();
        // 30 s of silence: within v1.33's 50 s, and the Node still Ready.
        later(&mut app, 30, Readiness::Ready, false);
        assert_eq!(app.replace_offer(), None);
        assert!(!app.here().replace_offer);
        assert!(press(&mut app, 'r').commands.is_empty(), "r does nothing");
        // Past the grace period and marked, but its etcd member answers: not dead.
        later(&mut app, 120, Readiness::Unknown, true);
        assert_eq!(app.replace_offer(), None);
        // A NotReady mark seen before the silence passed the grace period (a kubelet
        // that reported itself NotReady) is not enough either.
        later(&mut app, 40, Readiness::NotReady, false);
        assert_eq!(app.replace_offer(), None);
    }

    #[test]
    fn a_master_dead_past_its_grace_period_is_offered_and_r_asks_the_wizard_for_its_plan() {
        let mut app = cockpit();
        later(&mut app, 180, Readiness::Unknown, false);
        let offer = app.replace_offer().expect("cp-1 is offered");
        assert_eq!(
            offer,
            Offer {
                node: "cp-1".into(),
                silent_s: Some(180),
                grace_s: 50,
            }
        );
        assert!(app.here().replace_offer);
        let shown = text(&screen(&mut app, 120, 40));
        assert!(
            shown.contains("r: replace cp-1. It is dead: silent for 3 min"),
            "{shown}"
        );
        assert!(shown.contains("period 50 s), its etcd member"), "{shown}");
        assert!(shown.contains("r replace"), "the key bar: {shown}");

        let out = press(&mut app, 'r');
        assert_eq!(
            out.commands,
            [Command::Wizard(WizardCommand::Replace("cp-1".into()))]
        );
        assert!(app.ui.flash.as_deref().unwrap().contains("Enter runs"));
        // Asked once: no second offer while its plan is in the pane.
        assert_eq!(app.replace_offer(), None);
        assert!(press(&mut app, 'r').commands.is_empty());
        // The wizard could not make it (the timeline says why): offered again.
        app.update(Message::Wizard(WizardUpdate::Replacing(None)));
        assert!(app.replace_offer().is_some());
        app.update(Message::Wizard(WizardUpdate::Replacing(Some(
            "cp-1".into(),
        ))));
        assert_eq!(app.replace_offer(), None);
        // Its plan verified, the replacement is over: a master dead again is offered.
        let done = crate::wizard::cockpit::WizardSteps {
            reports: vec![],
            why: vec![],
            command_hosts: vec![],
            warnings: vec![],
            finished: true,
            verified: true,
        };
        app.update(Message::Wizard(WizardUpdate::Steps(done)));
        assert_eq!(app.wizard.as_ref().unwrap().replacing, None);
        assert!(app.replace_offer().is_some());
    }

    #[test]
    fn no_offer_when_the_removal_would_lose_the_quorum_or_the_pane_is_closed() {
        let mut app = cockpit();
        later(&mut app, 180, Readiness::Unknown, false);
        press(&mut app, 'w');
        assert!(!app.wizard_open());
        assert_eq!(app.replace_offer(), None, "closed: nothing offered");
        press(&mut app, 'w');
        // cp-2 dead as well: one voter of two would be left, no quorum to commit with.
        let status = EtcdStatus {
            leader: None,
            members: vec![
                member(1, "cp-1", false),
                member(2, "cp-2", false),
                member(3, "cp-3", true),
            ],
            ..EtcdStatus::default()
        };
        app.update(Message::Cluster(vec![ClusterEvent::Etcd(status)]));
        assert_eq!(app.replace_offer(), None);
    }
}
