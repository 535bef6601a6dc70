//! Certificate expiry on a live cluster: the cluster CA from the kubeconfig, and each
//! master's apiserver serving certificate as its TLS handshake presents it. Once a minute
//! and whenever the set of masters changes; the serving certificate is checked against the
//! cluster CA like any client would, except that an expired one is still read.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use jiff::Timestamp;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore,
    SignatureScheme,
};
use x509_parser::extensions::GeneralName;

use super::clients::Sources;
use hatui_model::{Certificate, ClusterEvent, FeedKind, FeedStatus};

/// The first round waits this long for the pods watch to name the masters.
const FIRST_WAIT: Duration = Duration::from_secs(3);

/// A certificate's name, notAfter and SANs from its DER encoding.
pub fn parse(name: &str, node: Option<&str>, der: &[u8]) -> Result<Certificate, String> {
    let (_, x) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let not_after = Timestamp::from_second(x.validity().not_after.timestamp())
        .map_err(|e| format!("notAfter out of range: {e}"))?;
    let names = x.subject_alternative_name().ok().flatten();
    let sans = names.iter().flat_map(|ext| &ext.value.general_names);
    let sans = sans.filter_map(|n| match n {
        GeneralName::DNSName(d) => Some(d.to_string()),
        GeneralName::IPAddress(b) => ip(b).map(|a| a.to_string()),
        _ => None,
    });
    Ok(Certificate {
        name: name.to_string(),
        node: node.map(str::to_string),
        not_after,
        sans: sans.collect(),
    })
}

fn ip(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// A round now (once the masters are known, or after [`FIRST_WAIT`]), then every
/// `cert_every` and whenever a master's address changes.
pub fn stream(s: Sources) -> BoxStream<'static, Vec<ClusterEvent>> {
    let masters = s.route.watch_masters();
    stream::unfold((s, masters, true), |(s, mut masters, first)| async move {
        if first {
            let known = masters.wait_for(|m| !m.is_empty());
            let _ = tokio::time::timeout(FIRST_WAIT, known).await;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(s.cert_every) => {}
                changed = masters.changed() => if changed.is_err() { return None },
            }
        }
        masters.borrow_and_update();
        let mut events = round(&s).await;
        // A round is the feed's answer, whatever it could read.
        let answered = FeedStatus {
            every: Some(s.cert_every),
            ..FeedStatus::default()
        };
        events.push(ClusterEvent::Feed(FeedKind::Certificates, answered));
        Some((events, (s, masters, false)))
    })
    .boxed()
}

/// The CA, and each master's serving certificate that a handshake yields. A master that
/// cannot be reached adds nothing: its apiserver's health already says why.
async fn round(s: &Sources) -> Vec<ClusterEvent> {
    let roots = s.route.roots();
    let ca = roots
        .first()
        .and_then(|der| parse(Certificate::CA, None, der).ok());
    let masters = s.route.masters();
    let each = masters.iter().map(|(node, addr)| {
        let roots = &roots;
        async move {
            let der = serving_cert(addr, roots, s.probe_timeout).await.ok()?;
            parse(&Certificate::apiserver_name(node), Some(node), &der).ok()
        }
    });
    let served = futures::future::join_all(each).await;
    ca.into_iter()
        .chain(served.into_iter().flatten())
        .map(ClusterEvent::Certificate)
        .collect()
}

/// The end-entity certificate `addr` presents, verified against `roots` (the cluster CA)
/// for that address. Nothing is sent but the handshake.
pub async fn serving_cert(
    addr: &str,
    roots: &[Vec<u8>],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let recorder = Arc::new(Recorder::new(roots)?);
    let provider = Arc::new(ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let handshake = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let connector = TlsConnector::from(Arc::new(config));
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| format!("timeout after {}s", timeout.as_secs()))??;
    let seen = recorder
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    seen.ok_or_else(|| "no certificate presented".to_string())
}

/// The webpki verifier, remembering the certificate it was shown.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<Option<Vec<u8>>>,
}

impl Recorder {
    fn new(roots: &[Vec<u8>]) -> Result<Self, String> {
        let mut store = RootCertStore::empty();
        for der in roots {
            store
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| e.to_string())?;
        }
        let provider: Arc<CryptoProvider> = Arc::new(ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
            .build()
            .map_err(|e| format!("no usable cluster CA in the kubeconfig: {e}"))?;
        Ok(Self {
            inner,
            seen: Mutex::new(None),
        })
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let verify = |at| {
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, at)
        };
        let verified = match verify(now) {
            // Expired is what we are here to see: check the chain as of its last second.
            Err(TlsError::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            )) => {
                let cert = parse("", None, end_entity)
                    .map_err(|_| TlsError::General("unparsable certificate".into()))?;
                let last = cert.not_after.as_second().saturating_sub(1).max(0);
                verify(UnixTime::since_unix_epoch(Duration::from_secs(
                    last.unsigned_abs(),
                )))?
            }
            other => other?,
        };
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(end_entity.to_vec());
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use time::OffsetDateTime;
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    use super::*;

    const NOT_AFTER: i64 = 1_800_000_000;

    fn ca() -> CertifiedIssuer<'static, KeyPair> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
    }

    /// A serving certificate for 127.0.0.1 ending at `not_after` (Unix seconds).
    fn serving(ca: &CertifiedIssuer<'static, KeyPair>, not_after: i64) -> (Vec<u8>, KeyPair) {
        let mut p = CertificateParams::new(vec!["127.0.0.1".into(), "cp-1".into()]).unwrap();
        p.not_after = OffsetDateTime::from_unix_timestamp(not_after).unwrap();
        let key = KeyPair::generate().unwrap();
        (p.signed_by(&key, ca).unwrap().der().to_vec(), key)
    }

    /// A TLS server on loopback presenting `cert`; answers handshakes until dropped.
    async fn serve(cert: Vec<u8>, key: KeyPair) -> String {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let cfg = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.into()], key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(cfg));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = acceptor.accept(tcp).await;
            }
        });
        addr
    }

    #[test]
    fn parse_reads_not_after_and_sans() {
        let (der, _) = serving(&ca(), NOT_AFTER);
        let cert = parse("apiserver cp-1", Some("cp-1"), &der).unwrap();
        assert_eq!(cert.not_after.as_second(), NOT_AFTER);
        assert_eq!(cert.sans, ["127.0.0.1", "cp-1"]);
        assert_eq!(cert.node.as_deref(), Some("cp-1"));
        assert!(parse("x", None, b"not a certificate").is_err());
    }

    #[tokio::test]
    async fn the_handshake_yields_the_serving_certificate_even_expired_but_only_from_the_ca() {
        let ca = ca();
        let roots = [ca.der().to_vec()];
        let timeout = Duration::from_secs(2);
        let yesterday = Timestamp::now().as_second() - 86_400;
        for not_after in [NOT_AFTER, yesterday] {
            let (der, key) = serving(&ca, not_after);
            let addr = serve(der.clone(), key).await;
            let got = serving_cert(&addr, &roots, timeout).await;
            assert_eq!(got, Ok(der), "notAfter {not_after}");
        }
        let (der, key) = serving(&self::ca(), NOT_AFTER);
        let addr = serve(der, key).await;
        let err = serving_cert(&addr, &roots, timeout).await.unwrap_err();
        assert!(err.contains("invalid peer certificate"), "{err}");
    }
}
