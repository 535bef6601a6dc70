//! What changed, newest last.

use std::collections::VecDeque;

use jiff::Timestamp;

const CAPACITY: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Good,
    Warn,
    Bad,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub severity: Severity,
    pub text: String,
}

/// A bounded log: the oldest entries go first.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: VecDeque<TimelineEntry>,
}

impl Timeline {
    pub fn push(&mut self, at: Timestamp, severity: Severity, text: impl Into<String>) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(TimelineEntry {
            at,
            severity,
            text: text.into(),
        });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TimelineEntry> + ExactSizeIterator {
        self.entries.iter()
    }
}
