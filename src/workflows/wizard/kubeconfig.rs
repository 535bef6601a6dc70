//! kubeadm's admin.conf on the bastion: `~/.kube/hatui-<cluster>.conf`, mode 0600 in a
//! 0700 `~/.kube`, its clusters' `server` set to the control-plane endpoint (a kubeconfig
//! read and written as data, not edited as text). It holds the cluster-admin client key:
//! nothing here ever puts its content in an error or on screen.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

/// Where the kubeconfig of `cluster` goes: `$HOME/.kube/hatui-<cluster>.conf`.
pub fn bastion_path(cluster: &str) -> Result<PathBuf, String> {
    let home = std::env::home_dir()
        .filter(|h| !h.as_os_str().is_empty())
        .ok_or("HOME is not set: there is no ~/.kube to write admin.conf to")?;
    Ok(bastion_path_in(&home, cluster))
}

/// `<home>/.kube/hatui-<cluster>.conf`.
pub fn bastion_path_in(home: &Path, cluster: &str) -> PathBuf {
    home.join(".kube").join(format!("hatui-{cluster}.conf"))
}

/// `admin` (a kubeconfig's YAML) with every cluster's server set to `server`.
pub fn with_server(admin: &str, server: &str) -> Result<String, String> {
    // The parser's message may quote the text, and the text holds a key: say only where.
    let mut config = Kubeconfig::from_yaml(admin)
        .map_err(|_| "it is not a kubeconfig (its YAML does not parse as one)".to_string())?;
    if config.clusters.is_empty() {
        return Err("it names no cluster".into());
    }
    for named in &mut config.clusters {
        named.cluster.get_or_insert_with(Default::default).server = Some(server.to_string());
    }
    serde_saphyr::to_string(&config).map_err(|_| "it cannot be written back as YAML".to_string())
}

/// Writes `text` to `path` with mode 0600 (through a temporary file renamed over it, so a
/// reader never sees half of it), creating its directory with mode 0700.
pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let say = |e: std::io::Error| format!("{}: {e}", path.display());
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("conf.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(say)?;
    f.write_all(text.as_bytes()).map_err(say)?;
    f.sync_all().map_err(say)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(say)?;
    std::fs::rename(&tmp, path).map_err(say)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kubeadm's admin.conf, shortened: one cluster, one context, one user with a key.
    const ADMIN: &str = "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://10.0.0.11:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVElGSUNBVEU=
    client-key-data: UFJJVkFURSBLRVk=
";

    #[test]
    fn the_server_becomes_the_endpoint_and_the_rest_is_kept() {
        let out = with_server(ADMIN, "https://k8s-api.example.internal:6443").unwrap();
        let back = Kubeconfig::from_yaml(&out).unwrap();
        let cluster = back.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(
            cluster.server.as_deref(),
            Some("https://k8s-api.example.internal:6443")
        );
        assert_eq!(
            cluster.certificate_authority_data.as_deref(),
            Some("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==")
        );
        assert_eq!(
            back.current_context.as_deref(),
            Some("kubernetes-admin@kubernetes")
        );
        let json = serde_json::to_value(&back).unwrap();
        assert_eq!(
            json["users"][0]["user"]["client-key-data"],
            "UFJJVkFURSBLRVk="
        );
        assert!(!out.contains("10.0.0.11"), "{out}");
    }

    #[test]
    fn what_is_not_a_kubeconfig_is_refused_without_quoting_it() {
        let bad = "client-key-data: UFJJVkFURSBLRVk=\n  - : [";
        let e = with_server(bad, "https://x:6443").unwrap_err();
        assert!(!e.contains("UFJJVkFURSBLRVk"), "{e}");
        assert_eq!(
            with_server("apiVersion: v1\nkind: Config\n", "https://x:6443").unwrap_err(),
            "it names no cluster"
        );
    }

    #[test]
    fn the_file_is_0600_in_a_new_0700_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home/.kube/hatui-t.conf");
        write_private(&path, "x").unwrap();
        write_private(&path, "y").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "y");
    }
}
