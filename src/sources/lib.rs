//! The sources: what feeds the cockpit from outside the program. Live Kubernetes (watches),
//! etcd's three ways in (direct, `kubectl exec`, through SSH), real etcd processes for the
//! lab, and the supervision that restarts a failed feed. They send owned updates of the
//! model; they know neither the workflows nor the screen.

pub mod cause;
pub mod etcd;
pub mod live;
pub mod real_etcd;
pub mod supervise;
