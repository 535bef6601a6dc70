//! A real etcd cluster on loopback for tests: TLS for clients and peers with
//! certificates made here by `openssl`, free ports, temp data dirs, and every process
//! SIGKILLed on drop (also when a test panics). `etcd_exec` puts its members behind
//! kubeadm's etcd pods. Standalone (no other support module): the benchmarks include it.

#![allow(dead_code)] // each test binary uses a different part

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hatui_sources::etcd::{PollerConfig, TlsMaterial, poll_once};

/// etcd as `hatui lab --real-etcd` finds it (on `$PATH`): the one check of the tree,
/// so the tests and the program agree on whether etcd is installed.
pub fn etcd_bin() -> PathBuf {
    hatui_sources::real_etcd::find_etcd().unwrap_or_else(|_| {
        panic!("tests need etcd: apt-get install -y etcd-server (tests/run.sh installs it)")
    })
}

/// Debian's `etcd-client`: v3.4, where kubeadm's etcd image has v3.5 or v3.6.
pub fn etcdctl_bin() -> PathBuf {
    hatui_sources::real_etcd::executable_on_path("etcdctl").unwrap_or_else(|| {
        panic!("tests need etcdctl: apt-get install -y etcd-client (tests/run.sh installs it)")
    })
}

pub struct Member {
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
    pub log: PathBuf,
    child: Option<Child>,
}

pub struct Certs {
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed nothing the cluster uses.
    pub other_ca: PathBuf,
}

pub struct EtcdCluster {
    pub dir: PathBuf,
    pub certs: Certs,
    pub members: Vec<Member>,
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// `n` free loopback ports below Linux's ephemeral range (32768+): there, etcd's own
/// outgoing peer connections could take a port between our check and etcd's bind.
/// All are held until chosen so none is handed out twice.
/// Each call goes on where the last stopped: a port is released before etcd binds it, so
/// clusters started at once by parallel tests must not be offered the same ones.
pub fn free_ports(n: usize) -> Vec<u16> {
    static CURSOR: AtomicUsize = AtomicUsize::new(usize::MAX);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    let first = (nanos + std::process::id() as usize * 7919) % 20_000;
    let _ = CURSOR.compare_exchange(usize::MAX, first, Ordering::SeqCst, Ordering::SeqCst);
    let mut held = Vec::new();
    while held.len() < n {
        let candidate = 10_000 + CURSOR.fetch_add(1, Ordering::SeqCst) % 20_000;
        if let Ok(l) = TcpListener::bind(("127.0.0.1", candidate as u16)) {
            held.push(l);
        }
    }
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_key(dir: &Path, key: &str) {
    let args = [
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        key,
    ];
    openssl(dir, &args);
}

fn make_ca(dir: &Path, name: &str) {
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    make_key(dir, &key);
    let subj = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-new", "-key", &key, "-subj", &subj, "-days", "2", "-out", &crt,
        ],
    );
}

/// The test API server's masters are 127.0.0.11-13: members can live there too.
const SANS: &str = "IP:127.0.0.1,IP:127.0.0.11,IP:127.0.0.12,IP:127.0.0.13,DNS:localhost";

/// A leaf signed by `ca.crt`; SANs count for TLS, not the CN.
fn make_leaf(dir: &Path, name: &str, usage: &str) {
    let (key, csr, crt, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
        format!("{name}.ext"),
    );
    std::fs::write(
        dir.join(&ext),
        format!("subjectAltName={SANS}\nextendedKeyUsage={usage}\n"),
    )
    .unwrap();
    make_key(dir, &key);
    let subj = format!("/CN={name}");
    openssl(
        dir,
        &["req", "-new", "-key", &key, "-subj", &subj, "-out", &csr],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &crt,
        ],
    );
}

impl EtcdCluster {
    /// Starts `n` members on 127.0.0.1 and waits until they have a leader.
    pub fn start(n: usize) -> Self {
        let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        let members: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "127.0.0.1")).collect();
        Self::start_on(&members)
    }

    /// `(name, loopback host)` per member, like kubeadm's one etcd per master named after it.
    pub fn start_on(members: &[(&str, &str)]) -> Self {
        Self::start_with(members, None)
    }

    /// Like [`Self::start_on`], every member's client port the same, as kubeadm's 2379 is
    /// (the hosts must differ).
    pub fn start_on_one_port(members: &[(&str, &str)]) -> Self {
        Self::start_with(members, Some(free_ports(1)[0]))
    }

    fn start_with(members: &[(&str, &str)], client_port: Option<u16>) -> Self {
        etcd_bin(); // fails first, saying what to install
        let n = members.len();
        let dir = std::env::temp_dir().join(format!(
            "hatui-etcd-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        make_ca(&dir, "ca");
        make_ca(&dir, "other-ca");
        make_leaf(&dir, "server", "serverAuth,clientAuth");
        make_leaf(&dir, "client", "clientAuth");
        let certs = Certs {
            ca: dir.join("ca.crt"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
            other_ca: dir.join("other-ca.crt"),
        };
        let ports = free_ports(2 * n);
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: members[i].0.to_string(),
                client_url: format!(
                    "https://{}:{}",
                    members[i].1,
                    client_port.unwrap_or(ports[2 * i])
                ),
                peer_url: format!("https://{}:{}", members[i].1, ports[2 * i + 1]),
                log: dir.join(format!("m{i}.log")),
                child: None,
            })
            .collect();
        let mut cluster = Self {
            dir,
            certs,
            members,
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster.wait_for_leader(Duration::from_secs(30));
        cluster.wait_all_answer(Duration::from_secs(30));
        cluster
    }

    pub fn wait_all_answer(&self, within: Duration) {
        let end = Instant::now() + within;
        while !self.poll_once().members.iter().all(|m| m.reachable) {
            assert!(
                Instant::now() < end,
                "not every etcd member answers: see {:?}",
                self.dir
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn spawn(&mut self, i: usize) {
        let initial: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect();
        let d = |f: &str| self.dir.join(f).display().to_string();
        let m = &self.members[i];
        let args = [
            ("name", m.name.clone()),
            ("data-dir", d(&format!("{}.etcd", m.name))),
            ("listen-client-urls", m.client_url.clone()),
            ("advertise-client-urls", m.client_url.clone()),
            ("listen-peer-urls", m.peer_url.clone()),
            ("initial-advertise-peer-urls", m.peer_url.clone()),
            ("initial-cluster", initial.join(",")),
            ("initial-cluster-state", "new".into()),
            ("initial-cluster-token", "hatui-test".into()),
            ("cert-file", d("server.crt")),
            ("key-file", d("server.key")),
            ("trusted-ca-file", d("ca.crt")),
            ("client-cert-auth", "true".into()),
            ("peer-cert-file", d("server.crt")),
            ("peer-key-file", d("server.key")),
            ("peer-trusted-ca-file", d("ca.crt")),
            ("peer-client-cert-auth", "true".into()),
            ("logger", "zap".into()),
            ("log-outputs", m.log.display().to_string()),
        ];
        let mut etcd = Command::new(etcd_bin());
        etcd.args(args.iter().map(|(k, v)| format!("--{k}={v}")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = super::reaper::spawn_tied(etcd).expect("start etcd");
        self.members[i].child = Some(child);
    }

    /// What kubeadm leaves in /etc/kubernetes/pki/etcd on a master, copied into `dir`: the
    /// CA and the healthcheck client's certificate and key, under kubeadm's names.
    pub fn write_kubeadm_pki(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let c = &self.certs;
        for (from, to) in [
            (&c.ca, "ca.crt"),
            (&c.client_cert, "healthcheck-client.crt"),
            (&c.client_key, "healthcheck-client.key"),
        ] {
            std::fs::copy(from, dir.join(to)).unwrap();
        }
    }

    /// Member `i`'s client port, as text.
    pub fn client_port(&self, i: usize) -> String {
        let url = &self.members[i].client_url;
        url.rsplit(':').next().unwrap().to_string()
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    pub fn tls(&self) -> TlsMaterial {
        let c = &self.certs;
        TlsMaterial::from_files(&c.ca, Some(&c.client_cert), Some(&c.client_key)).unwrap()
    }

    pub fn config(&self) -> PollerConfig {
        PollerConfig::new(self.endpoints(), Some(self.tls()))
    }

    /// SIGKILL, like a power loss: no leadership transfer.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The process id of member `i`, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].child.as_ref().map(Child::id)
    }

    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
    }

    pub fn index_of_url(&self, url: &str) -> usize {
        self.members
            .iter()
            .position(|m| m.client_url == url)
            .expect("known url")
    }

    /// The leader's name as etcd says it, asked directly with the raw client (not
    /// hatui's code), from any live member that knows a leader.
    pub fn leader_name_by_etcd(&self) -> Option<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for m in self.members.iter().filter(|m| m.child.is_some()) {
                let opts = etcd_client::ConnectOptions::new()
                    .with_timeout(Duration::from_secs(1))
                    .with_connect_timeout(Duration::from_secs(1))
                    .with_tls(self.raw_tls());
                let Ok(mut c) = etcd_client::Client::connect([&m.client_url], Some(opts)).await
                else {
                    continue;
                };
                let (Ok(s), Ok(list)) = (c.status().await, c.member_list().await) else {
                    continue;
                };
                if s.leader() != 0 {
                    let leader = list.members().iter().find(|x| x.id() == s.leader())?;
                    return Some(leader.name().to_string());
                }
            }
            None
        })
    }

    fn raw_tls(&self) -> etcd_client::TlsOptions {
        let read = |p: &Path| std::fs::read(p).unwrap();
        let c = &self.certs;
        etcd_client::TlsOptions::new()
            .ca_certificate(etcd_client::Certificate::from_pem(read(&c.ca)))
            .identity(etcd_client::Identity::from_pem(
                read(&c.client_cert),
                read(&c.client_key),
            ))
    }

    pub fn wait_for_leader(&self, within: Duration) -> String {
        let end = Instant::now() + within;
        loop {
            if let Some(l) = self.leader_name_by_etcd() {
                return l;
            }
            assert!(
                Instant::now() < end,
                "etcd elected no leader within {within:?}: see {:?}",
                self.dir
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One poll through hatui's own code.
    pub fn poll_once(&self) -> hatui_model::EtcdStatus {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(poll_once(&self.config())).0
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            eprintln!("etcd logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
