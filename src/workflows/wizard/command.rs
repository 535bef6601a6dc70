//! A command of the plan: shell text for one host, with holes for the values kubeadm
//! prints at run time (token, CA hash, certificate key), so a plan never holds a secret.

use std::fmt;

/// A value known only once kubeadm has printed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Var {
    Token,
    CaCertHash,
    CertificateKey,
}

impl Var {
    /// The shell variable the dry-run script captures it into.
    pub fn shell_name(self) -> &'static str {
        match self {
            Self::Token => "JOIN_TOKEN",
            Self::CaCertHash => "CA_CERT_HASH",
            Self::CertificateKey => "CERTIFICATE_KEY",
        }
    }

    /// How a plan shows it before it exists.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Token => "<token>",
            Self::CaCertHash => "<ca-cert-hash>",
            Self::CertificateKey => "<certificate-key>",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Remote shell text, as is.
    Text(String),
    Var(Var),
}

/// One shell command line run on one host (as root when `root`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The inventory name of the host it runs on.
    pub host: String,
    pub root: bool,
    pub parts: Vec<Part>,
}

impl Command {
    pub fn root(host: &str, text: impl Into<String>) -> Self {
        Self {
            host: host.to_string(),
            root: true,
            parts: vec![Part::Text(text.into())],
        }
    }

    /// Appends shell text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    pub fn var(mut self, var: Var) -> Self {
        self.parts.push(Part::Var(var));
        self
    }

    pub fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(*v),
            Part::Text(_) => None,
        })
    }

    /// The command with the values' names in place: `--token <token>`.
    pub fn shown(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Var(v) => v.placeholder(),
            })
            .collect()
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}
