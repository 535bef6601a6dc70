//! The join material an executor collects as the plan runs: the token, the CA hash and
//! the certificate key, taken from the output of `init`, `upload-certs` and `token-create`,
//! and spliced into the commands that need them. Shown, they read `--token abcdef.<hidden>`
//! and `--certificate-key <hidden>`.

use super::command::{Command, Part, Var};
use super::kubeadm_output::{self, ParseError};
use super::plan::StepKind;
use hatui_fleet::secret::{BootstrapToken, CertificateKey};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinMaterial {
    pub token: Option<BootstrapToken>,
    /// `sha256:<hex>`: public.
    pub ca_cert_hash: Option<String>,
    pub certificate_key: Option<CertificateKey>,
}

impl JoinMaterial {
    /// Takes what a step's output provides; steps that provide nothing change nothing.
    pub fn absorb(&mut self, kind: StepKind, output: &str) -> Result<(), ParseError> {
        match kind {
            StepKind::Init => {
                let out = kubeadm_output::parse_init(output)?;
                self.token = Some(out.token().clone());
                self.ca_cert_hash = Some(out.ca_cert_hash().to_string());
                // No control-plane join printed: no key, and joins must wait for a fix.
                self.certificate_key = out.certificate_key().cloned();
            }
            StepKind::UploadCerts => {
                self.certificate_key = Some(kubeadm_output::parse_upload_certs(output)?);
            }
            StepKind::TokenCreate => {
                let join = kubeadm_output::parse_token_create(output)?;
                self.token = Some(join.token);
                self.ca_cert_hash = join.ca_cert_hashes.into_iter().next();
                if join.certificate_key.is_some() {
                    self.certificate_key = join.certificate_key;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn shown(&self, var: Var) -> Option<String> {
        match var {
            Var::Token => self.token.as_ref().map(|t| t.to_string()),
            Var::CaCertHash => self.ca_cert_hash.clone(),
            Var::CertificateKey => self.certificate_key.as_ref().map(|k| k.to_string()),
        }
    }

    fn exposed(&self, var: Var) -> Option<String> {
        match var {
            Var::Token => self.token.as_ref().map(|t| t.expose()),
            Var::CaCertHash => self.ca_cert_hash.clone(),
            Var::CertificateKey => self
                .certificate_key
                .as_ref()
                .map(|k| k.expose().to_string()),
        }
    }

    /// The command as the operator sees it: secrets hidden, unknown values as placeholders.
    pub fn show(&self, c: &Command) -> String {
        self.splice(c, |v| {
            self.shown(v).unwrap_or_else(|| v.placeholder().to_string())
        })
    }

    /// The command to run, secrets in; `Err` names the first value not known yet.
    pub fn expose(&self, c: &Command) -> Result<String, Var> {
        if let Some(missing) = c.vars().find(|v| self.exposed(*v).is_none()) {
            return Err(missing);
        }
        Ok(self.splice(c, |v| self.exposed(v).unwrap_or_default()))
    }

    fn splice(&self, c: &Command, value: impl Fn(Var) -> String) -> String {
        c.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Var(v) => value(*v),
            })
            .collect()
    }
}
