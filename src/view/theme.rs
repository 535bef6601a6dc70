//! Colours and styles in one place. Named ANSI colours (one 256-colour grey aside), so the
//! cockpit reads the same on a plain console as in a modern terminal.

use ratatui::style::{Color, Modifier, Style};

use crate::model::{PodState, Readiness, Severity};

pub const GOOD: Style = Style::new().fg(Color::Green);
pub const WARN: Style = Style::new().fg(Color::Yellow);
pub const BAD: Style = Style::new().fg(Color::Red);
pub const ALARM: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
pub const HEADER: Style = Style::new()
    .fg(Color::Gray)
    .add_modifier(Modifier::BOLD.union(Modifier::UNDERLINED));
/// A command the operator should run: stands out from the explanation around it.
pub const COMMAND: Style = Style::new().fg(Color::White).add_modifier(Modifier::BOLD);
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
/// Keys that act on the simulated cluster share the lab badge's colour.
pub const LAB_KEY: Style = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
/// Loud on purpose: the lab must never be mistaken for a real cluster.
pub const LAB_BADGE: Style = Style::new()
    .fg(Color::Yellow)
    .bg(Color::Magenta)
    .add_modifier(Modifier::BOLD);
pub const FLASH: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
pub const LEADER: Style = Style::new().fg(Color::Yellow);

pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        DIM
    }
}

/// Titles sit on the border: undo its dim grey so an unfocused pane's title stays legible.
pub fn title(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
            .fg(Color::Reset)
            .remove_modifier(Modifier::BOLD)
    }
}

/// Background only, so the row's own colours (green Ready, red DOWN) stay readable.
pub fn selected(focused: bool) -> Style {
    if focused {
        Style::new().bg(Color::Blue).add_modifier(Modifier::BOLD)
    } else {
        // A grey that is visible on black yet does not hide dark-grey text.
        Style::new().bg(Color::Indexed(237))
    }
}

pub fn severity(s: Severity) -> Style {
    match s {
        Severity::Info => Style::new(),
        Severity::Good => GOOD,
        Severity::Warn => WARN,
        Severity::Bad => BAD,
    }
}

pub fn readiness(r: Readiness) -> Style {
    match r {
        Readiness::Ready => GOOD,
        Readiness::NotReady | Readiness::Unknown => BAD,
    }
}

pub fn pod(state: PodState) -> Style {
    match state {
        PodState::Running => GOOD,
        PodState::NotReady => WARN,
        PodState::Failed => ALARM,
        PodState::Absent => DIM,
    }
}

/// Remaining lifetime of a key or token: fine, renew soon, renew now.
pub fn ttl(secs: i64) -> Style {
    match secs {
        ..300 => ALARM,
        300..1_800 => WARN,
        _ => GOOD,
    }
}
