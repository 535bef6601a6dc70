//! A kubeadm cluster as the tests' own API server serves it (the endpoint and three
//! masters with every fixture object), a kubeconfig with two contexts, and hatui's real live
//! sources (kube-rs client, watchers, probe) pointed at it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hatui_sources::live::{self, Clock, Sources, Target};
use serde_json::{Value, json};

use crate::apiserver::{ApiServer, Exec, ExecOutput};
use crate::{MASTERS, fixture, fixture_now, tls};

pub const TOKEN: &str = "viewer-token-7d1e0c";
pub const ADMIN: &str = "kubernetes-admin@kubernetes";
pub const VIEWER: &str = "viewer@kubernetes";

/// The fixtures' moment, standing still: every countdown and age is exact.
pub fn fixed_clock() -> Clock {
    Arc::new(fixture_now)
}

pub struct Cluster {
    /// The control-plane endpoint (the load balancer): the kubeconfig's server.
    pub server: ApiServer,
    /// Each master's own apiserver, serving the same objects (they share etcd).
    pub masters: Vec<ApiServer>,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// The endpoint and three masters with every fixture object loaded, and a kubeconfig
    /// with two contexts: the admin's client certificate (current) and a viewer's token.
    pub async fn start() -> Self {
        let pki = tls::pki();
        let days = tls::SERVING_DAYS;
        let server = ApiServer::start("127.0.0.1", pki.server_config(days), TOKEN).await;
        let mut masters = Vec::new();
        // One day apart, so each master's certificate is told from the others.
        for (i, (_, ip)) in (1..).zip(MASTERS) {
            let tls = pki.server_config(days + i);
            masters.push(ApiServer::start(ip, tls, TOKEN).await);
        }
        let mut cluster = Self {
            server,
            masters,
            kubeconfig: PathBuf::new(),
            _dir: tempfile::tempdir().unwrap(),
        };
        for (file, collection) in [
            ("nodes.json", "nodes"),
            ("pods.json", "pods"),
            ("leases.json", "leases"),
            ("secrets.json", "secrets"),
            ("configmaps.json", "configmaps"),
        ] {
            for mut obj in fixture(file) {
                // Each master's apiserver is where kubeadm's annotation says, on this port.
                let key = "/metadata/annotations/kubeadm.kubernetes.io~1kube-apiserver.advertise-address.endpoint";
                if let Some(ann) = obj.pointer_mut(key) {
                    let ip = ann.as_str().unwrap().strip_suffix(":6443").unwrap();
                    let i = MASTERS.iter().position(|(_, m)| *m == ip).unwrap();
                    *ann = json!(cluster.masters[i].addr.to_string());
                }
                cluster.apply(collection, obj);
            }
        }
        cluster.write_kubeconfig(&pki);
        cluster
    }

    fn all(&self) -> impl Iterator<Item = &ApiServer> {
        std::iter::once(&self.server).chain(&self.masters)
    }

    /// A change in etcd: every apiserver serves it.
    pub fn apply(&self, collection: &str, obj: Value) {
        self.all().for_each(|s| s.apply(collection, obj.clone()));
    }

    pub fn delete(&self, collection: &str, name: &str) {
        self.all().for_each(|s| s.delete(collection, name));
    }

    pub fn get(&self, collection: &str, name: &str) -> Value {
        self.server.get(collection, name)
    }

    /// RBAC is the same on every apiserver.
    pub fn forbid(&self, plural: &str) {
        self.all().for_each(|s| s.forbid(plural));
    }

    /// What `pods/exec` runs, whichever apiserver proxies it.
    pub fn on_exec<F, Fut>(&self, f: F)
    where
        F: Fn(Exec) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ExecOutput> + Send + 'static,
    {
        let f = Arc::new(f);
        for s in self.all() {
            let f = f.clone();
            s.on_exec(move |exec| f(exec));
        }
    }

    /// A plain kube-rs client for `context`, not hatui's: to test the server itself.
    pub async fn client(&self, context: &str) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).unwrap();
        let options = kube::config::KubeConfigOptions {
            context: Some(context.into()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    /// The endpoint and every master gone: nothing answers.
    pub fn stop_all(&self) {
        self.all().for_each(ApiServer::stop);
    }

    pub async fn restart_all(&self) {
        for s in self.all() {
            s.restart().await;
        }
    }

    /// Replaces the random ports in a screen with the real ones' look.
    pub fn pin_addresses(&self, screen: String) -> String {
        let mut screen = screen.replace(&self.server.addr.to_string(), "127.0.0.1:6443");
        for (s, (_, ip)) in self.masters.iter().zip(MASTERS) {
            screen = screen.replace(&s.addr.to_string(), &format!("{ip}:6443"));
        }
        screen
    }

    fn write_kubeconfig(&mut self, pki: &tls::Pki) {
        let dir = self._dir.path().to_path_buf();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let ca = write("ca.crt", &pki.ca_pem);
        let cert = write("admin.crt", &pki.client_cert_pem);
        let key = write("admin.key", &pki.client_key_pem);
        // JSON is YAML: kubectl and kube-rs read this as they read kubeadm's admin.conf.
        let kubeconfig = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": ADMIN,
            "clusters": [{"name": "kubernetes", "cluster": {"server": self.server.url(), "certificate-authority": ca}}],
            "contexts": [
                {"name": ADMIN, "context": {"cluster": "kubernetes", "user": "kubernetes-admin"}},
                {"name": VIEWER, "context": {"cluster": "kubernetes", "user": "viewer"}},
            ],
            "users": [
                {"name": "kubernetes-admin", "user": {"client-certificate": cert, "client-key": key}},
                {"name": "viewer", "user": {"token": TOKEN}},
            ],
        });
        self.kubeconfig = PathBuf::from(write("config", &kubeconfig.to_string()));
    }

    pub fn target(&self, context: &str) -> Target {
        Target {
            kubeconfig: Some(self.kubeconfig.clone()),
            context: Some(context.into()),
        }
    }

    /// hatui's live sources for `context`, on the fixtures' clock, probing often.
    pub async fn sources(&self, context: &str) -> Sources {
        let mut s = live::connect(&self.target(context), fixed_clock())
            .await
            .unwrap();
        s.probe_every = Duration::from_millis(200);
        s.probe_timeout = Duration::from_secs(1);
        s
    }
}
