//! TTL countdowns: the certificate key (its `kubeadm-certs` Secret dies with a hidden 2 h
//! owner token) and the bootstrap tokens nodes join with. When one is gone, the pane says
//! which command brings it back. Then the certificates (`certs.rs`). No secret is ever
//! shown: the model holds none.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{certs, format, pane, theme};
use crate::app::{App, Cursor, Pane};
use crate::model::{ClusterState, FeedKind, Token};

const RENEW_CERT_KEY: &str = "kubeadm init phase upload-certs --upload-certs";
const NEW_JOIN_TOKEN: &str = "kubeadm token create --print-join-command";

/// Content rows wanted: the certificate key, the join tokens and certificates, the command
/// footer. Certificates far from expiry are left out: they take rows left over (this pane
/// is last), so a short terminal keeps the leases rather than a "9y364d".
pub fn wanted(cluster: &ClusterState, width: u16) -> usize {
    let width = usize::from(width);
    let middle = middle(cluster, width).0.len() - certs::not_due(cluster);
    cert_key(cluster, width).len() + middle + footer(cluster, width).len()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let c = &app.cluster;
    let focused = app.ui.focus == Pane::Tokens;
    let mut title = vec![pane::name("TTLs")];
    title.extend(pane::stale(c, &[FeedKind::Tokens, FeedKind::Certificates]));
    let inner = ratatui::widgets::Block::bordered().inner(area);

    // The certificate key keeps the top rows and the join command the bottom ones; join
    // tokens and certificates scroll between them. Cursor row 0 is the certificate key,
    // rows 1.. the tokens, then the certificates.
    let width = usize::from(inner.width);
    let head = cert_key(c, width);
    let foot = footer(c, width);
    let head_h = (head.len() as u16).min(inner.height);
    let foot_h = (foot.len() as u16).min(inner.height - head_h);
    let [top, middle, bottom] = split(inner, head_h, foot_h);
    let hidden = draw_middle(frame, middle, app, focused);
    pane::frame_with(frame, area, title, focused, pane::more(hidden));
    let on_key = (focused && app.ui.tokens.selected == 0).then_some(0);
    pane::rows(frame, top, head, on_key, theme::selected(true));
    pane::text(frame, bottom, foot);
}

/// The join tokens, then the certificates and how to renew them: the rows that scroll.
/// Returns the lines and, for each selectable item, its line.
fn middle(c: &ClusterState, width: usize) -> (Vec<Line<'static>>, Vec<usize>) {
    middle_with(c, width, certs::rows(c))
}

fn middle_with(
    c: &ClusterState,
    width: usize,
    certificates: Vec<Line<'static>>,
) -> (Vec<Line<'static>>, Vec<usize>) {
    let tokens: Vec<&Token> = c.join_tokens().collect();
    let mut lines = Vec::new();
    if tokens.is_empty() {
        let text = if never_read(c) {
            "join tokens unknown: no data"
        } else {
            "no join tokens"
        };
        lines.push(Line::styled(text, theme::DIM));
    }
    let ttl_w = tokens.iter().map(|t| format::width(&ttl(t, c).0)).max();
    lines.extend(tokens.iter().map(|t| token(t, c, ttl_w.unwrap_or(0))));
    lines.extend(certificates);
    let first = usize::from(tokens.is_empty());
    let items = (first..lines.len()).collect();
    lines.extend(certs::advice(c, width));
    (lines, items)
}

/// Returns the rows left below the window: never fewer without saying so.
fn draw_middle(frame: &mut Frame, area: Rect, app: &mut App, focused: bool) -> usize {
    let c = &app.cluster;
    let height = usize::from(area.height);
    let (mut lines, mut items) = middle(c, usize::from(area.width));
    // Too short to list every certificate: those of a kind share a row (unless the
    // operator scrolls through them).
    if lines.len() > height && !focused {
        (lines, items) = middle_with(c, usize::from(area.width), certs::folded(c));
    }
    // The pane's cursor counts the certificate key as row 0; this window counts lines.
    let item = app.ui.tokens.selected.checked_sub(1);
    let line = item.and_then(|k| items.get(k).copied());
    let mut window = Cursor {
        selected: app.ui.tokens.offset,
        offset: app.ui.tokens.offset,
    };
    if item.is_some() && item == items.len().checked_sub(1) {
        // The last item brings the renew advice below it into view.
        window.selected = lines.len().saturating_sub(1);
        window.scroll_into_view(lines.len(), height);
    }
    window.selected = line.unwrap_or(window.offset);
    window.scroll_into_view(lines.len(), height);
    app.ui.tokens.offset = window.offset;
    let selected = pane::selected_row(&window, focused && line.is_some());
    let hidden = lines.len().saturating_sub(window.offset + height);
    let shown = lines.into_iter().skip(window.offset);
    pane::rows(frame, area, shown, selected, theme::selected(true));
    hidden
}

fn split(area: Rect, head: u16, foot: u16) -> [Rect; 3] {
    let middle_h = area.height - head - foot;
    let row = |y, height| Rect { y, height, ..area };
    [
        row(area.y, head),
        row(area.y + head, middle_h),
        row(area.y + head + middle_h, foot),
    ]
}

/// The certificate key's line, plus the renew command when it is gone or nearly so.
fn cert_key(c: &ClusterState, width: usize) -> Vec<Line<'static>> {
    let owner = c.cert_key.owner_token_id.as_deref().unwrap_or("?");
    let owned_by = format!("  owner {owner}");
    let never_read = never_read(c);
    let (state, style, note, renew) = match (c.cert_key.secret_present, c.cert_key_expires_in_s()) {
        (false, _) if never_read => ("unknown: no data".into(), theme::DIM, String::new(), false),
        (false, _) => (
            "none: no kubeadm-certs Secret".into(),
            theme::BAD,
            String::new(),
            true,
        ),
        (true, Some(s)) if s <= 0 => {
            let state = format!("EXPIRED {} ago", format::duration(s));
            (state, theme::ALARM, owned_by, true)
        }
        (true, Some(s)) => (format::duration(s), theme::ttl(s), owned_by, s < 300),
        _ if c.cert_key_orphaned() => {
            let state = format!("owner {owner} gone: Secret about to be deleted");
            (state, theme::ALARM, String::new(), true)
        }
        _ if c.cert_key.owner_token_id.is_none() => {
            let state = "TTL unknown (no owner token)".into();
            (state, theme::WARN, String::new(), false)
        }
        _ => ("never expires".into(), theme::WARN, owned_by, false),
    };
    let label = "certificate key  ";
    let line = Line::from(vec![
        Span::styled(label, theme::BOLD),
        Span::styled(state, style),
        Span::styled(note, theme::DIM),
    ]);
    // Wrapped under its state: "owner ... gone: Secret about to be deleted" is one fact.
    let mut lines = format::wrap_line(line, width, format::width(label));
    if renew {
        lines.extend(command(RENEW_CERT_KEY, width));
    }
    lines
}

/// `token abc123  23h34m  signing,authentication`.
fn token(t: &Token, c: &ClusterState, ttl_w: usize) -> Line<'static> {
    let (text, style) = ttl(t, c);
    Line::from(vec![
        Span::raw("token "),
        Span::styled(t.id.clone(), theme::BOLD),
        Span::raw("  "),
        Span::styled(format::pad(&text, ttl_w), style),
        Span::styled(format!("  {}", t.usages.join(",")), theme::DIM),
    ])
}

fn ttl(t: &Token, c: &ClusterState) -> (String, Style) {
    match t.expires_in_s(c.now) {
        // The apiserver rejects a token whose expiration it cannot parse.
        _ if t.bad_expiration.is_some() => ("expired: bad expiration".to_string(), theme::ALARM),
        // A token that never expires lets anyone who saw it join, forever.
        None => ("never expires".to_string(), theme::WARN),
        Some(s) if s <= 0 => (format!("expired {} ago", format::duration(s)), theme::ALARM),
        Some(s) => (format::duration(s), theme::ttl(s)),
    }
}

/// How to get a fresh join token, when one has expired or none can be joined with.
/// Secrets never read (403, no connection yet) are unknown, not absent: no fix is offered.
fn never_read(c: &ClusterState) -> bool {
    c.feed(FeedKind::Tokens)
        .is_some_and(|f| f.last_ok.is_none())
}

fn footer(c: &ClusterState, width: usize) -> Vec<Line<'static>> {
    if never_read(c) {
        return Vec::new();
    }
    let alive = |t: &Token| t.expires_in_s(c.now).is_none_or(|s| s > 0);
    let expired = c.join_tokens().any(|t| !alive(t));
    let usable = c.join_tokens().any(|t| t.can_join() && alive(t));
    if expired || !usable {
        command(NEW_JOIN_TOKEN, width)
    } else {
        Vec::new()
    }
}

fn command(cmd: &str, width: usize) -> Vec<Line<'static>> {
    let lines = format::shell(cmd, width).into_iter();
    lines.map(|l| Line::styled(l, theme::COMMAND)).collect()
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use crate::app::App;
    use crate::view::fixture::{self, CERT_OWNER, JOIN_TOKEN, at, find, screen, style_of, text};

    const RENEW: &str = "kubeadm init phase upload-certs --upload-certs";
    const NEW_TOKEN: &str = "kubeadm token create --print-join-command";

    fn cert_key_left(secs: i64) -> App {
        let mut app = fixture::app();
        app.cluster.tokens.get_mut(CERT_OWNER).unwrap().expiration = Some(at(secs));
        app
    }

    #[test]
    fn the_certificate_key_counts_down_in_colour() {
        let buf = screen(&mut fixture::app(), 100, 30);
        assert!(
            find(&buf, "certificate key  1h34m  owner ck7x2p").is_some(),
            "{}",
            text(&buf)
        );
        assert_eq!(style_of(&buf, "1h34m").fg, Some(Color::Green));
        assert!(find(&buf, RENEW).is_none());

        let buf = screen(&mut cert_key_left(20 * 60), 100, 30);
        assert_eq!(style_of(&buf, "20m00s").fg, Some(Color::Yellow));
        assert!(find(&buf, RENEW).is_none());

        let buf = screen(&mut cert_key_left(4 * 60 + 5), 100, 30);
        assert_eq!(style_of(&buf, "4m05s").fg, Some(Color::Red));
        assert!(find(&buf, RENEW).is_some(), "renew before it is gone");
    }

    #[test]
    fn an_expired_or_orphaned_or_missing_key_shows_the_renew_command() {
        let buf = screen(&mut cert_key_left(-185), 100, 30);
        assert_eq!(
            style_of(&buf, "EXPIRED 3m05s ago").fg,
            Some(Color::Red),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, &format!("$ {RENEW}")).is_some());

        let mut app = fixture::app();
        app.cluster.tokens.remove(CERT_OWNER);
        let buf = screen(&mut app, 100, 30);
        assert_eq!(
            style_of(&buf, "owner ck7x2p gone").fg,
            Some(Color::Red),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, RENEW).is_some());

        let mut app = fixture::app();
        app.cluster.cert_key.secret_present = false;
        let buf = screen(&mut app, 100, 30);
        assert_eq!(
            style_of(&buf, "none: no kubeadm-certs Secret").fg,
            Some(Color::Red)
        );
        assert!(find(&buf, RENEW).is_some());
    }

    #[test]
    fn a_token_with_an_unreadable_expiration_is_expired_with_the_fix() {
        let mut app = fixture::app();
        let t = app.cluster.tokens.get_mut(JOIN_TOKEN).unwrap();
        (t.expiration, t.bad_expiration) = (None, Some("tomorrow".into()));
        let buf = screen(&mut app, 100, 30);
        assert_eq!(
            style_of(&buf, "expired: bad expiration").fg,
            Some(Color::Red),
            "{}",
            text(&buf)
        );
        assert!(
            find(&buf, &format!("$ {NEW_TOKEN}")).is_some(),
            "{}",
            text(&buf)
        );
    }

    #[test]
    fn a_long_command_continues_on_the_next_row_at_80x24() {
        let mut app = cert_key_left(-185);
        let buf = screen(&mut app, 80, 24);
        assert!(
            find(&buf, "$ kubeadm init phase upload-certs \\").is_some(),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, "   --upload-certs").is_some());
    }

    #[test]
    fn join_tokens_show_ttl_usages_and_risks() {
        let buf = screen(&mut fixture::app(), 100, 30);
        assert!(
            find(&buf, "token abc123  23h34m  signing,authentication").is_some(),
            "{}",
            text(&buf)
        );
        assert!(find(&buf, NEW_TOKEN).is_none(), "a usable token exists");

        let mut app = fixture::app();
        app.cluster.tokens.get_mut(JOIN_TOKEN).unwrap().expiration = None;
        let buf = screen(&mut app, 100, 30);
        assert_eq!(style_of(&buf, "never expires").fg, Some(Color::Yellow));

        let mut app = fixture::app();
        app.cluster.tokens.get_mut(JOIN_TOKEN).unwrap().expiration = Some(at(-60));
        let buf = screen(&mut app, 100, 30);
        assert_eq!(style_of(&buf, "expired 1m00s ago").fg, Some(Color::Red));
        assert!(
            find(&buf, &format!("$ {NEW_TOKEN}")).is_some(),
            "{}",
            text(&buf)
        );
    }

    #[test]
    fn the_owner_token_is_not_listed_as_a_join_token() {
        let buf = screen(&mut fixture::app(), 100, 30);
        assert!(find(&buf, "token ck7x2p").is_none());
    }
}
