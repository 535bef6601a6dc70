//! Bootstrap tokens and the certificate key's `kubeadm-certs` Secret. No secret part is ever
//! held here: only what can be shown.

use jiff::Timestamp;

/// The description kubeadm gives the certificate key's owner token (`copycerts.go`).
pub const CERT_KEY_OWNER_DESCRIPTION: &str = "Proxy for managing TTL for the kubeadm-certs secret";

/// A `bootstrap.kubernetes.io/token` Secret, without its `token-secret`.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub id: String,
    /// `None`: never expires (unless `bad_expiration` says why it is unreadable).
    pub expiration: Option<Timestamp>,
    /// An `expiration` that is not RFC 3339, as written: the apiserver's bootstrap
    /// authenticator rejects such a token as expired.
    pub bad_expiration: Option<String>,
    pub usages: Vec<String>,
    pub description: String,
    pub groups: Vec<String>,
}

impl Token {
    /// Seconds until expiry, negative once expired, `None` if it never expires; 0 for an
    /// unreadable expiration (expired, as the apiserver treats it).
    pub fn expires_in_s(&self, now: Timestamp) -> Option<i64> {
        if self.bad_expiration.is_some() {
            return Some(0);
        }
        self.expiration.map(|e| e.as_second() - now.as_second())
    }

    /// What is wrong with the token itself, naming it.
    pub fn warning(&self) -> Option<String> {
        let raw = self.bad_expiration.as_deref()?;
        Some(format!(
            "bootstrap token {}: expiration {raw:?} is not RFC 3339; the apiserver rejects \
             the token as expired",
            self.id
        ))
    }

    /// The hidden token kubeadm makes to give `kubeadm-certs` its TTL (any upload's).
    pub fn owns_cert_key(&self) -> bool {
        self.description == CERT_KEY_OWNER_DESCRIPTION
    }

    /// Only a token with the authentication usage can be used by `kubeadm join`.
    pub fn can_join(&self) -> bool {
        self.usages.iter().any(|u| u == "authentication")
    }
}

/// The `kube-system/kubeadm-certs` Secret. It has no TTL of its own: its owner, a hidden
/// 2 h bootstrap token, does, and the garbage collector deletes the Secret after it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CertKey {
    pub secret_present: bool,
    pub owner_token_id: Option<String>,
}

/// `certificate_key.state` in `status --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKeyState {
    /// `kubeadm-certs` exists and its owner token too.
    Present,
    /// Its owner token is gone: the garbage collector is about to delete the Secret.
    Orphaned,
    Absent,
    /// The secrets could not be read (a 403, or no answer yet).
    Unknown,
}
