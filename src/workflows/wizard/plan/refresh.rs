//! The countdown steps: `upload-certs` and `token-create`, inserted before a join that
//! would outlive the certificate key or the token.

use jiff::SignedDuration;

use super::steps::{token_create, upload_certs};
use super::{Plan, StepKind};

/// Time left on the join material; `None` = gone (or never created).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    /// The `kubeadm-certs` Secret's owner token (2 h after upload-certs).
    pub certificate_key: Option<SignedDuration>,
    /// The join token (24 h by default); a token without expiry: `SignedDuration::MAX`.
    pub token: Option<SignedDuration>,
}

/// Besides the join itself: what a slow network or a retry may add.
pub const SAFETY_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// Inserts `upload-certs/<node>` and/or `token-create/<node>` before step `before` when the
/// certificate key (control-plane joins only) or the token would expire before the join,
/// expected to take `expected`, has finished. For a worker of a parallel group, before the
/// group. Returns the ids inserted.
pub fn insert_refreshes(
    plan: &mut Plan,
    before: &str,
    remaining: Remaining,
    expected: SignedDuration,
) -> Vec<String> {
    let Some(mut at) = plan.steps.iter().position(|s| s.id == before) else {
        return Vec::new();
    };
    let target = plan.steps[at].clone();
    if let Some(group) = &target.parallel_group {
        while at > 0 && plan.steps[at - 1].parallel_group.as_ref() == Some(group) {
            at -= 1;
        }
    }
    let node = target.hosts.first().cloned().unwrap_or_default();
    let short = |left: Option<SignedDuration>| left.is_none_or(|l| l < expected + SAFETY_MARGIN);
    let healthy = init_master(plan);
    let mut inserted = Vec::new();
    let control_plane = target.kind == StepKind::JoinControlPlane;
    // Said in the tense of what happened: gone already, or about to go.
    let gone = |left: Option<SignedDuration>| left.is_none_or(|l| !l.is_positive());
    if control_plane && short(remaining.certificate_key) {
        let why = if gone(remaining.certificate_key) {
            "The certificate key expired: the kubeadm-certs Secret is deleted 2 hours after \
             upload. Uploading again makes a new key, valid 2 more hours."
        } else {
            "The certificate key would expire during the join: the kubeadm-certs Secret is \
             deleted 2 hours after upload. Uploading again makes a new key, valid 2 more hours."
        };
        let s = upload_certs(format!("upload-certs/{node}"), &healthy, why);
        plan.steps.insert(at + inserted.len(), s);
        inserted.push(format!("upload-certs/{node}"));
    }
    if short(remaining.token) {
        let why = if gone(remaining.token) {
            "The join token expired, and kubeadm join with an expired token fails with an \
             unhelpful error. A new token is valid 24 hours."
        } else {
            "The join token would expire during the join, and kubeadm join with an expired \
             token fails with an unhelpful error. A new token is valid 24 hours."
        };
        let s = token_create(format!("token-create/{node}"), &healthy, why, "");
        plan.steps.insert(at + inserted.len(), s);
        inserted.push(format!("token-create/{node}"));
    }
    inserted
}

/// The master that ran init: healthy before any join (an executor may pick another).
fn init_master(plan: &Plan) -> String {
    plan.step("init")
        .and_then(|s| s.hosts.first().cloned())
        .unwrap_or_default()
}
