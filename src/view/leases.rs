//! Leader-election leases: who leads the scheduler and controller-manager, how fresh that
//! is, and whether the lease has run out (a takeover takes about one lease duration).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{ClusterState, FeedKind, Lease};

/// Content rows wanted at inner width `width`.
pub fn wanted(cluster: &ClusterState, width: u16) -> usize {
    let c = cluster;
    let legend = c.leases.values().any(|l| holder(c, l).0.ends_with('?'));
    c.leases.len().max(1) * rows_per_lease(c, width) + usize::from(legend)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let c = &app.cluster;
    let focused = app.ui.focus == Pane::Leases;
    let mut title = vec![pane::name("Leases")];
    // In the title too, so a pane squeezed to one row still says it.
    let expired = c.leases.values().filter(|l| l.expired(c.now)).count();
    if expired > 0 {
        title.push(Span::styled(format!("{expired} EXPIRED "), theme::ALARM));
    }
    title.extend(pane::stale(c, &[FeedKind::Leases]));
    let inner = pane::frame(frame, area, title, focused);
    if c.leases.is_empty() {
        let line = Line::styled("no leader-election leases seen", theme::DIM);
        pane::text(frame, inner, [line]);
        return;
    }

    if usize::from(inner.height) < c.leases.len() {
        // Fewer rows than leases: every holder on one row, so no leader drops out.
        pane::text(frame, inner, [together(c)]);
        return;
    }
    // Two rows each only when every lease gets its two: both leaders stay in view.
    let per = rows_per_lease(c, inner.width);
    let per = if usize::from(inner.height) < per * c.leases.len() {
        1
    } else {
        per
    };
    let cols = columns(c);
    let item = |i: usize| {
        let Some(l) = c.leases.values().nth(i) else {
            return Vec::new();
        };
        let (who, when) = (who(c, l, cols), when(l, c));
        if per == 1 {
            vec![Line::from([who, vec![Span::raw("  ")], when].concat())]
        } else {
            let indent = vec![Span::raw("  ")];
            vec![Line::from(who), Line::from([indent, when].concat())]
        }
    };
    let highlight = theme::selected(true);
    // A holder no Node matches is marked `?`: say what that means where a row is spare.
    let unmatched = c.leases.values().any(|l| holder(c, l).0.ends_with('?'));
    let mut area = inner;
    if unmatched && usize::from(inner.height) > per * c.leases.len() {
        area.height -= 1;
        let legend = Rect {
            y: area.bottom(),
            height: 1,
            ..inner
        };
        let text = "?: no Node is named after the holder's host";
        pane::text(frame, legend, [Line::styled(text, theme::DIM)]);
    }
    let cursor = &mut app.ui.leases;
    pane::items(
        frame,
        area,
        c.leases.len(),
        item,
        cursor,
        focused,
        highlight,
    );
}

/// `cm → cp-2 · sched → cp-1`: the leases side by side, by their pods' short names.
fn together(c: &ClusterState) -> Line<'static> {
    let mut spans = Vec::new();
    for l in c.leases.values() {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", theme::DIM));
        }
        let short = match l.name.as_str() {
            "kube-controller-manager" => "cm",
            "kube-scheduler" => "sched",
            other => other,
        };
        let (holder, style) = holder(c, l);
        spans.push(Span::raw(format!("{short} ")));
        spans.push(Span::styled(holder, style));
        if l.expired(c.now) {
            spans.push(Span::styled(" EXPIRED", theme::ALARM));
        }
    }
    Line::from(spans)
}

/// Widths of the name and holder columns, so the timings line up.
fn columns(c: &ClusterState) -> (usize, usize) {
    let widest = |f: &dyn Fn(&Lease) -> usize| c.leases.values().map(f).max().unwrap_or(0);
    (
        widest(&|l| format::width(&l.name)),
        widest(&|l| format::width(&holder(c, l).0)),
    )
}

/// One row when name, holder and timings fit side by side; two when they do not.
fn rows_per_lease(c: &ClusterState, width: u16) -> usize {
    let cols = columns(c);
    let one_row = c.leases.values().map(|l| {
        let spans = [who(c, l, cols), vec![Span::raw("  ")], when(l, c)].concat();
        spans.iter().map(Span::width).sum::<usize>()
    });
    if one_row.max().unwrap_or(0) <= usize::from(width) {
        1
    } else {
        2
    }
}

/// The Node holding it; a host no Node matches is shown as the host with a `?`.
fn holder(c: &ClusterState, lease: &Lease) -> (String, ratatui::style::Style) {
    match lease.holder_node() {
        Some(host) => match c.holder_node(lease) {
            Some(node) => (format!("→ {node}"), theme::BOLD),
            None => (format!("→ {host}?"), theme::WARN),
        },
        // A clean stop clears the holder (fast takeover); a lease never held has no times.
        None if lease.released() => match c.lease_released_by(&lease.name) {
            Some(by) => (format!("— released by {by}"), theme::WARN),
            None => ("— released".to_string(), theme::WARN),
        },
        None => ("— none".to_string(), theme::WARN),
    }
}

fn who(c: &ClusterState, lease: &Lease, (name_w, holder_w): (usize, usize)) -> Vec<Span<'static>> {
    let (text, style) = holder(c, lease);
    vec![
        Span::raw(format::pad(&lease.name, name_w)),
        Span::raw(" "),
        Span::styled(format::pad(&text, holder_w), style),
    ]
}

/// `renewed 2s ago (15s) · transitions 3`, with `EXPIRED` once renewals stopped (a
/// released lease is not expired: its holder said it was leaving).
fn when(lease: &Lease, c: &ClusterState) -> Vec<Span<'static>> {
    let renewed = match lease.renewed_ago_s(c.now) {
        Some(ago) => format!("renewed {} ago", format::duration(ago.max(0))),
        None => "never renewed".to_string(),
    };
    let mut spans = vec![Span::raw(format!("{renewed} ({}s)", lease.duration_s))];
    // Before the transitions: if the row is cut, this is the part that must stay.
    if lease.expired(c.now) {
        spans.push(Span::styled(" EXPIRED", theme::ALARM));
    }
    let transitions = format!(" · transitions {}", lease.transitions);
    spans.push(Span::styled(transitions, theme::DIM));
    spans
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use crate::app::Pane;
    use crate::model::{FeedKind, FeedStatus};
    use crate::view::fixture::{self, at, find, screen, style_of, text};

    #[test]
    fn holders_and_renewals_fit_one_row_when_wide() {
        let buf = screen(&mut fixture::app(), 140, 30);
        let row = "kube-scheduler          → cp-1  renewed 2s ago (15s) · transitions 2";
        assert!(find(&buf, row).is_some(), "{}", text(&buf));
        assert!(find(&buf, "EXPIRED").is_none());
    }

    #[test]
    fn an_expired_or_released_lease_says_so() {
        let mut app = fixture::app();
        let sched = app.cluster.leases.get_mut("kube-scheduler").unwrap();
        sched.renew_time = Some(at(-42));
        let cm = app
            .cluster
            .leases
            .get_mut("kube-controller-manager")
            .unwrap();
        cm.holder_identity = None;
        cm.duration_s = 1;
        cm.renew_time = Some(at(-30));
        let buf = screen(&mut app, 100, 30);
        assert!(
            find(&buf, "renewed 42s ago (15s)").is_some(),
            "{}",
            text(&buf)
        );
        assert_eq!(style_of(&buf, " EXPIRED").fg, Some(Color::Red));
        assert!(find(&buf, " Leases 1 EXPIRED ").is_some());
        assert_eq!(style_of(&buf, "— released").fg, Some(Color::Yellow));
        assert!(
            find(&buf, "renewed 30s ago (1s) EXPIRED").is_none(),
            "released, not expired: {}",
            text(&buf)
        );
    }

    #[test]
    fn a_lease_seen_released_names_who_released_it() {
        use crate::model::ClusterEvent;
        let mut app = fixture::app();
        let mut lease = app.cluster.leases["kube-scheduler"].clone();
        assert_eq!(lease.holder_node(), Some("cp-1"));
        (lease.holder_identity, lease.duration_s) = (Some(String::new()), 1);
        lease.renew_time = Some(at(0));
        app.cluster.apply(ClusterEvent::LeaseUpsert(lease));
        app.cluster.apply(ClusterEvent::Clock(at(5)));
        let buf = screen(&mut app, 140, 30);
        assert!(find(&buf, "— released by cp-1").is_some(), "{}", text(&buf));
        assert!(find(&buf, "EXPIRED").is_none(), "{}", text(&buf));
        let notes: Vec<_> = app
            .cluster
            .timeline
            .iter()
            .map(|e| e.text.clone())
            .collect();
        assert!(
            notes
                .iter()
                .any(|n| n == "lease kube-scheduler released by cp-1"),
            "{notes:?}"
        );
        assert!(
            !notes.iter().any(|n| n.contains("expired")),
            "a released lease does not expire: {notes:?}"
        );
        let mut taken = app.cluster.leases["kube-scheduler"].clone();
        taken.holder_identity = Some("cp-2_5f0c".into());
        (taken.duration_s, taken.transitions) = (15, 3);
        app.cluster.apply(ClusterEvent::LeaseUpsert(taken));
        let last = app.cluster.timeline.iter().last().unwrap();
        assert_eq!(
            last.text,
            "lease kube-scheduler taken over: (released by cp-1) → cp-2 (transitions 3)"
        );
        assert_eq!(app.cluster.lease_released_by("kube-scheduler"), None);
    }

    #[test]
    fn fewer_rows_than_leases_put_every_holder_on_one_row() {
        let mut app = fixture::app();
        let buf = screen(&mut app, 80, 20);
        assert!(
            find(&buf, "cm → cp-2 · sched → cp-1").is_some(),
            "{}",
            text(&buf)
        );
    }

    #[test]
    fn a_holder_host_no_node_matches_is_shown_with_a_question_mark() {
        let mut app = fixture::app();
        let sched = app.cluster.leases.get_mut("kube-scheduler").unwrap();
        sched.holder_identity = Some("ip-10-9-9-9_0c1d2e3f".into());
        let cm = app
            .cluster
            .leases
            .get_mut("kube-controller-manager")
            .unwrap();
        // The EC2 host name of cp-2 (10.0.0.12): its Node.
        cm.holder_identity = Some("ip-10-0-0-12_5b6a4789".into());
        let buf = screen(&mut app, 140, 30);
        assert_eq!(style_of(&buf, "→ ip-10-9-9-9?").fg, Some(Color::Yellow));
        assert!(
            find(&buf, "?: no Node is named after the holder's host").is_some(),
            "{}",
            text(&buf)
        );
        assert!(
            find(&buf, "kube-controller-manager → cp-2").is_some(),
            "{}",
            text(&buf)
        );
    }

    #[test]
    fn the_selected_lease_is_highlighted_on_both_rows() {
        let mut app = fixture::app();
        app.ui.focus = Pane::Leases;
        app.ui.leases.selected = 1;
        // Tall enough for two rows a lease (shorter, they share one row).
        let buf = screen(&mut app, 80, 30);
        let (x, y) = find(&buf, "kube-scheduler").unwrap();
        assert_eq!(buf[(x, y)].bg, Color::Blue);
        assert_eq!(buf[(x, y + 1)].bg, Color::Blue);
        assert_eq!(buf[(x, y - 1)].bg, Color::Reset);
    }

    #[test]
    fn a_feed_that_cannot_refresh_marks_the_title_stale() {
        let mut app = fixture::app();
        let status = FeedStatus {
            last_ok: Some(at(-42)),
            error: Some("API endpoint unreachable".into()),
            every: None,
        };
        app.cluster.feeds.insert(FeedKind::Leases, status.clone());
        app.cluster.feeds.insert(FeedKind::Pods, status);
        let buf = screen(&mut app, 140, 30);
        let title_of = |pane: &str| {
            let (_, y) = find(&buf, pane).unwrap();
            let row = hatui_testkit::screen::row(&buf, y);
            row[row.find(pane).unwrap()..].to_string()
        };
        let leases = title_of(" Leases ");
        assert!(
            leases.contains("stale 42s: API endpoint unreachable"),
            "{leases}"
        );
        assert_eq!(style_of(&buf, "stale 42s").fg, Some(Color::Red));
        // The Pods feed belongs to the node pane.
        assert!(title_of(" Nodes ").contains("stale 42s"), "{}", text(&buf));
        assert!(!title_of(" TTLs ").contains("stale"));
    }
}
