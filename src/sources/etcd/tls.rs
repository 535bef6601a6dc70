//! Client TLS material for etcd: the CA that signs the members' certificates and the
//! client certificate and key (kubeadm: `/etc/kubernetes/pki/etcd/ca.crt`,
//! `healthcheck-client.crt`, `healthcheck-client.key`).
//!
//! Everything is checked when loaded so a bad file is reported by name before any
//! connection is tried; a TLS failure later in the handshake also names the file.

use std::fmt;
use std::path::Path;

use etcd_client::{Certificate, Identity, TlsOptions};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where some PEM came from (a path, or `host:path` over SSH) and its bytes.
pub type LabelledPem = (String, Vec<u8>);

/// PEM bytes plus where each came from, for error messages. The key never leaves
/// memory and is never printed (`Debug` shows only the labels).
#[derive(Clone)]
pub struct TlsMaterial {
    ca: Pem,
    identity: Option<(Pem, Pem)>,
}

#[derive(Clone)]
struct Pem {
    /// A path, or `host:path` for a file read over SSH.
    origin: String,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Ca,
    Cert,
    Key,
}

impl Part {
    fn what(self) -> &'static str {
        match self {
            Self::Ca => "etcd CA certificate",
            Self::Cert => "etcd client certificate",
            Self::Key => "etcd client key",
        }
    }
}

/// A TLS file that cannot be used, naming it and saying what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    pub part: Part,
    pub origin: String,
    pub problem: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.part.what(), self.origin, self.problem)
    }
}

impl std::error::Error for TlsError {}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca", &self.ca.origin)
            .field("cert", &self.cert_origin())
            .field("key", &self.identity.as_ref().map(|(_, k)| &k.origin))
            .finish()
    }
}

impl TlsMaterial {
    /// Reads and checks the files. Cert and key come together or not at all.
    pub fn from_files(
        ca: &Path,
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let read = |part: Part, path: &Path| {
            std::fs::read(path).map_err(|e| TlsError {
                part,
                origin: path.display().to_string(),
                problem: format!("cannot read: {e}"),
            })
        };
        let label = |p: &Path| p.display().to_string();
        let identity = match (cert, key) {
            (Some(c), Some(k)) => Some((
                (label(c), read(Part::Cert, c)?),
                (label(k), read(Part::Key, k)?),
            )),
            (None, None) => None,
            (Some(c), None) => return Err(missing_pair(Part::Key, c)),
            (None, Some(k)) => return Err(missing_pair(Part::Cert, k)),
        };
        Self::from_pem((label(ca), read(Part::Ca, ca)?), identity)
    }

    /// From bytes already in memory (read over SSH); each comes with its origin label.
    pub fn from_pem(
        ca: LabelledPem,
        identity: Option<(LabelledPem, LabelledPem)>,
    ) -> Result<Self, TlsError> {
        let pem = |(origin, bytes): LabelledPem| Pem { origin, bytes };
        let out = Self {
            ca: pem(ca),
            identity: identity.map(|(c, k)| (pem(c), pem(k))),
        };
        check_certs(Part::Ca, &out.ca)?;
        if let Some((cert, key)) = &out.identity {
            check_certs(Part::Cert, cert)?;
            PrivateKeyDer::from_pem_slice(&key.bytes).map_err(|e| TlsError {
                part: Part::Key,
                origin: key.origin.clone(),
                problem: format!("no PEM private key in it ({e})"),
            })?;
        }
        Ok(out)
    }

    pub fn ca_origin(&self) -> &str {
        &self.ca.origin
    }

    pub fn cert_origin(&self) -> Option<&str> {
        self.identity.as_ref().map(|(c, _)| c.origin.as_str())
    }

    pub(crate) fn options(&self) -> TlsOptions {
        let tls = TlsOptions::new().ca_certificate(Certificate::from_pem(&self.ca.bytes));
        match &self.identity {
            Some((c, k)) => tls.identity(Identity::from_pem(&c.bytes, &k.bytes)),
            None => tls,
        }
    }

    /// Turns a handshake failure buried in a transport error into what to fix.
    pub(crate) fn explain(&self, chain: &str) -> Option<String> {
        let has = |s: &str| chain.contains(s);
        if has("UnknownIssuer") || has("BadSignature") {
            Some(format!(
                "TLS: the server certificate is not signed by the CA in {} ({})",
                self.ca.origin,
                detail(chain)
            ))
        } else if has("NotValidForName") {
            Some(format!(
                "TLS: the server certificate is not valid for this address ({})",
                detail(chain)
            ))
        } else if has("CertificateRequired") || has("BadCertificate") || has("UnknownCA") {
            Some(match self.cert_origin() {
                Some(cert) => format!(
                    "TLS: the server rejected the client certificate {cert} ({})",
                    detail(chain)
                ),
                None => "TLS: the server requires a client certificate: give --etcd-cert and \
                         --etcd-key (kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.crt/.key)"
                    .to_string(),
            })
        } else if self.identity.is_none()
            && (has("connection closed") || has("broken pipe") || has("reset by peer"))
        {
            // TLS 1.3: the server checks the client certificate after the handshake
            // and just closes the connection; without one that is the likely cause.
            Some(
                "TLS: the server closed the connection: it likely requires a client \
                 certificate; give --etcd-cert and --etcd-key (kubeadm: \
                 /etc/kubernetes/pki/etcd/healthcheck-client.crt/.key)"
                    .to_string(),
            )
        } else if has("Expired") || has("NotValidYet") {
            Some(format!(
                "TLS: a certificate is outside its validity ({})",
                detail(chain)
            ))
        } else {
            None
        }
    }
}

/// The innermost part of an error chain is the one that says what happened.
fn detail(chain: &str) -> &str {
    chain.rsplit(": ").next().unwrap_or(chain)
}

fn missing_pair(part: Part, other: &Path) -> TlsError {
    TlsError {
        part,
        origin: "(not given)".into(),
        problem: format!("needed together with {}", other.display()),
    }
}

fn check_certs(part: Part, pem: &Pem) -> Result<(), TlsError> {
    let bad = |problem: String| TlsError {
        part,
        origin: pem.origin.clone(),
        problem,
    };
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&pem.bytes).collect();
    match certs {
        Ok(c) if c.is_empty() => Err(bad("no PEM certificate in it".into())),
        Ok(_) => Ok(()),
        Err(e) => Err(bad(format!("not a valid PEM certificate ({e})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_garbage_files_are_named() {
        let dir = std::env::temp_dir().join(format!("hatui-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.crt");
        std::fs::write(&junk, "hello").unwrap();
        let gone = dir.join("gone.crt");
        let e = TlsMaterial::from_files(&gone, None, None).unwrap_err();
        assert_eq!(e.part, Part::Ca);
        assert!(e.to_string().contains("gone.crt: cannot read"), "{e}");
        let e = TlsMaterial::from_files(&junk, None, None).unwrap_err();
        assert!(
            e.to_string().contains("junk.crt: no PEM certificate"),
            "{e}"
        );
        let e = TlsMaterial::from_files(&junk, Some(&junk), None).unwrap_err();
        assert_eq!(e.part, Part::Key);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
