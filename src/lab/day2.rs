//! Day 2 on the lab: the load balancer's targets as a grow or a shrink changes them,
//! leadership moved off a master about to leave (`etcdctl move-leader`), and a drain.

use super::Lab;

impl Lab {
    /// Master `i` into (`listed`) or out of the load balancer's targets. A master the
    /// first build leaves out (a later `--add`) starts out of them.
    pub fn set_lb_target(&mut self, i: usize, listed: bool) {
        if let Some(l) = self.lb.listed.get_mut(i) {
            *l = listed;
        }
    }

    /// Whether master `i` is among the load balancer's targets.
    pub fn lb_target(&self, i: usize) -> bool {
        self.lb.registered && self.lb.listed.get(i).copied().unwrap_or(false)
    }

    /// The master whose address is `address`.
    pub fn master_at(&self, address: &str) -> Option<usize> {
        (0..self.cfg.control_planes).find(|&i| self.cfg.ip(i) == address)
    }

    /// `etcdctl move-leader` sent to `from`'s member, naming `to`'s: leadership moves at
    /// once (etcd's TimeoutNow: `to` campaigns in a new term, skipping pre-vote, and the
    /// old leader votes for it). `Ok(None)`: `from` does not lead, nothing moves;
    /// `Ok(Some((from id, to id)))`; `Err` with etcd's words.
    pub fn move_leader(&mut self, from: &str, to: &str) -> Result<Option<(u64, u64)>, String> {
        let master = |name: &str| self.host(name).filter(|&i| self.is_master(i));
        let (Some(f), Some(t)) = (master(from), master(to)) else {
            return Err("etcdserver: bad leader transferee".into());
        };
        if self.etcd.leader() != Some(f) {
            return Ok(None);
        }
        let target = &self.etcd.members[t];
        let ok = target.joined && target.voter && target.up && self.etcd.can_talk(f, t);
        if !ok || !self.etcd.has_quorum_at(f) {
            return Err("etcdserver: bad leader transferee".into());
        }
        if f != t {
            let term = self.etcd.term() + 1;
            self.etcd.become_leader(t, term, self.now);
        }
        Ok(Some((self.etcd.members[f].id, self.etcd.members[t].id)))
    }

    /// `kubectl drain NODE --ignore-daemonsets`: cordoned, then drained. On a master only
    /// static pods (mirror pods, left alone) and DaemonSets (ignored) run. `Err` with
    /// kubectl's words when there is no such Node.
    pub fn drain(&mut self, name: &str) -> Result<Vec<String>, Vec<String>> {
        let Some(i) = self.host(name).filter(|&i| self.node_registered(i)) else {
            return Err(vec![format!(
                "Error from server (NotFound): nodes \"{name}\" not found"
            )]);
        };
        // Pod names' suffixes: the same for one node on every run.
        let suffix = |salt: usize| -> String {
            const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt as u64;
            (0..5)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    CHARS[(x >> 33) as usize % CHARS.len()] as char
                })
                .collect()
        };
        Ok(vec![
            format!("node/{name} cordoned"),
            format!(
                "Warning: ignoring DaemonSet-managed Pods: kube-system/calico-node-{}, kube-system/kube-proxy-{}",
                suffix(1),
                suffix(2)
            ),
            format!("node/{name} drained"),
        ])
    }
}
