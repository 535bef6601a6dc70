//! Certificate expiry in the TTLs pane: the cluster CA and each master's apiserver serving
//! certificate, and what to do when one is close to its end. Certificates live for years,
//! so their countdowns read in years and days, and warn a month ahead, not minutes.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{format, theme};
use crate::model::{Certificate, ClusterState};

pub const RENEW_CERTS: &str = "kubeadm certs renew all";
const RESTART: &str = "then restart the control-plane static pods (move the manifests out \
of /etc/kubernetes/manifests and back)";
const CA_ROTATION: &str = "the CA cannot be renewed by kubeadm: rotate it by hand (Kubernetes \
docs: manual rotation of CA certificates)";

/// One row per certificate, the CA first: `CA  9y364d`, `apiserver cp-1  364d`.
pub fn rows(c: &ClusterState) -> Vec<Line<'static>> {
    let certs = ordered(c);
    let name_w = certs.iter().map(|x| format::width(&x.name)).max();
    let ttl_w = certs.iter().map(|x| format::width(&ttl(x, c).0)).max();
    certs
        .iter()
        .map(|x| {
            let (text, style) = ttl(x, c);
            Line::from(vec![
                Span::styled(format::pad(&x.name, name_w.unwrap_or(0)), theme::BOLD),
                Span::raw("  "),
                Span::styled(format::pad(&text, ttl_w.unwrap_or(0)), style),
            ])
        })
        .collect()
}

/// The rows of [`rows`] folded for a short pane: certificates of one kind (the first word
/// of their name) on one row with their count and the soonest end, `apiservers ×3  364d`.
pub fn folded(c: &ClusterState) -> Vec<Line<'static>> {
    let mut groups: Vec<(String, Vec<&Certificate>)> = Vec::new();
    for x in ordered(c) {
        let kind = x.name.split_whitespace().next().unwrap_or("").to_string();
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, members)) => members.push(x),
            None => groups.push((kind, vec![x])),
        }
    }
    let named: Vec<(String, &Certificate)> = groups
        .iter()
        .map(|(kind, members)| {
            let soonest = members.iter().min_by_key(|x| x.not_after).copied();
            let name = match members.len() {
                1 => members[0].name.clone(),
                n => format!("{kind}s ×{n}"),
            };
            (name, soonest.unwrap_or(members[0]))
        })
        .collect();
    let name_w = named.iter().map(|(n, _)| format::width(n)).max();
    let ttl_w = named.iter().map(|(_, x)| format::width(&ttl(x, c).0)).max();
    named
        .into_iter()
        .map(|(name, x)| {
            let (text, style) = ttl(x, c);
            Line::from(vec![
                Span::styled(format::pad(&name, name_w.unwrap_or(0)), theme::BOLD),
                Span::raw("  "),
                Span::styled(format::pad(&text, ttl_w.unwrap_or(0)), style),
            ])
        })
        .collect()
}

/// How to renew what is inside the renewal window: the masters to run kubeadm on, and
/// the CA's manual rotation. Empty while every certificate has more than 30 days.
pub fn advice(c: &ClusterState, width: usize) -> Vec<Line<'static>> {
    let due: Vec<&Certificate> = ordered(c)
        .into_iter()
        .filter(|x| x.needs_renewal(c.now))
        .collect();
    let masters: Vec<&str> = due.iter().filter_map(|x| x.node.as_deref()).collect();
    let mut lines = Vec::new();
    let dim = |text: &str| {
        format::wrap(text, width)
            .into_iter()
            .map(|l| Line::styled(l, theme::DIM))
    };
    if !masters.is_empty() {
        lines.extend(dim(&format!("on {}:", masters.join(", "))));
        let cmd = format::shell(RENEW_CERTS, width).into_iter();
        lines.extend(cmd.map(|l| Line::styled(l, theme::COMMAND)));
        lines.extend(dim(RESTART));
    }
    if due.iter().any(|x| x.is_ca()) {
        let wrapped = format::wrap(CA_ROTATION, width).into_iter();
        lines.extend(wrapped.map(|l| Line::styled(l, theme::WARN)));
    }
    lines
}

/// Certificates outside the renewal window: rows the layout may leave to scrolling.
pub fn not_due(c: &ClusterState) -> usize {
    let due = |x: &&Certificate| x.needs_renewal(c.now);
    c.certificates.values().filter(|x| !due(x)).count()
}

/// The CA, then the masters' certificates by name.
fn ordered(c: &ClusterState) -> Vec<&Certificate> {
    let mut certs: Vec<&Certificate> = c.certificates.values().collect();
    certs.sort_by_key(|x| (!x.is_ca(), x.name.clone()));
    certs
}

fn ttl(x: &Certificate, c: &ClusterState) -> (String, Style) {
    let s = x.expires_in_s(c.now);
    if s <= 0 {
        return (format!("EXPIRED {} ago", format::duration(s)), theme::ALARM);
    }
    let style = match s / 86_400 {
        ..7 => theme::ALARM,
        7..30 => theme::WARN,
        _ => theme::GOOD,
    };
    (format::validity(s), style)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use ratatui::style::Color;

    use crate::app::App;
    use crate::model::Certificate;
    use crate::view::fixture::{self, find, screen, style_of, text};

    const DAY: i64 = 86_400;

    /// The fixture with the CA and cp-1's certificate `ca_s` and `api_s` seconds from
    /// their end.
    fn with_certs(ca_s: i64, api_s: i64) -> App {
        let mut app = fixture::app();
        let now = app.cluster.now.as_second();
        for (name, node, left) in [("CA", None, ca_s), ("apiserver cp-1", Some("cp-1"), api_s)] {
            let cert = Certificate {
                name: name.into(),
                node: node.map(str::to_string),
                not_after: Timestamp::from_second(now + left).unwrap(),
                sans: Vec::new(),
            };
            app.cluster.certificates.insert(name.into(), cert);
        }
        app
    }

    #[test]
    fn certificates_count_down_in_years_and_days() {
        let mut app = with_certs(3_650 * DAY - 60, 365 * DAY - 60);
        let buf = screen(&mut app, 100, 30);
        assert!(
            find(&buf, "CA              9y364d").is_some(),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, "apiserver cp-1  364d").is_some());
        assert_eq!(style_of(&buf, "9y364d").fg, Some(Color::Green));
        assert!(find(&buf, super::RENEW_CERTS).is_none());
    }

    #[test]
    fn under_30_days_the_renew_command_shows() {
        let buf = screen(&mut with_certs(3_650 * DAY, 20 * DAY), 100, 30);
        assert_eq!(
            style_of(&buf, "20d00h").fg,
            Some(Color::Yellow),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, "on cp-1:").is_some());
        assert!(find(&buf, &format!("$ {}", super::RENEW_CERTS)).is_some());
        assert!(find(&buf, "then restart the control-plane static pods").is_some());
        assert!(find(&buf, "rotate it by hand").is_none(), "the CA is fine");

        // Taller: both leases keep a row each above.
        let buf = screen(&mut with_certs(6 * DAY, -90), 100, 34);
        assert_eq!(
            style_of(&buf, "6d00h").fg,
            Some(Color::Red),
            "{}",
            text(&buf)
        );
        assert_eq!(style_of(&buf, "EXPIRED 1m30s ago").fg, Some(Color::Red));
        assert!(
            find(&buf, "the CA cannot be renewed by kubeadm").is_some(),
            "{}",
            text(&buf)
        );
    }

    #[test]
    fn at_80x24_the_pane_scrolls_to_the_renew_command() {
        let mut app = with_certs(3_650 * DAY, 20 * DAY);
        app.ui.focus = crate::app::Pane::Tokens;
        let rows = app.rows_in(crate::app::Pane::Tokens);
        app.ui.tokens.selected = rows - 1;
        let buf = screen(&mut app, 80, 24);
        assert!(
            find(&buf, "$ kubeadm certs renew all").is_some(),
            "{}",
            text(&buf)
        );
    }
}
