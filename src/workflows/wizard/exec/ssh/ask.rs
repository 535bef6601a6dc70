//! An unknown host key asked about in the cockpit's wizard pane: a login that meets a key
//! in no known_hosts file waits here for the operator's answer. Several sessions meeting
//! the same key (a look and a step on one master) share one question; an answer is kept,
//! so a login retried after a timeout is not asked again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// What the operator is shown: which host, and its key as `ssh-keygen -lf` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyQuestion {
    pub id: u64,
    /// `user@host:port`, with the jump host it is reached through.
    pub target: String,
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`...
    pub key_type: String,
    /// OpenSSH's `SHA256:` form.
    pub fingerprint: String,
}

type Tell = dyn Fn(HostKeyQuestion) + Send + Sync;

/// Shared by the executor's sessions (which ask) and the runtime (which answers).
#[derive(Clone)]
pub struct HostKeyDesk {
    desk: Arc<Mutex<Desk>>,
    tell: Arc<Tell>,
}

#[derive(Default)]
struct Desk {
    next: u64,
    waiting: HashMap<u64, Waiting>,
    /// `(target, fingerprint)`: the operator's answer.
    answered: HashMap<(String, String), bool>,
}

struct Waiting {
    key: (String, String),
    replies: Vec<oneshot::Sender<bool>>,
}

impl HostKeyDesk {
    /// `tell` puts a new question in front of the operator.
    pub fn new(tell: impl Fn(HostKeyQuestion) + Send + Sync + 'static) -> Self {
        Self {
            desk: Arc::default(),
            tell: Arc::new(tell),
        }
    }

    /// Whether the operator accepts `fingerprint` for `target`; a desk that goes away
    /// unanswered refuses.
    pub async fn ask(&self, target: &str, key_type: &str, fingerprint: &str) -> bool {
        let key = (target.to_string(), fingerprint.to_string());
        let (tx, rx) = oneshot::channel();
        let question = {
            let mut d = self.desk.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(&answer) = d.answered.get(&key) {
                return answer;
            }
            if let Some(w) = d.waiting.values_mut().find(|w| w.key == key) {
                w.replies.push(tx);
                None
            } else {
                let id = d.next;
                d.next += 1;
                d.waiting.insert(
                    id,
                    Waiting {
                        key,
                        replies: vec![tx],
                    },
                );
                Some(HostKeyQuestion {
                    id,
                    target: target.to_string(),
                    key_type: key_type.to_string(),
                    fingerprint: fingerprint.to_string(),
                })
            }
        };
        if let Some(q) = question {
            (self.tell)(q);
        }
        rx.await.unwrap_or(false)
    }

    /// The operator's answer to question `id` (an unknown id is ignored).
    pub fn answer(&self, id: u64, accept: bool) {
        let mut d = self.desk.lock().unwrap_or_else(|e| e.into_inner());
        let Some(w) = d.waiting.remove(&id) else {
            return;
        };
        d.answered.insert(w.key, accept);
        for reply in w.replies {
            let _ = reply.send(accept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_question_per_key_and_the_answer_is_kept() {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        let desk = HostKeyDesk::new(move |q| seen.lock().unwrap().push(q));
        let (a, b) = (desk.clone(), desk.clone());
        let first = tokio::spawn(async move { a.ask("u@h:22", "ssh-ed25519", "SHA256:x").await });
        let second = tokio::spawn(async move { b.ask("u@h:22", "ssh-ed25519", "SHA256:x").await });
        let both_wait = || {
            let d = desk.desk.lock().unwrap();
            d.waiting.values().map(|w| w.replies.len()).sum::<usize>() == 2
        };
        while !both_wait() {
            tokio::task::yield_now().await;
        }
        let id = asked.lock().unwrap()[0].id;
        desk.answer(id, true);
        assert!(first.await.unwrap() && second.await.unwrap());
        assert_eq!(asked.lock().unwrap().len(), 1, "asked once");
        assert!(desk.ask("u@h:22", "ssh-ed25519", "SHA256:x").await, "kept");
    }
}
