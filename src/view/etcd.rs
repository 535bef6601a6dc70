//! etcd members as etcd reports them, then the quorum arithmetic an operator needs before
//! touching another master, then what an expert would warn about.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{ClusterState, EtcdMember, FeedKind, QuorumView, Standing};

/// Content rows wanted at inner width `width`: members, the quorum line, warnings.
pub fn wanted(cluster: &ClusterState, width: u16) -> usize {
    let warnings = warnings(cluster, usize::from(width)).len();
    cluster.etcd.members.len() + 1 + warnings
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let c = &app.cluster;
    let focused = app.ui.focus == Pane::Etcd;
    let mut title = vec![pane::name("etcd")];
    // What the timeline says: a leader that stopped answering is no leader any more.
    if let Some(leader) = c.etcd.live_leader() {
        let text = format!("leader {} · term {} ", leader.name, leader.raft_term);
        title.push(Span::styled(text, theme::DIM));
    } else if c.etcd_quorum().known().is_some() {
        title.push(Span::styled("no leader ", theme::BAD));
    }
    if let Some(via) = &c.etcd.via {
        title.push(Span::styled(format!("{via} "), theme::WARN));
    }
    title.extend(pane::stale(c, &[FeedKind::Etcd]));
    let inner = pane::frame(frame, area, title, focused);

    // The quorum line is the point of the pane: it keeps its row, members scroll above it
    // and warnings get what is left below.
    let (width, h) = (usize::from(inner.width), usize::from(inner.height));
    let members = &c.etcd.members;
    let member_rows = members.len().min(h.saturating_sub(1));
    let cursor = &mut app.ui.etcd;
    cursor.scroll_into_view(members.len(), member_rows);
    let widths = Widths::of(members);
    let lines = members
        .iter()
        .skip(cursor.offset)
        .take(member_rows)
        .map(|m| member(c, m, &widths, width));
    let selected = pane::selected_row(cursor, focused);
    let top = Rect {
        height: member_rows as u16,
        ..inner
    };
    pane::rows(frame, top, lines, selected, theme::selected(true));

    let bottom = Rect {
        y: top.bottom(),
        height: inner.height.saturating_sub(top.height),
        ..inner
    };
    let summary = std::iter::once(quorum(c, width)).chain(warnings(c, width));
    pane::text(frame, bottom, summary);
}

/// Column widths so term, index and size line up across members.
struct Widths {
    name: usize,
    term: usize,
    index: usize,
}

impl Widths {
    fn of(members: &[EtcdMember]) -> Self {
        let max = |f: fn(&EtcdMember) -> usize| members.iter().map(f).max().unwrap_or(0);
        Self {
            name: max(|m| format::width(&m.name)),
            term: max(|m| m.raft_term.to_string().len()),
            index: max(|m| m.raft_index.to_string().len()),
        }
    }
}

fn member(c: &ClusterState, m: &EtcdMember, w: &Widths, width: usize) -> Line<'static> {
    let leader = c.etcd.live_leader().is_some_and(|l| l.id == m.id);
    let mut spans = vec![
        Span::styled(if leader { "★ " } else { "  " }, theme::LEADER),
        Span::styled(format::pad(&m.name, w.name), theme::BOLD),
    ];
    if m.is_learner {
        spans.push(Span::styled(" learner", theme::WARN));
    }
    // A member with no node of its name is a join in progress, or what a removed master
    // left behind (rejoining fails until someone runs `etcdctl member remove`).
    match c.member_standing(m) {
        Standing::HasNode => {}
        Standing::Joining { .. } => spans.push(Span::styled(" joining", theme::DIM)),
        Standing::NoNodeYet => spans.push(Span::styled(" no node", theme::WARN)),
        Standing::NodeGone | Standing::NeverJoined { .. } => {
            spans.push(Span::styled(" stale", theme::WARN));
        }
    }
    for alarm in &m.alarms {
        spans.push(Span::styled(format!(" {alarm}"), theme::ALARM));
    }
    if m.reachable {
        let stats = format!(
            " ✓ term {:>tw$}  idx {:>iw$}  {}",
            m.raft_term,
            m.raft_index,
            format::bytes(m.db_size_bytes),
            tw = w.term,
            iw = w.index,
        );
        spans.push(Span::styled(stats, theme::GOOD));
    } else {
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let err = m.error.as_deref().unwrap_or("unreachable");
        let text = format::fit(&format!(" ✗ {err}"), width.saturating_sub(used));
        spans.push(Span::styled(text, theme::BAD));
    }
    Line::from(spans)
}

/// `3/3 healthy · needs 2 · tolerates 1 more failure`, yellow at the edge, red once lost.
fn quorum(c: &ClusterState, width: usize) -> Line<'static> {
    let q = match c.etcd_quorum() {
        // Silence is not knowing: it reads as neither healthy nor lost.
        QuorumView::Unknown if c.etcd.members.is_empty() => {
            return Line::styled("quorum unknown: no etcd status", theme::DIM);
        }
        QuorumView::Unknown => {
            return Line::styled("quorum unknown: no member has answered", theme::WARN);
        }
        QuorumView::PathBroken => {
            let text = "quorum unknown: unreachable from here, the apiservers read etcd";
            return Line::styled(format::fit(text, width), theme::WARN);
        }
        QuorumView::Known(q) => q,
    };
    let counts = format!("{}/{} healthy · needs {}", q.healthy, q.members, q.needed);
    if !q.has_quorum() {
        return Line::styled(format!("QUORUM LOST {counts}"), theme::ALARM);
    }
    let more = format::plural(q.tolerates, "more failure");
    let style = if q.tolerates == 0 {
        theme::WARN
    } else {
        theme::GOOD
    };
    let full = format!("{counts} · tolerates {more}");
    // When narrow, what can still fail matters more than the arithmetic behind it.
    let text = if format::width(&full) <= width {
        full
    } else {
        format!("{}/{} healthy · tolerates {more}", q.healthy, q.members)
    };
    Line::styled(text, style)
}

/// The cluster's etcd warnings, wrapped: each says why something is a risk, and that is
/// the point.
fn warnings(c: &ClusterState, width: usize) -> Vec<Line<'static>> {
    // A lost quorum comes first; the rest are risks, not outages.
    let lost = c.etcd_quorum().lost();
    let mut lines = Vec::new();
    for (i, w) in c.etcd_warnings().into_iter().enumerate() {
        let style = if lost && i == 0 {
            theme::BAD
        } else {
            theme::WARN
        };
        let wrapped = format::wrap(&w, width.saturating_sub(2).max(10));
        for (j, part) in wrapped.into_iter().enumerate() {
            let bullet = if j == 0 { "! " } else { "  " };
            lines.push(Line::styled(format!("{bullet}{part}"), style));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};

    use crate::app::App;
    use crate::model::ClusterEvent;
    use crate::view::fixture::{self, find, screen, style_of, text};

    fn down(app: &mut App, name: &str, err: &str) {
        let m = app
            .cluster
            .etcd
            .members
            .iter_mut()
            .find(|m| m.name == name)
            .unwrap();
        m.reachable = false;
        m.error = Some(err.into());
    }

    #[test]
    fn a_healthy_quorum_is_green_and_says_what_it_tolerates() {
        let buf = screen(&mut fixture::app(), 100, 30);
        let line = "3/3 healthy · needs 2 · tolerates 1 more failure";
        assert_eq!(
            style_of(&buf, line).fg,
            Some(Color::Green),
            "{}",
            text(&buf)
        );
        assert_eq!(style_of(&buf, "★ cp-1").fg, Some(Color::Yellow));
        assert!(find(&buf, "idx 123457  4.2 MB").is_some());
        assert!(find(&buf, "leader cp-1 · term 5").is_some());
    }

    #[test]
    fn the_last_resort_is_labelled_and_silence_is_not_a_lost_quorum() {
        let mut app = fixture::app();
        app.cluster.etcd.via = Some("via kube exec (last resort, every 2 s)".into());
        let buf = screen(&mut app, 120, 30);
        assert_eq!(style_of(&buf, "via kube exec").fg, Some(Color::Yellow));
        for m in &mut app.cluster.etcd.members {
            (m.id, m.reachable, m.is_leader) = (0, false, false);
            m.error = Some("exec in etcd-cp-1 forbidden".into());
        }
        app.cluster.etcd.leader = None;
        let buf = screen(&mut app, 120, 30);
        assert!(find(&buf, "quorum unknown").is_some(), "{}", text(&buf));
        assert!(find(&buf, "QUORUM LOST").is_none(), "{}", text(&buf));
    }

    #[test]
    fn members_lost_from_here_while_the_apiservers_read_etcd_is_a_broken_path() {
        let mut app = fixture::app();
        down(&mut app, "cp-2", "connection refused");
        down(&mut app, "cp-3", "connection refused");
        for api in app.cluster.apiservers.values_mut() {
            api.etcd_ok = Some(true);
        }
        let buf = screen(&mut app, 120, 30);
        assert!(
            find(&buf, "quorum unknown: unreachable from here").is_some(),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, "[+]etcd ok").is_some(), "{}", text(&buf));
        assert!(find(&buf, "QUORUM LOST").is_none(), "{}", text(&buf));
    }

    #[test]
    fn no_etcd_status_at_all_is_an_unknown_quorum() {
        let mut app = fixture::app();
        app.cluster.etcd = Default::default();
        let buf = screen(&mut app, 120, 30);
        assert!(find(&buf, "quorum unknown: no etcd status").is_some());
    }

    #[test]
    fn one_member_down_is_yellow_with_the_error_in_red() {
        let mut app = fixture::app();
        down(&mut app, "cp-3", "context deadline exceeded");
        let buf = screen(&mut app, 120, 30);
        let line = "2/3 healthy · needs 2 · tolerates 0 more failures";
        assert_eq!(
            style_of(&buf, line).fg,
            Some(Color::Yellow),
            "{}",
            text(&buf)
        );
        assert_eq!(style_of(&buf, "✗ context deadline").fg, Some(Color::Red));
    }

    #[test]
    fn two_members_down_is_quorum_lost_in_bold_red() {
        let mut app = fixture::app();
        down(&mut app, "cp-2", "connection refused");
        down(&mut app, "cp-3", "connection refused");
        let buf = screen(&mut app, 100, 30);
        let style = style_of(&buf, "QUORUM LOST 1/3 healthy · needs 2");
        assert_eq!(style.fg, Some(Color::Red), "{}", text(&buf));
        assert!(style.add_modifier.contains(Modifier::BOLD));
        let warning = "! quorum lost: 1/3 healthy, 2 needed; the API";
        assert_eq!(style_of(&buf, warning).fg, Some(Color::Red));
    }

    #[test]
    fn learners_alarms_and_joining_members_are_tagged() {
        let mut app = fixture::app();
        let members = &mut app.cluster.etcd.members;
        members[1].alarms = vec!["NOSPACE".into()];
        members[2].is_learner = true;
        members[2].name = "cp-9".into();
        let buf = screen(&mut app, 120, 30);
        assert_eq!(
            style_of(&buf, "NOSPACE").fg,
            Some(Color::Red),
            "{}",
            text(&buf)
        );
        assert!(
            find(&buf, "cp-9 learner joining").is_some(),
            "{}",
            text(&buf)
        );
        // The learner does not vote: two voters, both healthy.
        assert!(find(&buf, "2/2 healthy").is_some());
        assert!(find(&buf, "! 2 members tolerate 0 failures").is_some());
    }

    /// A control-plane join as the sources report it: a learner named after a master whose
    /// Node is not registered yet. Following "remove it" here would break the join.
    #[test]
    fn a_joining_learner_is_joining_not_a_stale_member() {
        let mut app = fixture::app();
        let mut status = app.cluster.etcd.clone();
        app.cluster.apply(ClusterEvent::Etcd(status.clone()));
        let mut learner = status.members[2].clone();
        (learner.id, learner.name, learner.is_learner) = (0xd4, "cp-4".into(), true);
        status.members.push(learner);
        app.cluster.apply(ClusterEvent::Etcd(status));
        let buf = screen(&mut app, 140, 40);
        assert!(
            find(&buf, "cp-4 learner joining").is_some(),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, "stale").is_none(), "{}", text(&buf));
        assert!(find(&buf, "member remove").is_none(), "{}", text(&buf));
        // Its Node registers, then is deleted: now it is left behind.
        let node = fixture::node("cp-4", true, "10.0.0.14", 10);
        app.cluster.apply(ClusterEvent::NodeUpsert(node));
        app.cluster.apply(ClusterEvent::NodeRemoved("cp-4".into()));
        let buf = screen(&mut app, 140, 40);
        assert!(find(&buf, "cp-4 learner stale").is_some(), "{}", text(&buf));
        let warning = "! stale member cp-4 (d4): its node was deleted";
        assert!(find(&buf, warning).is_some(), "{}", text(&buf));
    }

    /// cp-1, the leader, dies: cp-2 and cp-3 still name it until their election timeout.
    /// The timeline says there is no leader from that moment; so does the pane.
    #[test]
    fn during_an_election_the_pane_names_no_leader_like_the_timeline() {
        let mut app = fixture::app();
        let mut status = app.cluster.etcd.clone();
        app.cluster.apply(ClusterEvent::Etcd(status.clone()));
        let dead = &mut status.members[0];
        // The live poller still marks it leader: its followers name it.
        (dead.reachable, dead.is_leader, dead.raft_term) = (false, true, 0);
        dead.error = Some("context deadline exceeded".into());
        // It was asked, on its own endpoint, and did not answer.
        dead.endpoint = Some("https://10.0.0.11:2379".into());
        app.cluster.apply(ClusterEvent::Etcd(status));
        let timeline = &app.cluster.timeline;
        let said: Vec<_> = timeline.iter().rev().take(2).map(|e| &e.text).collect();
        assert!(
            said.iter().any(|t| *t == "etcd has no leader (was cp-1)"),
            "{said:?}"
        );
        let buf = screen(&mut app, 120, 30);
        assert!(find(&buf, "leader cp-1").is_none(), "{}", text(&buf));
        assert!(find(&buf, "★").is_none(), "{}", text(&buf));
        assert_eq!(style_of(&buf, "no leader ").fg, Some(Color::Red));
        let election = "! no leader yet: election in progress";
        assert!(find(&buf, election).is_some(), "{}", text(&buf));
    }

    #[test]
    fn a_long_error_is_cut_to_the_pane() {
        let mut app = fixture::app();
        down(
            &mut app,
            "cp-2",
            &"dial tcp 10.0.0.12:2379: i/o timeout ".repeat(5),
        );
        let buf = screen(&mut app, 80, 24);
        let (x, y) = find(&buf, "✗ dial tcp").unwrap();
        let row = hatui_testkit::screen::row(&buf, y);
        let err = &row[row.find("✗ dial tcp").unwrap()..];
        assert!(err.contains("…│"), "{row} (from column {x})");
    }
}
