//! client-go leader election for `kube-scheduler` and `kube-controller-manager`: every copy
//! tries through its own master's apiserver; the holder renews, the others
//! take an expired or released lease. Only the scheduler releases on a clean stop
//! (`ReleaseOnCancel: true` in `cmd/kube-scheduler/app/options/options.go`); the
//! controller-manager sets no such thing, so its lease waits out its 15 s even then.
//!
//! As client-go does it (`tools/leaderelection/leaderelection.go`): a copy that does not
//! lead tries with `wait.JitterUntil(retryPeriod, JitterFactor 1.2)`, so 2 to 4.4 s apart;
//! the leader renews with `wait.Until(retryPeriod)`, every 2 s. A non-holder judges expiry by
//! its own clock: the lease is valid until `leaseDuration` after it last *saw the record
//! change* (`observedTime`), not after `renewTime`. So after an unclean death a takeover
//! lands 15 s plus the time to see the last renewal plus the time to the first try after
//! expiry: 15 to about 24 s after the last renewal, never on a 2 s grid.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::hosts::Component;
use super::ids;

pub(crate) const LEASE_DURATION_S: u32 = 15;
pub(crate) const RENEW_DEADLINE_MS: i64 = 10_000;
pub(crate) const RETRY_MS: i64 = 2_000;
/// client-go's `JitterFactor`: a waiting copy's next try comes `RETRY_MS` plus up to 1.2
/// times that later.
const JITTER_MS: i64 = RETRY_MS * 12 / 10;

/// The wait before a copy that does not lead tries again (`wait.Jitter`), in 10 ms steps so
/// the lab's clock lands on it.
fn jittered(rng: &mut ChaCha8Rng) -> i64 {
    RETRY_MS + 10 * rng.random_range(0..JITTER_MS / 10)
}

/// The Lease object as the API stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Empty once released.
    pub holder: String,
    pub acquired: i64,
    pub renewed: i64,
    pub duration_s: u32,
    pub transitions: u32,
}

/// One running copy of the component on one master.
#[derive(Debug, Clone)]
struct Contender {
    /// `<host>_<uuid>`, new for every process; `None` while not running.
    identity: Option<String>,
    next_try: i64,
    /// It believes it leads (acquired and not yet lost).
    leading: bool,
    last_renewed: i64,
    /// The record as it last read it, and when (client-go's `observedRecord`/`observedTime`).
    seen: Option<Record>,
    seen_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Election {
    pub name: &'static str,
    pub component: Component,
    pub record: Record,
    /// The Lease object exists (created by the first copy that acquired it).
    pub exists: bool,
    contenders: Vec<Contender>,
    /// Bumped when the holder changes (shown at once); `renewed` when only renewTime moved.
    pub changed: u64,
    pub renewed: u64,
}

impl Election {
    /// Held by master 0's copy since `kubeadm init`, as on a fresh cluster.
    pub(crate) fn new(
        name: &'static str,
        component: Component,
        hosts: &[String],
        now: i64,
        acquired: i64,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let mut contenders: Vec<Contender> = hosts
            .iter()
            .enumerate()
            .map(|(i, host)| Contender {
                identity: Some(identity(host, rng)),
                next_try: now + 10 * rng.random_range(0..RETRY_MS / 10),
                leading: i == 0,
                last_renewed: now,
                seen: None,
                seen_at: now,
            })
            .collect();
        let holder = &mut contenders[0];
        holder.last_renewed = holder.next_try - RETRY_MS;
        let record = Record {
            holder: holder.identity.clone().unwrap_or_default(),
            acquired,
            renewed: holder.last_renewed,
            duration_s: LEASE_DURATION_S,
            transitions: 0,
        };
        Self {
            name,
            component,
            record,
            exists: true,
            contenders,
            changed: 0,
            renewed: 0,
        }
    }

    /// No Lease object and no running copy yet (before `kubeadm init`).
    pub(crate) fn empty(name: &'static str, component: Component, masters: usize) -> Self {
        let idle = Contender {
            identity: None,
            next_try: 0,
            leading: false,
            last_renewed: 0,
            seen: None,
            seen_at: 0,
        };
        Self {
            name,
            component,
            record: Record {
                holder: String::new(),
                acquired: 0,
                renewed: 0,
                duration_s: LEASE_DURATION_S,
                transitions: 0,
            },
            exists: false,
            contenders: vec![idle; masters],
            changed: 0,
            renewed: 0,
        }
    }

    /// The master whose running copy holds the lease.
    pub(crate) fn holder(&self) -> Option<usize> {
        let held = !self.record.holder.is_empty();
        self.contenders
            .iter()
            .position(|c| held && c.identity.as_deref() == Some(self.record.holder.as_str()))
    }

    /// The holder's controllers are working (it leads and its apiserver answers).
    pub(crate) fn active(&self, api_ready: impl Fn(usize) -> bool) -> bool {
        self.holder()
            .is_some_and(|i| self.contenders[i].leading && api_ready(i))
    }

    /// A new process: a new identity, and a first try once its client is up.
    pub(crate) fn start(&mut self, i: usize, host: &str, now: i64, rng: &mut ChaCha8Rng) {
        let c = &mut self.contenders[i];
        c.identity = Some(identity(host, rng));
        c.next_try = now + 10 * rng.random_range(50..150);
        c.leading = false;
        c.seen = None;
    }

    /// Whether a clean stop empties the lease (`ReleaseOnCancel`): kube-scheduler only.
    fn releases_on_cancel(&self) -> bool {
        self.component == Component::Scheduler
    }

    /// On SIGTERM a scheduler leader releases if its apiserver still answers: holder
    /// emptied, duration 1 s, so the next retry anywhere takes it. A controller-manager
    /// just stops renewing.
    pub(crate) fn stop(&mut self, i: usize, clean: bool, api_ready: bool, now: i64) {
        let release = clean && self.releases_on_cancel();
        let c = &mut self.contenders[i];
        let holds = c.identity.as_deref() == Some(self.record.holder.as_str());
        if release && c.leading && holds && api_ready {
            let r = &mut self.record;
            r.holder.clear();
            (r.acquired, r.renewed, r.duration_s) = (now, now, 1);
            self.changed += 1;
        }
        c.identity = None;
        c.leading = false;
    }

    /// Runs every copy whose retry timer fired. Returns masters whose copy lost leadership
    /// (no renewal within the renew deadline): such a process exits.
    pub(crate) fn step(
        &mut self,
        now: i64,
        api_ready: impl Fn(usize) -> bool,
        rng: &mut ChaCha8Rng,
        lost: &mut Vec<usize>,
    ) {
        for i in 0..self.contenders.len() {
            let c = &mut self.contenders[i];
            if c.identity.is_none() || c.next_try > now {
                continue;
            }
            // The leader renews every retry period; the others try with jitter.
            c.next_try = now + if c.leading { RETRY_MS } else { jittered(rng) };
            if !self.try_acquire_or_renew(i, now, api_ready(i)) {
                let c = &self.contenders[i];
                if c.leading && now - c.last_renewed > RENEW_DEADLINE_MS {
                    lost.push(i);
                }
            }
        }
    }

    pub(crate) fn next_due(&self) -> Option<i64> {
        let running = self.contenders.iter().filter(|c| c.identity.is_some());
        running.map(|c| c.next_try).min()
    }

    /// Whether this copy holds the lease after trying.
    fn try_acquire_or_renew(&mut self, i: usize, now: i64, api_ready: bool) -> bool {
        if !api_ready {
            return false;
        }
        let c = &mut self.contenders[i];
        let me = c.identity.clone().unwrap_or_default();
        let r = &mut self.record;
        if c.seen.as_ref() != Some(&*r) {
            (c.seen, c.seen_at) = (Some(r.clone()), now);
        }
        // client-go's isLeaseValid: observedTime + leaseDuration after now.
        let valid = c.seen_at + i64::from(r.duration_s) * 1000 > now;
        if r.holder == me {
            r.renewed = now;
            self.renewed += 1;
        } else if r.holder.is_empty() || !valid {
            *r = Record {
                holder: me,
                acquired: now,
                renewed: now,
                duration_s: LEASE_DURATION_S,
                // The copy that creates the Lease starts its count at 0.
                transitions: if self.exists { r.transitions + 1 } else { 0 },
            };
            self.exists = true;
            self.changed += 1;
            (c.seen, c.seen_at) = (Some(r.clone()), now);
        } else {
            return false;
        }
        (c.leading, c.last_renewed) = (true, now);
        true
    }
}

fn identity(host: &str, rng: &mut ChaCha8Rng) -> String {
    format!("{host}_{}", ids::uuid_v4(rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn election() -> (Election, ChaCha8Rng) {
        election_of(Component::Scheduler, 5)
    }

    fn election_of(component: Component, seed: u64) -> (Election, ChaCha8Rng) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let hosts = ["cp-1".to_string(), "cp-2".to_string()];
        let e = Election::new("kube-scheduler", component, &hosts, 0, -60_000, &mut rng);
        (e, rng)
    }

    fn run(
        e: &mut Election,
        rng: &mut ChaCha8Rng,
        from: i64,
        to: i64,
        ready: &[bool],
    ) -> Vec<usize> {
        let mut lost = Vec::new();
        for t in (from..=to).step_by(10) {
            e.step(t, |i| ready[i], rng, &mut lost);
        }
        lost
    }

    /// How long after the holder's last renewal the other copy takes the lease, when the
    /// holder dies uncleanly at 5 s.
    fn takeover_after_a_cut(seed: u64) -> i64 {
        let (mut e, mut rng) = election_of(Component::ControllerManager, seed);
        run(&mut e, &mut rng, 0, 5_000, &[true, true]);
        assert_eq!(e.holder(), Some(0));
        let last = e.record.renewed;
        e.stop(0, false, true, 5_000);
        run(&mut e, &mut rng, 5_010, last + 30_000, &[true, true]);
        assert_eq!(e.holder(), Some(1), "seed {seed}");
        e.record.acquired - last
    }

    #[test]
    fn an_unrenewed_lease_is_taken_after_it_expires() {
        let (mut e, mut rng) = election();
        run(&mut e, &mut rng, 0, 5_000, &[true, true]);
        assert_eq!(e.holder(), Some(0));
        let last = e.record.renewed;
        e.stop(0, false, true, 5_000);
        run(&mut e, &mut rng, 5_010, last + 15_000, &[true, true]);
        assert_eq!(e.holder(), None, "not before renewTime + 15 s");
        run(
            &mut e,
            &mut rng,
            last + 15_010,
            last + 24_000,
            &[true, true],
        );
        assert_eq!(e.holder(), Some(1));
        assert_eq!(e.record.transitions, 1);
    }

    /// client-go retries with jitter (2 s x up to 2.2) and counts the lease duration from
    /// when it saw the last renewal: takeovers after a cut spread over 15 to ~24 s after
    /// the last renewal, not 15 to 17 s on a 2 s grid. The same seed gives the same.
    #[test]
    fn takeovers_after_a_cut_are_jittered_from_15_s_on_and_deterministic() {
        let after: Vec<i64> = (1..=40).map(takeover_after_a_cut).collect();
        let (min, max) = (after.iter().min().unwrap(), after.iter().max().unwrap());
        assert!(*min > 15_000, "{after:?}");
        assert!(*max <= 15_000 + 2 * 4_400, "{after:?}");
        assert!(
            *max > 17_500,
            "later than one 2 s retry after expiry: {after:?}"
        );
        assert!(
            max - min > 2_500,
            "spread beyond one retry period: {after:?}"
        );
        assert_eq!(
            after,
            (1..=40).map(takeover_after_a_cut).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_clean_stop_releases_the_scheduler_lease_but_not_the_controller_managers() {
        let (mut e, mut rng) = election_of(Component::Scheduler, 5);
        run(&mut e, &mut rng, 0, 5_000, &[true, true]);
        e.stop(0, true, true, 5_000);
        assert_eq!(e.record.holder, "", "released");
        assert_eq!(e.record.duration_s, 1);
        run(&mut e, &mut rng, 5_010, 9_410, &[true, true]);
        assert_eq!(e.holder(), Some(1), "taken at the next try, within 4.4 s");

        let (mut e, mut rng) = election_of(Component::ControllerManager, 5);
        run(&mut e, &mut rng, 0, 5_000, &[true, true]);
        let held = e.record.clone();
        e.stop(0, true, true, 5_000);
        assert_eq!(
            e.record, held,
            "no ReleaseOnCancel: the record stays as it was"
        );
        run(
            &mut e,
            &mut rng,
            5_010,
            held.renewed + 15_000,
            &[true, true],
        );
        assert_eq!(e.holder(), None, "not before renewTime + 15 s");
    }

    #[test]
    fn a_holder_without_its_apiserver_loses_after_the_renew_deadline() {
        let (mut e, mut rng) = election();
        let lost = run(&mut e, &mut rng, 0, 9_000, &[false, false]);
        assert!(lost.is_empty());
        let lost = run(&mut e, &mut rng, 9_010, 14_000, &[false, false]);
        assert_eq!(lost.first(), Some(&0));
    }
}
