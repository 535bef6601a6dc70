//! The control-plane endpoint (load balancer) and each master's own apiserver, asked
//! directly: a master can look up through the LB while its own apiserver is useless.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{ClusterState, FeedKind, LbBackend};

/// Content rows it cannot do without: the LB line, how it checks (when known) and one per
/// apiserver.
pub fn needed(cluster: &ClusterState) -> usize {
    1 + usize::from(cluster.endpoint.balancer.is_some()) + cluster.apiservers.len()
}

/// Content rows wanted at inner width `width`: the LB lines and one per apiserver, each
/// wrapped when it is longer than the pane is wide.
pub fn wanted(cluster: &ClusterState, width: u16) -> usize {
    let (lines, indent) = lines(cluster);
    let wrap = |l: Line<'static>| format::wrap_line(l, usize::from(width), indent).len();
    lines.into_iter().map(wrap).sum()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let c = &app.cluster;
    let focused = app.ui.focus == Pane::Endpoint;
    let ready = c.apiservers.values().filter(|a| a.ready).count();
    let mut title = vec![pane::name("Endpoint")];
    if !c.apiservers.is_empty() {
        let style = if ready == c.apiservers.len() {
            theme::DIM
        } else {
            theme::BAD
        };
        let text = format!("{ready}/{} apiservers ready ", c.apiservers.len());
        title.push(Span::styled(text, style));
    }
    title.extend(pane::stale(c, &[FeedKind::Endpoint]));
    let inner = pane::frame(frame, area, title, focused);

    let (lines, indent) = lines(c);
    let width = usize::from(inner.width);
    // Wrapped when every row fits so; squeezed, one row each (cut with `…`) shows them all.
    let wrap = wanted(c, inner.width) <= usize::from(inner.height);
    let item = |i: usize| {
        let line = lines.get(i).cloned().unwrap_or_default();
        if wrap {
            format::wrap_line(line, width, indent)
        } else {
            vec![line]
        }
    };
    let cursor = &mut app.ui.endpoint;
    let highlight = theme::selected(true);
    pane::items(frame, inner, lines.len(), item, cursor, focused, highlight);
}

/// The LB's row (and how it checks, when known), then each apiserver's with the LB's view
/// of it; and where their status starts, to wrap under it.
fn lines(c: &ClusterState) -> (Vec<Line<'static>>, usize) {
    let label_w = c
        .apiservers
        .keys()
        .map(|n| format::width(n))
        .fold(2, usize::max);
    let ep = &c.endpoint;
    // The LB's own view of each master, when the source knows it (the lab does).
    let lb_col = !ep.backends.is_empty();
    let lb = line(
        vec![Span::styled(format::pad("LB", label_w), theme::BOLD)],
        status(ep.ready, ep.detail.as_deref(), ep.latency_ms),
        &ep.address,
    );
    let how = ep.balancer.as_deref().map(|b| {
        let text = format!("{:w$}{b}", "", w = label_w + 1);
        Line::from(Span::styled(text, theme::DIM))
    });
    let masters = c.apiservers.values().map(|a| {
        let st = status(Some(a.ready), a.detail.as_deref(), a.latency_ms);
        let mut label = vec![Span::styled(format::pad(&a.node, label_w), theme::BOLD)];
        if lb_col {
            label.push(Span::raw(" "));
            label.push(backend(ep.backend(&a.node), a.ready));
        }
        line(label, st, &a.address)
    });
    let lines = std::iter::once(lb).chain(how).chain(masters).collect();
    let indent = label_w + 1 + if lb_col { LB_W + 1 } else { 0 };
    (lines, indent)
}

fn line(mut spans: Vec<Span<'static>>, status: Span<'static>, address: &str) -> Line<'static> {
    spans.push(Span::raw(" "));
    spans.push(status);
    spans.push(Span::styled(format!("  {address}"), theme::DIM));
    Line::from(spans)
}

/// Width of the LB column: `lb:in`, `lb:out`, `lb:in 2/3↓` (checks failed towards a
/// drop), `lb:out 1/2↑` (passed towards a return), `vip:here`, `vip:-`.
const LB_W: usize = 11;

/// What the load balancer thinks of one master. Traffic sent to an apiserver whose
/// `/readyz` fails is the trap: that shows in alarm colours.
fn backend(b: Option<&LbBackend>, ready: bool) -> Span<'static> {
    let Some(b) = b else {
        return Span::styled(format::pad("lb:?", LB_W), theme::DIM);
    };
    // `in service, 2/3 checks failed` → `2/3`.
    let streak = b.detail.split(", ").nth(1);
    let streak = streak.and_then(|s| s.split(' ').next());
    let text = match (b.serving, b.detail.as_str(), streak) {
        (true, "holds the VIP", _) => "vip:here".to_string(),
        (false, "standby", _) => "vip:-".to_string(),
        (true, _, Some(n)) => format!("lb:in {n}↓"),
        (true, _, None) => "lb:in".to_string(),
        (false, _, Some(n)) => format!("lb:out {n}↑"),
        (false, _, None) => "lb:out".to_string(),
    };
    let style = match (b.serving, ready) {
        (true, false) => theme::ALARM,
        (true, true) => theme::GOOD,
        (false, _) => theme::DIM,
    };
    Span::styled(format::pad(&text, LB_W), style)
}

/// `● ready 3ms` (and how, e.g. `via cp-1`), `✗ DOWN: etcd: no quorum`, or `… probing`.
fn status(ready: Option<bool>, detail: Option<&str>, ms: Option<f64>) -> Span<'static> {
    match ready {
        Some(true) => {
            let ms = ms.map(|m| format!(" {}", format::latency(m)));
            let how = detail.map(|d| format!(" {}", format::one_line(d)));
            let text = format!(
                "● ready{}{}",
                ms.unwrap_or_default(),
                how.unwrap_or_default()
            );
            Span::styled(text, theme::GOOD)
        }
        Some(false) => {
            let why = detail.map(|d| format!(": {}", format::one_line(d)));
            let text = format!("✗ DOWN{}", why.unwrap_or_default());
            Span::styled(text, theme::ALARM)
        }
        None => Span::styled("… probing", theme::DIM),
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use crate::model::{ClusterEvent, FeedKind, FeedStatus};
    use crate::view::fixture::{self, find, screen, style_of, text};

    #[test]
    fn probes_that_stop_answering_turn_the_title_stale_by_age() {
        let mut app = fixture::app();
        let answered = FeedStatus {
            every: Some(std::time::Duration::from_secs(2)),
            ..FeedStatus::default()
        };
        app.cluster
            .apply(ClusterEvent::Feed(FeedKind::Endpoint, answered));
        let later = |s| app.cluster.now + jiff::SignedDuration::from_secs(s);
        let (fresh, silent) = (later(6), later(12));
        app.cluster.apply(ClusterEvent::Clock(fresh));
        let buf = screen(&mut app, 120, 40);
        assert!(find(&buf, "stale").is_none(), "{}", text(&buf));
        app.cluster.apply(ClusterEvent::Clock(silent));
        let buf = screen(&mut app, 200, 60);
        let title = " stale 12s: no answer from the /readyz probes ";
        assert_eq!(style_of(&buf, title).fg, Some(Color::Red), "{}", text(&buf));
    }

    #[test]
    fn each_apiserver_is_ready_or_says_why_not() {
        let mut app = fixture::app();
        let api = app.cluster.apiservers.get_mut("cp-2").unwrap();
        api.ready = false;
        api.detail = Some("etcd: no quorum".into());
        let buf = screen(&mut app, 100, 30);
        assert_eq!(
            style_of(&buf, "● ready 3ms").fg,
            Some(Color::Green),
            "{}",
            text(&buf)
        );
        assert_eq!(
            style_of(&buf, "✗ DOWN: etcd: no quorum").fg,
            Some(Color::Red)
        );
        assert!(find(&buf, "2/3 apiservers ready").is_some());
    }

    #[test]
    fn a_long_failure_wraps_and_keeps_the_address_whole() {
        let mut app = fixture::app();
        let api = app.cluster.apiservers.get_mut("cp-1").unwrap();
        api.ready = false;
        api.detail = Some("powered off (no route to host)".into());
        // 58 columns inside the pane: one cell short of the row.
        let buf = screen(&mut app, 120, 40);
        let (x, y) = find(&buf, "cp-1 ✗ DOWN: powered off (no route to host)").unwrap();
        assert_eq!(
            find(&buf, "10.0.0.11:6443"),
            Some((x + 5, y + 1)),
            "{}",
            text(&buf)
        );
        // No room to wrap (the nodes take it): one row each, cut with an ellipsis.
        for i in 3..30 {
            let node = fixture::node(&format!("worker-{i}"), false, "10.0.1.9", 60);
            app.cluster.nodes.upsert(node);
        }
        let buf = screen(&mut app, 80, 24);
        let (x, y) = find(&buf, "cp-1 ✗ DOWN: powered").unwrap();
        let row = hatui_testkit::screen::row(&buf, y);
        assert!(
            row[row.find("cp-1 ✗").unwrap()..].contains("…│"),
            "{x}: {row}"
        );
        assert!(find(&buf, "cp-3 ● ready").is_some(), "{}", text(&buf));
    }

    #[test]
    fn an_unprobed_endpoint_is_neither_up_nor_down() {
        let mut app = fixture::app();
        app.cluster.endpoint.ready = None;
        let buf = screen(&mut app, 100, 30);
        assert!(find(&buf, "LB   … probing").is_some(), "{}", text(&buf));
    }

    #[test]
    fn each_master_shows_what_the_load_balancer_thinks_beside_its_readyz() {
        use crate::model::LbBackend;
        let mut app = fixture::app();
        let api = app.cluster.apiservers.get_mut("cp-3").unwrap();
        api.ready = false;
        api.detail = Some("powered off (no route to host)".into());
        let ep = &mut app.cluster.endpoint;
        ep.balancer = Some("nlb: TCP :6443 every 30s, fall 2, rise 5, passive".into());
        ep.detail = Some("via cp-1".into());
        let backend = |node: &str, serving, detail: &str| LbBackend {
            node: node.into(),
            serving,
            detail: detail.into(),
        };
        ep.backends = vec![
            backend("cp-1", true, "in service"),
            backend("cp-2", false, "out of service"),
            backend("cp-3", true, "in service, 2/3 checks failed"),
        ];
        let buf = screen(&mut app, 120, 30);
        assert!(
            find(&buf, "nlb: TCP :6443 every 30s").is_some(),
            "{}",
            text(&buf)
        );
        assert!(
            find(&buf, "● ready 3ms via cp-1").is_some(),
            "{}",
            text(&buf)
        );
        assert!(
            find(&buf, "cp-1 lb:in       ● ready").is_some(),
            "{}",
            text(&buf)
        );
        assert!(
            find(&buf, "cp-2 lb:out      ● ready").is_some(),
            "{}",
            text(&buf)
        );
        let trap = "cp-3 lb:in 2/3↓  ✗ DOWN: powered off";
        assert!(find(&buf, trap).is_some(), "{}", text(&buf));
        assert_eq!(style_of(&buf, "lb:in 2/3↓").fg, Some(Color::Red));
    }
}
