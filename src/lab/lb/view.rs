//! The balancer as a client sees it: the endpoint's health (with the balancer's view of
//! each master) and, for kube-vip, its Lease.

use hatui_model::{ClusterEvent, EndpointHealth, LbBackend, Lease};

use super::super::Lab;
use super::super::config::LabConfig;
use super::super::endpoint::ApiHealth;
use super::super::out::{Out, Slot};
use super::super::views::at;
use super::{Lb, LbKind, Request, VIP_LEASE};

/// What the consumer was last given of the balancer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ShownLb {
    /// Readiness, the balancer's line (where HAProxy's VIP is) and its view of each master.
    endpoint: Option<(Option<bool>, Option<String>, Vec<LbBackend>)>,
    vip: (u64, u64),
}

impl Lb {
    pub(crate) fn endpoint(&self, cfg: &LabConfig, api: &ApiHealth) -> EndpointHealth {
        self.endpoint_after(self.last, cfg, api)
    }

    /// The endpoint as request `req` found it.
    pub(crate) fn endpoint_after(
        &self,
        req: Request,
        cfg: &LabConfig,
        api: &ApiHealth,
    ) -> EndpointHealth {
        let name = |i: usize| cfg.name(i);
        let detail = match (req.backend, req.error) {
            (Some(i), None) => format!("via {}", name(i)),
            (Some(i), Some(why)) if self.serving(i) => {
                let still = match self.kind {
                    LbKind::KubeVip => "it still holds the VIP".to_string(),
                    _ if !self.targets[i].in_service => {
                        format!("the {} fails open to every target", self.kind)
                    }
                    kind => format!("the {kind} still sends it traffic"),
                };
                format!("via {}: {why}; {still}", name(i))
            }
            (Some(i), Some(why)) => format!("via {}: {why}", name(i)),
            (None, why) => why.unwrap_or("no backend").to_string(),
        };
        let latency_ms = match (req.backend, req.error) {
            (Some(i), None) => Some(((api.latency_ms[i] + api.hop_ms()) * 10.0).round() / 10.0),
            _ => None,
        };
        EndpointHealth {
            address: cfg.endpoint.clone(),
            ready: Some(req.error.is_none()),
            detail: Some(detail),
            latency_ms,
            balancer: Some(self.describe(cfg)),
            backends: (0..self.targets.len())
                .filter(|&i| self.listed[i])
                .map(|i| LbBackend {
                    node: name(i),
                    serving: self.serving(i),
                    detail: self.backend_detail(i),
                })
                .collect(),
        }
    }

    fn backend_detail(&self, i: usize) -> String {
        if self.kind == LbKind::KubeVip {
            return if self.serving(i) {
                "holds the VIP".into()
            } else {
                "standby".into()
            };
        }
        let (fall, rise) = self.check.map_or((1, 1), |c| (c.unhealthy, c.healthy));
        let t = &self.targets[i];
        if t.in_service && t.passive_out {
            return "out of service (passive check: a connection to it failed)".into();
        }
        match (t.in_service, t.streak) {
            (true, 0) => "in service".into(),
            (true, k) => format!("in service, {k}/{fall} checks failed"),
            (false, 0) => "out of service".into(),
            (false, k) => format!("out of service, {k}/{rise} checks passed"),
        }
    }

    /// The balancer's line in the Endpoint pane: its checks, and where HAProxy's VIP is.
    fn describe(&self, cfg: &LabConfig) -> String {
        let text = self.kind.describe(self.check);
        if self.kind != LbKind::Haproxy {
            return text;
        }
        match self.keepalived.holder {
            Some(h) => format!("{text}, VIP on {}", cfg.name(h)),
            None => format!("{text}, no VIP"),
        }
    }

    pub(crate) fn vip_lease(&self, cfg: &LabConfig) -> Lease {
        let v = &self.vip;
        Lease {
            name: VIP_LEASE.into(),
            namespace: "kube-system".into(),
            holder_identity: v.holder.map(|i| v.host(i).to_string()),
            acquire_time: Some(at(cfg, v.acquired)),
            renew_time: Some(at(cfg, v.renewed)),
            duration_s: v.duration_s,
            transitions: v.transitions,
        }
    }
}

impl Lab {
    /// The endpoint after this second's request: a change when readiness, the balancer's
    /// view or its VIP moved, else a refresh (latency, the backend it went through).
    pub(crate) fn emit_endpoint(&mut self, out: &mut Out) {
        let ep = self.lb.endpoint(&self.cfg, &self.api);
        let key = Some((ep.ready, ep.balancer.clone(), ep.backends.clone()));
        if self.shown_lb.endpoint != key {
            self.shown_lb.endpoint = key;
            out.change(
                &self.cfg,
                self.now,
                Some(Slot::Endpoint),
                ClusterEvent::Endpoint(ep),
            );
        } else {
            out.refresh(Slot::Endpoint, ClusterEvent::Endpoint(ep));
        }
    }

    /// kube-vip's Lease, read through the API like the others.
    pub(crate) fn emit_vip_lease(&mut self, out: &mut Out, resync: bool) {
        if self.lb.kind != LbKind::KubeVip {
            return;
        }
        let v = &self.lb.vip;
        let gens = (v.changed, v.renewals);
        let ev = ClusterEvent::LeaseUpsert(self.lb.vip_lease(&self.cfg));
        if resync || gens.0 != self.shown_lb.vip.0 {
            out.change(&self.cfg, self.now, Some(Slot::VipLease), ev);
        } else if gens.1 != self.shown_lb.vip.1 {
            out.refresh(Slot::VipLease, ev);
        }
        self.shown_lb.vip = gens;
    }
}
