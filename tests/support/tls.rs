//! A kubeadm-like PKI made fresh per test: the cluster CA, an apiserver serving certificate
//! with the SANs kubeadm gives it, and an admin client certificate (O=system:masters).

use std::sync::Arc;

use time::OffsetDateTime;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto::ring};

pub struct Pki {
    pub ca_pem: String,
    ca: CertifiedIssuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

/// The addresses the serving certificate is valid for: the test endpoint and the masters'
/// advertise addresses in the fixtures.
const SANS: &[&str] = &[
    "localhost",
    "kubernetes",
    "kubernetes.default.svc",
    "127.0.0.1",
    "127.0.0.11",
    "127.0.0.12",
    "127.0.0.13",
];

/// Days after the fixture time: the CA's end (kubeadm's 10 years), and the serving
/// certificates' (far enough ahead that the wall clock never reaches them; a test moves its
/// own clock instead).
pub const CA_DAYS: i64 = 3_650;
pub const SERVING_DAYS: i64 = 3_000;

/// The fixture time plus `days`, as rcgen wants it.
fn fixture_plus(days: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(super::fixture_now().as_second() + days * 86_400).unwrap()
}

pub fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.not_after = fixture_plus(CA_DAYS);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "kubernetes");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "kubernetes-admin");
    client
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().unwrap();
    let client_cert = client.signed_by(&client_key, &ca).unwrap();

    Pki {
        ca_pem: ca.pem(),
        ca_der: ca.der().clone(),
        ca,
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

impl Pki {
    /// TLS as the apiserver does it, with a fresh serving certificate valid until
    /// `serving_days` after the fixture time: client certificates are verified when presented, and
    /// a client without one may still authenticate with a bearer token.
    pub fn server_config(&self, serving_days: i64) -> Arc<ServerConfig> {
        let sans: Vec<String> = SANS.iter().map(|s| s.to_string()).collect();
        let mut server = CertificateParams::new(sans).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.not_after = fixture_plus(serving_days);
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server.signed_by(&server_key, &self.ca).unwrap();

        let provider = Arc::new(ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let cfg = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_cert.der().clone(), self.ca_der.clone()], key)
            .unwrap();
        Arc::new(cfg)
    }
}
