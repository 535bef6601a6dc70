//! Bootstrap tokens and the certificate key's `kubeadm-certs` Secret. No secret part is ever
//! held here: only what can be shown.

use jiff::Timestamp;

/// A `bootstrap.kubernetes.io/token` Secret, without its `token-secret`.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub id: String,
    /// `None`: never expires.
    pub expiration: Option<Timestamp>,
    pub usages: Vec<String>,
    pub description: String,
    pub groups: Vec<String>,
}

impl Token {
    /// Seconds until expiry, negative once expired, `None` if it never expires.
    pub fn expires_in_s(&self, now: Timestamp) -> Option<i64> {
        self.expiration.map(|e| e.as_second() - now.as_second())
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
