//! kube-vip's leader election for the VIP (`plndr-cp-lock`), with kubeadm's example
//! manifest timings: lease 5 s, renew deadline 3 s, retry 1 s. Each master's kube-vip talks
//! to its own apiserver (`kubernetes:6443`, a host alias for 127.0.0.1), so it renews only
//! while that apiserver serves; the holder announces the VIP (gratuitous ARP) and
//! drops it when it stops leading. On SIGTERM it releases the lease (`ReleaseOnCancel`),
//! so after a clean stop another kube-vip takes the VIP within a retry period.

/// The Lease kube-vip uses in control-plane mode.
pub(crate) const VIP_LEASE: &str = "plndr-cp-lock";
pub(crate) const LEASE_S: u32 = 5;
const RENEW_DEADLINE_MS: i64 = 3_000;

#[derive(Debug, Clone)]
pub(crate) struct Vip {
    hosts: Vec<String>,
    /// The Lease as stored: holder (kube-vip's identity is the host name; empty: nobody),
    /// acquire and renew times (lab ms), transitions.
    pub holder: Option<usize>,
    pub acquired: i64,
    pub renewed: i64,
    /// 5 s; 1 s once released (as client-go writes a released lease).
    pub duration_s: u32,
    pub transitions: u32,
    /// Per master: its kube-vip leads and has the VIP up; when it last renewed.
    leading: Vec<bool>,
    last_renewed: Vec<i64>,
    /// Bumped when the holder or the VIP moves (shown at once); `renewals` on renewals.
    pub changed: u64,
    pub renewals: u64,
}

impl Vip {
    /// Held by master 0 since the start, as after kubeadm's init with kube-vip.
    pub(crate) fn new(hosts: &[String], now: i64) -> Self {
        let n = hosts.len();
        let mut leading = vec![false; n];
        leading[0] = true;
        Self {
            hosts: hosts.to_vec(),
            holder: Some(0),
            acquired: now,
            renewed: now,
            duration_s: LEASE_S,
            transitions: 0,
            leading,
            last_renewed: vec![now; n],
            changed: 0,
            renewals: 0,
        }
    }

    pub(crate) fn host(&self, i: usize) -> &str {
        &self.hosts[i]
    }

    /// The master that has the VIP up (its kube-vip running and leading).
    pub(crate) fn holder_running(&self) -> Option<usize> {
        self.leading.iter().position(|&l| l)
    }

    fn expired(&self, now: i64) -> bool {
        self.renewed + i64::from(self.duration_s) * 1000 < now
    }

    /// One retry period: every running kube-vip tries through its own apiserver.
    /// `runs`: its container runs; `powered`: its host is (a stop was a clean SIGTERM).
    pub(crate) fn step(
        &mut self,
        now: i64,
        runs: impl Fn(usize) -> bool,
        powered: impl Fn(usize) -> bool,
        api_ready: impl Fn(usize) -> bool,
    ) {
        for i in 0..self.hosts.len() {
            if !runs(i) {
                if self.leading[i] {
                    self.leading[i] = false;
                    if powered(i) && self.holder == Some(i) {
                        // ReleaseOnCancel: holder emptied, duration 1 s.
                        self.holder = None;
                        (self.renewed, self.duration_s) = (now, 1);
                    }
                    self.changed += 1;
                }
                continue;
            }
            if self.leading[i] {
                if api_ready(i) {
                    (self.renewed, self.last_renewed[i]) = (now, now);
                    self.renewals += 1;
                } else if now - self.last_renewed[i] >= RENEW_DEADLINE_MS {
                    // Leadership lost: the VIP comes down with it.
                    self.leading[i] = false;
                    self.changed += 1;
                }
                continue;
            }
            let free = self.holder.is_none() || self.expired(now);
            let led = self.leading.iter().any(|&l| l);
            if free && !led && api_ready(i) {
                if self.holder != Some(i) {
                    self.transitions += 1;
                }
                self.holder = Some(i);
                (self.acquired, self.renewed, self.last_renewed[i]) = (now, now, now);
                self.duration_s = LEASE_S;
                self.leading[i] = true;
                self.changed += 1;
            }
        }
    }
}

/// keepalived's VRRP for HAProxy's VIP, as kubeadm's HA guide configures it (the wizard's
/// `keepalived.conf`): cp-1 `state MASTER` with priority 101, the others `BACKUP` with 100,
/// `advert_int 1`. A backup takes the VIP when it has heard no advertisement for the
/// master-down interval, 3 x advert_int + skew ((256 - priority) / 256 s): 3.6 s. cp-1
/// takes it back as soon as it runs again (preemption is keepalived's default).
#[derive(Debug, Clone)]
pub(crate) struct Keepalived {
    hosts: Vec<String>,
    /// The master whose keepalived announces the VIP; `None` before any does.
    pub holder: Option<usize>,
    /// When the holder's last advertisement went out (lab ms).
    last_advert: i64,
    /// Bumped when the VIP moves.
    pub changed: u64,
}

const ADVERT_MS: i64 = 1_000;

fn priority(i: usize) -> i64 {
    if i == 0 { 101 } else { 100 }
}

/// How long a backup of priority 100 waits after the last advertisement it heard.
pub(crate) const MASTER_DOWN_MS: i64 = 3 * ADVERT_MS + (256 - 100) * ADVERT_MS / 256;

impl Keepalived {
    pub(crate) fn new(hosts: &[String], now: i64) -> Self {
        Self {
            hosts: hosts.to_vec(),
            holder: Some(0),
            last_advert: now,
            changed: 0,
        }
    }

    /// The VIP is on a master that is off: nobody answers on it.
    pub(crate) fn holder_down(&self, hosts: &super::Hosts) -> bool {
        self.holder.is_some_and(|h| !hosts.machines[h].powered)
    }

    /// Once a second: the holder advertises while it runs; when it stops, the backup with
    /// the highest priority (then the highest address) takes over after the master-down
    /// interval.
    pub(crate) fn step(&mut self, now: i64, runs: impl Fn(usize) -> bool) {
        let best = (0..self.hosts.len())
            .filter(|&i| runs(i))
            .max_by_key(|&i| (priority(i), i));
        match self.holder {
            Some(h) if runs(h) => {
                self.last_advert = now;
                // A higher priority master back in service preempts.
                if let Some(b) = best.filter(|&b| priority(b) > priority(h)) {
                    self.holder = Some(b);
                    self.changed += 1;
                }
            }
            _ if now >= self.last_advert + MASTER_DOWN_MS => {
                if best != self.holder {
                    self.holder = best;
                    self.changed += 1;
                }
                if best.is_some() {
                    self.last_advert = now;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vip_moves_once_the_lease_expires_and_not_before() {
        let hosts = ["cp-1".to_string(), "cp-2".into(), "cp-3".into()];
        let mut vip = Vip::new(&hosts, 0);
        let all = |_: usize| true;
        vip.step(1_000, all, all, all);
        assert_eq!(vip.holder_running(), Some(0));
        // cp-1 dies at 1.5 s: the lease was renewed at 1 s and expires after 6 s.
        let mut moved = None;
        for s in 2..=10 {
            vip.step(s * 1_000, |i| i != 0, |i| i != 0, all);
            if moved.is_none() && vip.holder_running().is_some() {
                moved = Some(s);
            }
        }
        assert_eq!(moved, Some(7));
        assert_eq!(vip.holder, Some(1));
        assert_eq!(vip.transitions, 1);
    }

    #[test]
    fn a_clean_stop_releases_the_lease_and_the_vip_moves_at_the_next_retry() {
        let hosts = ["cp-1".to_string(), "cp-2".into()];
        let mut vip = Vip::new(&hosts, 0);
        let all = |_: usize| true;
        vip.step(1_000, all, all, all);
        // SIGTERM to cp-1's kube-vip: the host stays up.
        vip.step(2_000, |i| i != 0, all, all);
        assert_eq!(vip.holder, Some(1), "taken in the same retry round");
        assert_eq!(vip.holder_running(), Some(1));
        assert_eq!(vip.duration_s, LEASE_S);
    }

    #[test]
    fn keepalived_moves_the_vip_after_three_adverts_and_skew_and_cp_1_takes_it_back() {
        let hosts = ["cp-1".to_string(), "cp-2".into(), "cp-3".into()];
        let mut k = Keepalived::new(&hosts, 0);
        k.step(1_000, |_| true);
        // cp-1 powered off at 1.4 s: its last advertisement went out at 1 s.
        let mut moved = None;
        for s in 2..=8 {
            k.step(s * 1_000, |i| i != 0);
            if moved.is_none() && k.holder != Some(0) {
                moved = Some(s);
            }
        }
        assert_eq!(MASTER_DOWN_MS, 3_609);
        assert_eq!(moved, Some(5), "1 s + 3.6 s, at the next second");
        assert_eq!(
            k.holder,
            Some(2),
            "equal priorities: the highest address wins"
        );
        k.step(9_000, |_| true);
        assert_eq!(k.holder, Some(0), "priority 101 preempts");
    }
}
