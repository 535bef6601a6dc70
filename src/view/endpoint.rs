//! The control-plane endpoint (load balancer) and each master's own apiserver, asked
//! directly: a master can look up through the LB while its own apiserver is useless, and
//! the LB (which never asks `/readyz`) can keep sending traffic to one that cannot serve.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{ClusterState, LbBackend};

/// Content rows wanted: the LB line, how it checks (when known) and one per apiserver.
pub fn wanted(cluster: &ClusterState) -> usize {
    1 + usize::from(cluster.endpoint.balancer.is_some()) + cluster.apiservers.len()
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
    let inner = pane::frame(frame, area, title, focused);

    let cursor = &mut app.ui.endpoint;
    cursor.scroll_into_view(wanted(c), usize::from(inner.height));
    let label_w = c
        .apiservers
        .keys()
        .map(|n| format::width(n))
        .fold(2, usize::max);
    let ep = &c.endpoint;
    // The LB's own view of each master, when the source knows it (the lab does).
    let lb_w = if ep.backends.is_empty() { 0 } else { LB_W + 1 };
    let room = usize::from(inner.width).saturating_sub(label_w + 1);
    let lb = line(
        vec![Span::styled(format::pad("LB", label_w), theme::BOLD)],
        status(ep.ready, ep.detail.as_deref(), ep.latency_ms, room),
        &ep.address,
    );
    let how = ep.balancer.as_deref().map(|b| {
        let text = format::fit(&format!("{:w$}{b}", "", w = label_w + 1), room + label_w);
        Line::from(Span::styled(text, theme::DIM))
    });
    let masters = c.apiservers.values().map(|a| {
        let st = status(
            Some(a.ready),
            a.detail.as_deref(),
            a.latency_ms,
            room.saturating_sub(lb_w),
        );
        let mut label = vec![Span::styled(format::pad(&a.node, label_w), theme::BOLD)];
        if lb_w > 0 {
            label.push(Span::raw(" "));
            label.push(backend(ep.backend(&a.node), a.ready));
        }
        line(label, st, &a.address)
    });
    let lines = std::iter::once(lb)
        .chain(how)
        .chain(masters)
        .skip(cursor.offset);
    let selected = pane::selected_row(cursor, focused);
    pane::rows(frame, inner, lines, selected, theme::selected(true));
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

/// `● ready 3ms`, `✗ DOWN: etcd: no quorum` (cut to `room` cells), or `… probing`.
fn status(
    ready: Option<bool>,
    detail: Option<&str>,
    ms: Option<f64>,
    room: usize,
) -> Span<'static> {
    match ready {
        Some(true) => {
            let ms = ms.map(|m| format!(" {}", format::latency(m)));
            let how = detail.map(|d| format!(" {d}")).unwrap_or_default();
            let text = format!("● ready{}{how}", ms.unwrap_or_default());
            Span::styled(format::fit(&text, room), theme::GOOD)
        }
        Some(false) => {
            let why = detail.map(|d| format!(": {d}")).unwrap_or_default();
            Span::styled(format::fit(&format!("✗ DOWN{why}"), room), theme::ALARM)
        }
        None => Span::styled("… probing", theme::DIM),
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use crate::view::fixture::{self, find, screen, style_of, text};

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
    fn each_master_shows_what_the_load_balancer_thinks_beside_its_readyz() {
        use crate::model::LbBackend;
        let mut app = fixture::app();
        let api = app.cluster.apiservers.get_mut("cp-3").unwrap();
        api.ready = false;
        api.detail = Some("powered off (no route to host)".into());
        let ep = &mut app.cluster.endpoint;
        ep.balancer = Some("nlb: TCP check of :6443 every 10s, out after 3 fails".into());
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
            find(&buf, "nlb: TCP check of :6443").is_some(),
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

    #[test]
    fn an_unprobed_endpoint_is_neither_up_nor_down() {
        let mut app = fixture::app();
        app.cluster.endpoint.ready = None;
        let buf = screen(&mut app, 100, 30);
        assert!(find(&buf, "LB   … probing").is_some(), "{}", text(&buf));
    }
}
