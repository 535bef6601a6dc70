//! The lab cluster's PKI, made in process: a CA, one serving/peer certificate for every
//! member (they all listen on loopback) and a client certificate for hatui's poller.

use std::path::Path;

use color_eyre::{Result, eyre::WrapErr};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::etcd::TlsMaterial;

/// File names in the cluster's directory, as etcd's flags take them.
pub(super) const CA: &str = "ca.crt";
pub(super) const SERVER_CERT: &str = "server.crt";
pub(super) const SERVER_KEY: &str = "server.key";

/// Writes the CA and the members' certificate into `dir`; returns the poller's TLS (the
/// client key stays in memory).
pub(super) fn make(dir: &Path) -> Result<TlsMaterial> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "hatui-lab-etcd-ca");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let sans = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let mut server = CertificateParams::new(sans)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "hatui-lab-etcd");
    // Members use it both to serve and, as peers, as clients of each other.
    server.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &ca)?;

    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client.distinguished_name.push(DnType::CommonName, "hatui");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    let client_cert = client.signed_by(&client_key, &ca)?;

    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).wrap_err_with(|| format!("writing {}", path.display()))
    };
    write(CA, &ca.pem())?;
    write(SERVER_CERT, &server_cert.pem())?;
    write(SERVER_KEY, &server_key.serialize_pem())?;

    let label = |what: &str| format!("(lab etcd {what}, in memory)");
    let tls = TlsMaterial::from_pem(
        (label("CA"), ca.pem().into_bytes()),
        Some((
            (label("client certificate"), client_cert.pem().into_bytes()),
            (label("client key"), client_key.serialize_pem().into_bytes()),
        )),
    )?;
    Ok(tls)
}
