//! What the wizard reads back from kubeadm: the join commands, token, CA hash and
//! certificate key, in every wording and whitespace kubeadm has printed them.
//!
//! Pure functions over text. kubeadm's join line (`cmd/kubeadm/app/cmd/util/join.go`) is
//! `kubeadm join HOST:PORT --token T \` then continuation lines indented with a tab (a
//! terminal copy turns them into spaces; older releases used 4), and the worker line ends
//! with a space. `kubeadm token create --print-join-command` prints the same on one line.

use std::fmt;

use hatui_fleet::secret::{BootstrapToken, CertificateKey};

/// A `kubeadm join` command as kubeadm printed it, secrets wrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCommand {
    /// `HOST:PORT`, the control-plane endpoint (or a master when init had none).
    pub endpoint: String,
    pub token: BootstrapToken,
    /// `sha256:<hex>` pins of the cluster CA's public key: public, safe to show.
    pub ca_cert_hashes: Vec<String>,
    pub control_plane: bool,
    pub certificate_key: Option<CertificateKey>,
}

impl JoinCommand {
    /// The arguments to run, secrets included: for the executor only.
    pub fn exposed_args(&self) -> Vec<String> {
        let mut args = vec![
            "kubeadm".into(),
            "join".into(),
            self.endpoint.clone(),
            "--token".into(),
            self.token.expose(),
        ];
        for h in &self.ca_cert_hashes {
            args.extend(["--discovery-token-ca-cert-hash".into(), h.clone()]);
        }
        if self.control_plane {
            args.push("--control-plane".into());
        }
        if let Some(k) = &self.certificate_key {
            args.extend(["--certificate-key".into(), k.expose().to_string()]);
        }
        args
    }
}

/// Shown as kubeadm prints it on one line, with `abcdef.<hidden>` and `<hidden>` in place
/// of the secrets.
impl fmt::Display for JoinCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kubeadm join {} --token {}", self.endpoint, self.token)?;
        for h in &self.ca_cert_hashes {
            write!(f, " --discovery-token-ca-cert-hash {h}")?;
        }
        if self.control_plane {
            f.write_str(" --control-plane")?;
        }
        if let Some(k) = &self.certificate_key {
            write!(f, " --certificate-key {k}")?;
        }
        Ok(())
    }
}

/// Which sentence introduced the control-plane join: it tells the releases apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// Up to 1.31: "You can now join any number of the control-plane node running ...".
    UpTo1_31,
    /// From 1.32 (kubernetes PR #128118): "... any number of control-plane nodes running ...".
    From1_32,
    /// No control-plane join printed: init ran without `--control-plane-endpoint`.
    NoControlPlaneJoin,
    /// A control-plane join under a sentence this parser does not know.
    Unknown,
}

/// What the wizard needs from `kubeadm init`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOutput {
    pub wording: Wording,
    /// Absent when init ran without `--control-plane-endpoint`: control planes cannot join
    /// that cluster until `controlPlaneEndpoint` is set (seed 003's troubleshooting).
    pub control_plane_join: Option<JoinCommand>,
    pub worker_join: JoinCommand,
}

impl InitOutput {
    pub fn token(&self) -> &BootstrapToken {
        &self.worker_join.token
    }

    pub fn ca_cert_hash(&self) -> &str {
        &self.worker_join.ca_cert_hashes[0]
    }

    pub fn certificate_key(&self) -> Option<&CertificateKey> {
        self.control_plane_join.as_ref()?.certificate_key.as_ref()
    }
}

/// Why a text could not be read. Never includes a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// No `kubeadm join` line at all: usually init failed (its error is in the output).
    NoJoinCommand,
    /// A `kubeadm join` line that is not what kubeadm prints; says which part.
    BadJoinCommand(String),
    /// `--skip-token-print` or `--skip-certificate-key-print` was used.
    Withheld(&'static str),
    /// Two places in one output disagree (e.g. the token of the two join commands).
    Inconsistent(String),
    /// No `[upload-certs] Using certificate key:` followed by a 64-hex key.
    NoCertificateKey,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoJoinCommand => f.write_str("no `kubeadm join` command in kubeadm's output"),
            Self::BadJoinCommand(why) => write!(f, "the `kubeadm join` command: {why}"),
            Self::Withheld(what) => write!(
                f,
                "kubeadm printed <value withheld> for the {what}: run it without --skip-token-print and --skip-certificate-key-print"
            ),
            Self::Inconsistent(why) => write!(f, "kubeadm's output disagrees with itself: {why}"),
            Self::NoCertificateKey => f.write_str(
                "no certificate key in kubeadm's output (expected `[upload-certs] Using certificate key:` and the key on the next line)",
            ),
        }
    }
}

impl std::error::Error for ParseError {}

const OLD_SENTENCE: &str = "You can now join any number of the control-plane node running";
const NEW_SENTENCE: &str = "You can now join any number of control-plane nodes running";

/// `kubeadm init`'s whole output.
pub fn parse_init(text: &str) -> Result<InitOutput, ParseError> {
    let joins = join_commands(text)?;
    let mut control_plane = None;
    let mut worker = None;
    for j in joins {
        let slot = if j.control_plane {
            &mut control_plane
        } else {
            &mut worker
        };
        slot.get_or_insert(j);
    }
    let worker_join = worker.ok_or_else(|| {
        ParseError::BadJoinCommand("no worker join (one without --control-plane)".into())
    })?;
    if let Some(cp) = &control_plane {
        if cp.token != worker_join.token {
            return Err(ParseError::Inconsistent(
                "the control-plane and worker joins name different tokens".into(),
            ));
        }
        if let (Some(key), Ok(printed)) = (&cp.certificate_key, parse_upload_certs(text))
            && *key != printed
        {
            return Err(ParseError::Inconsistent(
                "the certificate key of the join differs from `[upload-certs] Using certificate key:`".into(),
            ));
        }
    }
    let wording = match (
        &control_plane,
        text.contains(OLD_SENTENCE),
        text.contains(NEW_SENTENCE),
    ) {
        (None, ..) => Wording::NoControlPlaneJoin,
        (Some(_), true, _) => Wording::UpTo1_31,
        (Some(_), _, true) => Wording::From1_32,
        (Some(_), false, false) => Wording::Unknown,
    };
    Ok(InitOutput {
        wording,
        control_plane_join: control_plane,
        worker_join,
    })
}

/// `kubeadm init phase upload-certs --upload-certs`: `[upload-certs] Using certificate key:`
/// and the key on the next line (also found inside init's output).
pub fn parse_upload_certs(text: &str) -> Result<CertificateKey, ParseError> {
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("[upload-certs] Using certificate key:") else {
            continue;
        };
        // The key is on the next line; accept it on the same line too.
        let candidate = match rest.trim() {
            "" => lines.next().unwrap_or(""),
            same => same,
        };
        if candidate.contains("<value withheld>") {
            return Err(ParseError::Withheld("certificate key"));
        }
        return CertificateKey::parse(candidate).ok_or(ParseError::NoCertificateKey);
    }
    Err(ParseError::NoCertificateKey)
}

/// `kubeadm token create --print-join-command [--certificate-key K]`: one line, a worker
/// join, or a control-plane join when a certificate key was given.
pub fn parse_token_create(text: &str) -> Result<JoinCommand, ParseError> {
    let mut joins = join_commands(text)?;
    if joins.len() > 1 {
        return Err(ParseError::BadJoinCommand(format!(
            "expected one, found {}",
            joins.len()
        )));
    }
    Ok(joins.remove(0))
}

/// Every `kubeadm join` in `text`, backslash continuations joined.
fn join_commands(text: &str) -> Result<Vec<JoinCommand>, ParseError> {
    let found: Vec<JoinCommand> = logical_lines(text)
        .iter()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("kubeadm join ")
                .map(str::to_string)
        })
        .map(|rest| parse_join_args(&rest))
        .collect::<Result<_, _>>()?;
    if found.is_empty() {
        return Err(ParseError::NoJoinCommand);
    }
    Ok(found)
}

/// Lines with `\`-continuations folded in, whatever the indentation, CR or trailing spaces.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let (body, continues) = match line.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line, false),
        };
        let acc = current.get_or_insert_with(String::new);
        acc.push(' ');
        acc.push_str(body);
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// The words after `kubeadm join`.
fn parse_join_args(rest: &str) -> Result<JoinCommand, ParseError> {
    if rest.contains("<value withheld>") {
        let what = if rest.contains("--certificate-key <value withheld>") {
            "certificate key"
        } else {
            "token"
        };
        return Err(ParseError::Withheld(what));
    }
    let bad = |why: String| Err(ParseError::BadJoinCommand(why));
    let mut words = rest.split_whitespace();
    let Some(endpoint) = words.next() else {
        return bad("no endpoint after `kubeadm join`".into());
    };
    if !is_host_port(endpoint) {
        return bad("the word after `kubeadm join` is not HOST:PORT".into());
    }
    let (mut token, mut hashes, mut control_plane, mut key) = (None, Vec::new(), false, None);
    while let Some(flag) = words.next() {
        let mut value = |name: &str| {
            words
                .next()
                .ok_or_else(|| ParseError::BadJoinCommand(format!("{name} has no value")))
        };
        match flag {
            "--token" => {
                let v = value(flag)?;
                token = Some(BootstrapToken::parse(v).ok_or_else(|| {
                    ParseError::BadJoinCommand("--token is not [a-z0-9]{6}.[a-z0-9]{16}".into())
                })?);
            }
            "--discovery-token-ca-cert-hash" => {
                let v = value(flag)?;
                // Not echoed: in a garbled output the value may be a secret.
                if !is_ca_hash(v) {
                    return bad("--discovery-token-ca-cert-hash is not sha256:<64 hex>".into());
                }
                hashes.push(v.to_string());
            }
            "--control-plane" => control_plane = true,
            "--certificate-key" => {
                let v = value(flag)?;
                key = Some(CertificateKey::parse(v).ok_or_else(|| {
                    ParseError::BadJoinCommand("--certificate-key is not 64 hex characters".into())
                })?);
            }
            other => return bad(unexpected(other)),
        }
    }
    let Some(token) = token else {
        return bad("no --token".into());
    };
    if hashes.is_empty() {
        return bad("no --discovery-token-ca-cert-hash".into());
    }
    if key.is_some() && !control_plane {
        return bad("--certificate-key without --control-plane".into());
    }
    Ok(JoinCommand {
        endpoint: endpoint.to_string(),
        token,
        ca_cert_hashes: hashes,
        control_plane,
        certificate_key: key,
    })
}

fn is_host_port(s: &str) -> bool {
    s.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !port.is_empty() && port.parse::<u16>().is_ok()
    })
}

fn is_ca_hash(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Names an unknown flag, never a value: values may be secrets.
fn unexpected(word: &str) -> String {
    let flag = word.len() <= 40
        && word.starts_with("--")
        && word[2..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    if flag {
        format!("unexpected `{word}`")
    } else {
        "an unexpected value (not shown: it may be a secret)".into()
    }
}
