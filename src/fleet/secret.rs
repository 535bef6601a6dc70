//! Values that must never be printed: bootstrap token secrets and the certificate key.
//! Their `Debug` and `Display` say `<hidden>`; only [`Secret::expose`] gives the value,
//! for the executor that types it into a command.

use std::fmt;

/// A string that prints as `<hidden>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself: only for the command that is run, never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

/// A bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}`: the id is public (it names the Secret
/// `bootstrap-token-<id>`), the part after the dot is not. Prints as `abcdef.<hidden>`.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapToken {
    pub id: String,
    secret: Secret,
}

impl BootstrapToken {
    /// `None` unless `text` has kubeadm's token shape exactly.
    pub fn parse(text: &str) -> Option<Self> {
        let (id, secret) = text.split_once('.')?;
        let ok = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        (ok(id, 6) && ok(secret, 16)).then(|| Self {
            id: id.to_string(),
            secret: Secret::new(secret),
        })
    }

    /// `id.secret`, for the command that is run.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.id, self.secret.expose())
    }
}

impl fmt::Debug for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.<hidden>", self.id)
    }
}

impl fmt::Display for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.<hidden>", self.id)
    }
}

/// The certificate key of `--upload-certs`: 32 bytes as 64 hex characters, which decrypt
/// the `kubeadm-certs` Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateKey(Secret);

impl CertificateKey {
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(Secret::new(text.to_ascii_lowercase())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Display for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_hidden_in_debug_and_display() {
        let t = BootstrapToken::parse("abcdef.0123456789abcdef").unwrap();
        assert_eq!(t.to_string(), "abcdef.<hidden>");
        assert_eq!(format!("{t:?}"), "abcdef.<hidden>");
        assert_eq!(t.expose(), "abcdef.0123456789abcdef");
        let k = CertificateKey::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(k.to_string(), "<hidden>");
        assert!(!format!("{k:?}").contains("abab"), "{k:?}");
        assert_eq!(k.expose(), "ab".repeat(32));
    }

    #[test]
    fn only_kubeadm_shaped_values_parse() {
        for bad in [
            "abcdef",
            "abcdef.0123",
            "ABCDEF.0123456789abcdef",
            "abcdef.0123456789abcdeg!",
            "",
        ] {
            assert!(BootstrapToken::parse(bad).is_none(), "{bad}");
        }
        assert!(CertificateKey::parse(&"g".repeat(64)).is_none());
        assert!(CertificateKey::parse(&"a".repeat(63)).is_none());
    }
}
