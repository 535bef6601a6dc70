//! A member answering from memory, for the poller's tests on tokio's paused clock (a real
//! member's I/O would let the paused clock run ahead): told to answer, hang or panic.

use std::sync::{Arc, Mutex};

use super::probe::{ListReport, ListedMember, StatusReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Answer,
    /// Never answers and never errors: a hung request with no timeout.
    Hang,
    Panic,
}

#[derive(Debug, Clone)]
pub struct Scripted(Arc<Mutex<Mode>>);

impl Default for Scripted {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Mode::Answer)))
    }
}

impl Scripted {
    pub fn set(&self, mode: Mode) {
        *self.0.lock().unwrap() = mode;
    }

    async fn act(&self) {
        let mode = *self.0.lock().unwrap();
        match mode {
            Mode::Answer => {}
            Mode::Hang => std::future::pending().await,
            Mode::Panic => panic!("scripted panic"),
        }
    }

    pub async fn status(&self) -> Result<StatusReport, String> {
        self.act().await;
        Ok(StatusReport {
            member_id: 1,
            leader: 1,
            raft_term: 2,
            raft_index: 10,
            applied_index: 10,
            db_size: 1,
            db_size_in_use: 1,
            db_quota: 0,
            version: "3.5.0".into(),
            errors: Vec::new(),
            is_learner: false,
            rtt: None,
        })
    }

    pub async fn list(&self) -> Result<ListReport, String> {
        self.act().await;
        let member = ListedMember {
            id: 1,
            name: "cp-1".into(),
            peer_urls: Vec::new(),
            client_urls: vec!["scripted://cp-1".into()],
            is_learner: false,
        };
        Ok(ListReport {
            members: vec![member],
            alarms: Some(Vec::new()),
        })
    }
}
