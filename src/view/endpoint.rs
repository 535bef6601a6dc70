//! The control-plane endpoint (load balancer) and each master's own apiserver, asked
//! directly: a master can look up through the LB while its own apiserver is useless.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{ClusterState, FeedKind};

/// Content rows wanted: the LB line and one per apiserver.
pub fn wanted(cluster: &ClusterState) -> usize {
    1 + cluster.apiservers.len()
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

    let cursor = &mut app.ui.endpoint;
    cursor.scroll_into_view(wanted(c), usize::from(inner.height));
    let label_w = c
        .apiservers
        .keys()
        .map(|n| format::width(n))
        .fold(2, usize::max);
    let room = usize::from(inner.width).saturating_sub(label_w + 1);
    let ep = &c.endpoint;
    let lb = line(
        format::pad("LB", label_w),
        status(ep.ready, ep.detail.as_deref(), ep.latency_ms, room),
        &ep.address,
    );
    let masters = c.apiservers.values().map(|a| {
        let st = status(Some(a.ready), a.detail.as_deref(), a.latency_ms, room);
        line(format::pad(&a.node, label_w), st, &a.address)
    });
    let lines = std::iter::once(lb).chain(masters).skip(cursor.offset);
    let selected = pane::selected_row(cursor, focused);
    pane::rows(frame, inner, lines, selected, theme::selected(true));
}

fn line(label: String, status: Span<'static>, address: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(label, theme::BOLD),
        Span::raw(" "),
        status,
        Span::styled(format!("  {address}"), theme::DIM),
    ])
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
            Span::styled(format!("● ready{}", ms.unwrap_or_default()), theme::GOOD)
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
    fn an_unprobed_endpoint_is_neither_up_nor_down() {
        let mut app = fixture::app();
        app.cluster.endpoint.ready = None;
        let buf = screen(&mut app, 100, 30);
        assert!(find(&buf, "LB   … probing").is_some(), "{}", text(&buf));
    }
}
