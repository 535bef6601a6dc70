//! How long a session that could not be re-established waits before the next attempt:
//! long enough not to hammer a rebooting host, short enough that it is seen soon after
//! it is back.

use std::time::Duration;

use super::error::SshError;

const FIRST: Duration = Duration::from_secs(1);
const MAX: Duration = Duration::from_secs(10);
/// The host answered and refused us (host key, login): trying again soon changes
/// nothing, and repeated failed logins can get the operator's address banned (fail2ban).
const REFUSED: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait after one more failed attempt: 1 s, 2 s, 4 s, 8 s, then 10 s.
    pub fn fail(&mut self, why: &SshError) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if refused(why) {
            return REFUSED;
        }
        let doubled = FIRST.saturating_mul(1 << (self.failures - 1).min(8));
        doubled.min(MAX)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

fn refused(why: &SshError) -> bool {
    matches!(
        why,
        SshError::HostKeyChanged { .. }
            | SshError::UnknownHost { .. }
            | SshError::HostKey { .. }
            | SshError::Auth { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_ten_seconds_and_starts_over_after_a_success() {
        let down = SshError::Connect {
            target: "root@cp-1:22".into(),
            problem: "Connection refused".into(),
        };
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..7).map(|_| b.fail(&down).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10, 10]);
        b.reset();
        assert_eq!(b.fail(&down), Duration::from_secs(1));
    }

    #[test]
    fn a_refusal_waits_a_minute() {
        let auth = SshError::Auth {
            target: "root@cp-1:22".into(),
            tried: vec![],
        };
        assert_eq!(Backoff::default().fail(&auth), REFUSED);
    }
}
