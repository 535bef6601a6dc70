//! Finding and loading the kubeconfig as kubectl does (`--kubeconfig`, `KUBECONFIG`,
//! `~/.kube/config`; `--context` or `current-context`), with errors that name the file and
//! the field to fix.

use std::fmt;
use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

/// Which cluster to talk to, from the command line.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A kubeconfig that loaded: the client config and what to call it on screen.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: kube::Config,
    /// The file (or `$KUBECONFIG` list) it came from.
    pub file: String,
    pub context: String,
    /// `host:port` of the kubeconfig's server (normally the load balancer).
    pub server: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub file: String,
    /// The kubeconfig field at fault, in kubectl's dotted notation.
    pub field: Option<String>,
    pub problem: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "kubeconfig {}: {field}: {}", self.file, self.problem),
            None => write!(f, "kubeconfig {}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for Error {}

pub async fn load(target: &Target) -> Result<Loaded, Error> {
    let (file, kc) = read(target)?;
    let err = |field: Option<String>, problem: String| Error {
        file: file.clone(),
        field,
        problem,
    };
    let names = |it: &mut dyn Iterator<Item = &String>| {
        let v: Vec<&str> = it.map(String::as_str).collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let context = match target
        .context
        .clone()
        .or_else(|| kc.current_context.clone())
    {
        Some(c) if !c.is_empty() => c,
        _ => {
            let have = names(&mut kc.contexts.iter().map(|c| &c.name));
            let problem = format!("not set; pass --context NAME (contexts: {have})");
            return Err(err(Some("current-context".into()), problem));
        }
    };
    let Some(ctx) = kc
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
    else {
        let have = names(&mut kc.contexts.iter().map(|c| &c.name));
        let problem = format!("no context named {context:?} (contexts: {have})");
        return Err(err(Some("contexts".into()), problem));
    };
    let cluster_field = format!("clusters[{:?}].cluster", ctx.cluster);
    let Some(cluster) = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
    else {
        let have = names(&mut kc.clusters.iter().map(|c| &c.name));
        let problem = format!(
            "names cluster {:?}, which is not in clusters (clusters: {have})",
            ctx.cluster
        );
        return Err(err(
            Some(format!("contexts[{context:?}].context.cluster")),
            problem,
        ));
    };
    let server_field = Some(format!("{cluster_field}.server"));
    let Some(server) = cluster.server.as_deref().filter(|s| !s.is_empty()) else {
        let problem = "missing: the API server URL, e.g. https://lb.example:6443".into();
        return Err(err(server_field, problem));
    };
    let uri: http::Uri = server.parse().map_err(|e| {
        err(
            server_field.clone(),
            format!("{server:?} is not a URL: {e}"),
        )
    })?;
    let Some(authority) = uri.authority().filter(|_| uri.scheme().is_some()) else {
        let problem = format!("{server:?} is not a URL like https://host:6443");
        return Err(err(server_field, problem));
    };
    let user_field = match &ctx.user {
        Some(user) if !kc.auth_infos.iter().any(|u| &u.name == user) => {
            let have = names(&mut kc.auth_infos.iter().map(|u| &u.name));
            let problem = format!("names user {user:?}, which is not in users (users: {have})");
            return Err(err(
                Some(format!("contexts[{context:?}].context.user")),
                problem,
            ));
        }
        Some(user) => format!("users[{user:?}].user"),
        None => "users".to_string(),
    };
    let server = match authority.port_u16() {
        Some(_) => authority.to_string(),
        None => format!("{}:443", authority.host()),
    };
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| {
            let (field, problem) = match &e {
                KubeconfigError::LoadCertificateAuthority(_)
                | KubeconfigError::ParseCertificates(_) => (
                    format!("{cluster_field}.certificate-authority(-data)"),
                    e.to_string(),
                ),
                KubeconfigError::LoadClientCertificate(_) => (
                    format!("{user_field}.client-certificate(-data)"),
                    e.to_string(),
                ),
                KubeconfigError::LoadClientKey(_) => {
                    (format!("{user_field}.client-key(-data)"), e.to_string())
                }
                _ => return err(None, e.to_string()),
            };
            err(Some(field), problem)
        })?;
    // Building a client parses the credentials: a broken client key fails here, not later.
    kube::Client::try_from(config.clone())
        .map_err(|e| err(Some(user_field), format!("unusable credentials: {e}")))?;
    Ok(Loaded {
        config,
        file,
        context,
        server,
    })
}

fn read(target: &Target) -> Result<(String, Kubeconfig), Error> {
    let (file, result) = if let Some(path) = &target.kubeconfig {
        (path.display().to_string(), Kubeconfig::read_from(path))
    } else if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let file = format!("$KUBECONFIG ({})", list.to_string_lossy());
        let result = Kubeconfig::from_env().map(Option::unwrap_or_default);
        (file, result)
    } else {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let path = home.join(".kube").join("config");
        if !path.exists() {
            return Err(Error {
                file: path.display().to_string(),
                field: None,
                problem: "does not exist; pass --kubeconfig PATH or set KUBECONFIG \
                          (the embedded lab needs no cluster: `hatui lab`, `hatui status --lab`)"
                    .into(),
            });
        }
        (path.display().to_string(), Kubeconfig::read_from(&path))
    };
    let kc = result.map_err(|e| Error {
        file: file.clone(),
        field: None,
        problem: match e {
            KubeconfigError::ReadConfig(io, _) => format!("cannot read: {io}"),
            KubeconfigError::Parse(p) => format!("not valid kubeconfig YAML: {p}"),
            other => other.to_string(),
        },
    })?;
    Ok((file, kc))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn load_text(text: &str, context: Option<&str>) -> Result<Loaded, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        let target = Target {
            kubeconfig: Some(path),
            context: context.map(str::to_string),
        };
        load(&target).await
    }

    const GOOD: &str = r#"
apiVersion: v1
kind: Config
current-context: admin@kubernetes
clusters:
- name: kubernetes
  cluster:
    server: https://lb.example:6443
contexts:
- name: admin@kubernetes
  context: {cluster: kubernetes, user: kubernetes-admin}
users:
- name: kubernetes-admin
  user: {token: abc}
"#;

    #[tokio::test]
    async fn a_good_kubeconfig_loads_with_its_server() {
        let loaded = load_text(GOOD, None).await.unwrap();
        assert_eq!(loaded.server, "lb.example:6443");
        assert_eq!(loaded.context, "admin@kubernetes");
    }

    #[tokio::test]
    async fn errors_name_the_field() {
        let e = load_text(GOOD, Some("prod")).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("contexts"));
        assert!(e.problem.contains("\"prod\"") && e.problem.contains("admin@kubernetes"));

        let no_server = GOOD.replace(
            "server: https://lb.example:6443",
            "insecure-skip-tls-verify: false",
        );
        let e = load_text(&no_server, None).await.unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("clusters[\"kubernetes\"].cluster.server")
        );

        let no_current = GOOD.replace("current-context: admin@kubernetes", "");
        let e = load_text(&no_current, None).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("current-context"));

        let bad_user = GOOD.replace("user: kubernetes-admin}", "user: admin}");
        let e = load_text(&bad_user, None).await.unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("contexts[\"admin@kubernetes\"].context.user")
        );
    }

    #[tokio::test]
    async fn broken_yaml_names_the_file() {
        let e = load_text("clusters: [", None).await.unwrap_err();
        assert!(e.file.ends_with("/config"), "{e}");
        assert!(e.to_string().contains("not valid kubeconfig YAML"), "{e}");
    }
}
