//! What the operator is looking at: focus, selection, scroll, filter, overlays.

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Endpoint,
    Nodes,
    Etcd,
    Leases,
    Tokens,
    Timeline,
    /// Only while the wizard is open.
    Wizard,
}

impl Pane {
    pub const ALL: [Pane; 7] = [
        Pane::Wizard,
        Pane::Nodes,
        Pane::Etcd,
        Pane::Leases,
        Pane::Tokens,
        Pane::Timeline,
        Pane::Endpoint,
    ];

    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    pub fn prev(self) -> Self {
        let i = Self::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Self::ALL[(i + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// A selection in a list and the first row shown. The view keeps `offset` so the
/// selection stays visible; `update` only moves `selected`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    /// Moves by `delta` rows within `len` rows.
    pub fn step(&mut self, delta: isize, len: usize) {
        let last = len.saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Adjusts `offset` so `selected` is inside a window of `height` rows.
    pub fn scroll_into_view(&mut self, len: usize, height: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        if height == 0 {
            return;
        }
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }
}

#[derive(Debug, Clone)]
pub struct Ui {
    pub focus: Pane,
    pub nodes: Cursor,
    pub etcd: Cursor,
    pub leases: Cursor,
    pub tokens: Cursor,
    pub endpoint: Cursor,
    /// The wizard's steps.
    pub wizard: Cursor,
    /// Rows from the newest entry: 0 follows the newest.
    pub timeline: Cursor,
    pub filter: String,
    pub filter_editing: bool,
    pub help: bool,
    /// The help's first row shown, and the rows it showed (a page), as last drawn.
    pub help_offset: usize,
    pub help_page: usize,
    /// A one-line message for the operator, shown until the next key or for
    /// [`super::FLASH`] of wall time, whichever ends first.
    pub flash: Option<String>,
    /// When `flash` was last set, as the last tick knew the time.
    pub flash_at: Option<std::time::Instant>,
    /// Wall time at the last tick.
    pub wall: Option<std::time::Instant>,
    /// Rows a page moves, as last drawn.
    pub page: usize,
}

impl Default for Ui {
    fn default() -> Self {
        Self {
            focus: Pane::Nodes,
            nodes: Cursor::default(),
            etcd: Cursor::default(),
            leases: Cursor::default(),
            tokens: Cursor::default(),
            endpoint: Cursor::default(),
            wizard: Cursor::default(),
            timeline: Cursor::default(),
            filter: String::new(),
            filter_editing: false,
            help: false,
            help_offset: 0,
            help_page: 10,
            flash: None,
            flash_at: None,
            wall: None,
            page: 10,
        }
    }
}

impl Ui {
    pub fn cursor_mut(&mut self, pane: Pane) -> &mut Cursor {
        match pane {
            Pane::Nodes => &mut self.nodes,
            Pane::Etcd => &mut self.etcd,
            Pane::Leases => &mut self.leases,
            Pane::Tokens => &mut self.tokens,
            Pane::Timeline => &mut self.timeline,
            Pane::Endpoint => &mut self.endpoint,
            Pane::Wizard => &mut self.wizard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_stays_in_bounds_and_visible() {
        let mut c = Cursor::default();
        c.step(50, 10);
        assert_eq!(c.selected, 9);
        c.scroll_into_view(10, 4);
        assert_eq!(c.offset, 6);
        c.step(-100, 10);
        c.scroll_into_view(10, 4);
        assert_eq!((c.selected, c.offset), (0, 0));
    }

    #[test]
    fn focus_cycles_through_every_pane() {
        let mut p = Pane::Nodes;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..Pane::ALL.len() {
            p = p.next();
            seen.insert(p);
        }
        assert_eq!(p, Pane::Nodes);
        assert_eq!(seen.len(), Pane::ALL.len());
        assert_eq!(Pane::Nodes.prev().next(), Pane::Nodes);
    }
}
