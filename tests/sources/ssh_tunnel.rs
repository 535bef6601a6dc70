//! hatui's SSH path against a real OpenSSH server on loopback: commands, host key
//! checking, login, local tunnels, reconnecting after the server goes away, and a real
//! 3-member TLS etcd cluster reached through tunnels with its client certificates read
//! over SSH with `sudo -n cat`.

use hatui_testkit as support;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hatui_fleet::ssh::{AuthSources, SshError, SshHandle};
use hatui_model::{ClusterEvent, EtcdStatus};
use hatui_sources::etcd::{EtcdMaster, PkiPaths, etcd_over_ssh};
use hatui_sources::etcd::{poll_once, spawn_poller};
use support::etcd_cluster::EtcdCluster;
use support::sshd::{Agent, Sshd, keygen};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// One etcd cluster at a time: elections on 2 cores are slow enough already.
static ETCD: Mutex<()> = Mutex::new(());

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn block_on<F: Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Polls `check` until it gives a value; generous, since this checks what happens,
/// not how fast.
async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < end, "never saw {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn exec_returns_output_and_exit_code_with_ed25519_and_rsa_keys() {
    let sshd = Sshd::start();
    let mut rsa = sshd.target();
    rsa.identity_file = Some(sshd.rsa_key.clone());
    block_on(async {
        let ssh = SshHandle::connect(&sshd.target()).await.unwrap();
        let out = ssh.exec("echo hi").await.unwrap();
        assert_eq!((out.exit, out.stdout.as_slice()), (Some(0), &b"hi\n"[..]));
        let out = ssh.exec("echo oops >&2; exit 3").await.unwrap();
        assert_eq!((out.exit, out.stderr.as_slice()), (Some(3), &b"oops\n"[..]));
        assert!(out.stdout.is_empty());
        // Two commands at once on one session.
        let (a, b) = tokio::join!(ssh.exec("sleep 0.2; echo a"), ssh.exec("echo b"));
        assert_eq!(
            (a.unwrap().stdout, b.unwrap().stdout),
            (b"a\n".to_vec(), b"b\n".to_vec())
        );

        let ssh = SshHandle::connect(&rsa).await.expect("rsa login");
        assert_eq!(ssh.exec("id -u").await.unwrap().stdout, b"0\n");
    });
}

#[test]
fn unknown_host_key_is_refused_and_the_suggested_command_fixes_it() {
    let sshd = Sshd::start();
    let mut t = sshd.target();
    let empty = sshd.dir.join("empty_known_hosts");
    t.known_hosts = Some(empty.clone());
    let err = block_on(SshHandle::connect(&t)).unwrap_err();
    let SshError::UnknownHost { add_with, .. } = &err else {
        panic!("not an unknown-host error: {err}");
    };
    let want = format!(
        "ssh-keyscan -p {} 127.0.0.1 >> {}",
        sshd.port,
        empty.display()
    );
    assert_eq!(add_with, &want);
    let msg = err.to_string();
    assert!(
        msg.contains("host key not known") && msg.contains("ssh-ed25519 SHA256:"),
        "{msg}"
    );
    assert!(msg.contains(&want), "{msg}");
    assert!(!empty.exists(), "nothing may be added silently");

    // What the message says to run, as the operator would.
    let ran = std::process::Command::new("sh")
        .args(["-c", &want])
        .output()
        .unwrap();
    assert!(ran.status.success(), "{ran:?}");
    block_on(async {
        let ssh = SshHandle::connect(&t)
            .await
            .expect("known after ssh-keyscan");
        assert_eq!(ssh.exec("echo ok").await.unwrap().stdout, b"ok\n");
    });
}

#[test]
fn changed_host_key_is_refused_naming_the_file_and_line() {
    let sshd = Sshd::start();
    let other = keygen(&sshd.dir, "impostor_host", "ed25519");
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let file = sshd.dir.join("changed_known_hosts");
    let entry = format!("[127.0.0.1]:{} {other_pub}", sshd.port);
    std::fs::write(
        &file,
        format!(
            "# hosts\nunrelated ssh-ed25519 {}\n{entry}",
            "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        ),
    )
    .unwrap();
    let mut t = sshd.target();
    t.known_hosts = Some(file.clone());
    let err = block_on(SshHandle::connect(&t)).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, SshError::HostKeyChanged { line: 3, file: f, .. } if *f == file),
        "{err:?}"
    );
    assert!(msg.contains("HOST KEY CHANGED"), "{msg}");
    assert!(msg.contains(&format!("{}:3", file.display())), "{msg}");
}

#[test]
fn a_host_known_only_by_its_rsa_key_is_accepted_by_that_key() {
    let sshd = Sshd::start();
    let file = sshd.dir.join("rsa_known_hosts");
    std::fs::write(&file, &sshd.rsa_known_line).unwrap();
    let mut t = sshd.target();
    t.known_hosts = Some(file);
    block_on(async {
        let ssh = SshHandle::connect(&t)
            .await
            .expect("rsa host key asked for first");
        assert_eq!(ssh.exec("echo rsa").await.unwrap().stdout, b"rsa\n");
    });
}

#[test]
fn rejected_or_missing_keys_are_clear_auth_errors() {
    let sshd = Sshd::start();
    let mut t = sshd.target();
    t.identity_file = Some(sshd.stranger_key.clone());
    let msg = block_on(SshHandle::connect(&t)).unwrap_err().to_string();
    let stranger = sshd.stranger_key.display().to_string();
    assert!(msg.contains("authentication failed"), "{msg}");
    assert!(
        msg.contains(&format!("{stranger}: rejected by the server")),
        "{msg}"
    );

    // No identity file: the default keys, in order, the missing ones skipped.
    t.identity_file = None;
    let sources = AuthSources {
        agent_socket: None,
        default_keys: vec![sshd.dir.join("id_missing"), sshd.stranger_key.clone()],
    };
    let msg = block_on(SshHandle::connect_with(&t, &sources))
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with(&format!("tried: {stranger}: rejected by the server")),
        "{msg}"
    );
    let sources = AuthSources {
        default_keys: vec![sshd.stranger_key.clone(), sshd.ed25519_key.clone()],
        ..sources
    };
    block_on(SshHandle::connect_with(&t, &sources)).expect("second default key works");
}

#[test]
fn agent_keys_are_tried_in_turn_before_default_files() {
    let sshd = Sshd::start();
    // The agent holds a key the server refuses, then one it accepts.
    let agent = Agent::start(&sshd.dir, &[&sshd.stranger_key, &sshd.rsa_key]);
    let mut t = sshd.target();
    t.identity_file = None;
    let sources = AuthSources {
        agent_socket: Some(agent.socket.clone()),
        default_keys: vec![],
    };
    block_on(async {
        let ssh = SshHandle::connect_with(&t, &sources)
            .await
            .expect("agent login");
        assert_eq!(
            ssh.exec("echo via-agent").await.unwrap().stdout,
            b"via-agent\n"
        );
    });
    // An agent that is not there is reported, and the default files still tried.
    let gone = AuthSources {
        agent_socket: Some(sshd.dir.join("no-agent.sock")),
        default_keys: vec![sshd.stranger_key.clone()],
    };
    let msg = block_on(SshHandle::connect_with(&t, &gone))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no-agent.sock: cannot connect"), "{msg}");
    assert!(
        msg.contains("stranger_ed25519: rejected by the server"),
        "{msg}"
    );
}

#[test]
fn nothing_listening_is_a_connect_error_naming_the_target() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = hatui_fleet::ssh::SshTarget::new("root", "127.0.0.1", port);
    let err = block_on(SshHandle::connect(&t)).unwrap_err();
    assert!(matches!(err, SshError::Connect { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("ssh root@127.0.0.1:{port}: ")),
        "{msg}"
    );
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
}

/// A loopback echo server: what the tunnel reaches on the "remote" side.
async fn echo_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

#[test]
fn tunnel_pipes_both_ways_and_closes_with_the_handle() {
    let sshd = Sshd::start();
    block_on(async {
        let echo = echo_server().await;
        let ssh = SshHandle::connect(&sshd.target()).await.unwrap();
        let local = ssh.forward_local("127.0.0.1", echo).await.unwrap();
        assert!(local.ip().is_loopback() && local.port() != echo);
        // Two connections at once, each with its own bytes back, large enough to need
        // several SSH packets and window updates.
        let talk = |fill: u8| async move {
            let mut s = TcpStream::connect(local).await.unwrap();
            let sent = vec![fill; 300_000];
            let (mut r, mut w) = s.split();
            let mut got = Vec::new();
            let (wrote, read) = tokio::join!(
                async { w.write_all(&sent).await.and(w.shutdown().await) },
                async { r.read_to_end(&mut got).await }
            );
            wrote.unwrap();
            read.unwrap();
            assert!(got == sent, "{fill}: got {} bytes back", got.len());
        };
        tokio::join!(talk(b'a'), talk(b'b'));

        let open = TcpStream::connect(local).await.unwrap();
        drop(ssh);
        // The listener goes away with the session, and so do open connections.
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            let mut open = open;
            let mut buf = [0u8; 1];
            assert!(matches!(open.read(&mut buf).await, Ok(0) | Err(_)));
            while TcpStream::connect(local).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        closed
            .await
            .expect("tunnel still open after the handle was dropped");
    });
}

#[test]
fn etcd_through_tunnels_with_certificates_read_over_ssh() {
    let _one = ETCD.lock().unwrap_or_else(|e| e.into_inner());
    let sshd = Sshd::start();
    let cluster = EtcdCluster::start(3);
    // Three "masters": one sshd, each member's port where kubeadm would have 2379.
    let masters = masters_behind(&cluster, &[&sshd, &sshd, &sshd]);
    let pki = pki_of(&cluster);
    let leader = block_on(async {
        let via = etcd_over_ssh(&masters, &pki).await.unwrap();
        assert!(via.unreachable.is_empty(), "{:?}", via.unreachable);
        assert_eq!(via.sessions.len(), 3);
        let cfg = &via.config;
        assert_eq!(cfg.endpoints.len(), 3);
        for e in &cfg.endpoints {
            assert!(e.starts_with("https://127.0.0.1:"), "{e}");
            assert!(!cluster.endpoints().contains(e), "{e} is not a tunnel");
        }
        let tls = cfg.tls.as_ref().unwrap();
        assert_eq!(tls.ca_origin(), format!("127.0.0.1:{}", pki.ca));
        assert_eq!(
            tls.cert_origin(),
            Some(format!("127.0.0.1:{}", pki.cert).as_str())
        );
        assert!(!format!("{tls:?}").contains("PRIVATE KEY"));

        let (status, feed) = poll_once(cfg).await;
        assert!(feed.error.is_none(), "{feed:?}");
        let mut names: Vec<_> = status.members.iter().map(|m| m.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["m0", "m1", "m2"]);
        assert!(status.members.iter().all(|m| m.reachable), "{status:#?}");
        status.leader_member().expect("a leader").name.clone()
    });
    assert_eq!(Some(leader), cluster.leader_name_by_etcd());

    // A certificate that is not there: the error names the host and path.
    let missing = PkiPaths {
        key: "/nonexistent/healthcheck-client.key".into(),
        ..pki.clone()
    };
    let err = block_on(etcd_over_ssh(&masters[..1], &missing)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("sudo -n cat -- '/nonexistent/healthcheck-client.key'"),
        "{msg}"
    );
    assert!(msg.contains("No such file"), "{msg}");
}

/// `bytes` sent through the tunnel at `local` and what came back; `None` when the
/// tunnel closed the connection without an answer. The listener itself must be there.
async fn echo_through(local: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(local)
        .await
        .expect("the tunnel listener is gone");
    let talk = async {
        s.write_all(bytes).await.ok()?;
        s.shutdown().await.ok()?;
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.ok()?;
        Some(got)
    };
    let got = tokio::time::timeout(Duration::from_secs(15), talk)
        .await
        .expect("the tunnel hung")?;
    (!got.is_empty()).then_some(got)
}

#[test]
fn a_lost_session_logs_in_again_behind_the_same_tunnel_address() {
    let mut sshd = Sshd::start();
    let rt = runtime();
    let (ssh, local) = rt.block_on(async {
        let echo = echo_server().await;
        let ssh = SshHandle::connect(&sshd.target()).await.unwrap();
        let local = ssh.forward_local("127.0.0.1", echo).await.unwrap();
        assert_eq!(echo_through(local, b"before").await.unwrap(), b"before");
        (ssh, local)
    });

    // The master goes down: tunnel connections are closed, commands fail, nothing hangs.
    sshd.stop();
    rt.block_on(async {
        eventually("the tunnel closing connections", || async {
            echo_through(local, b"down").await.is_none().then_some(())
        })
        .await;
        let err = ssh.exec("true").await.unwrap_err();
        assert!(matches!(err, SshError::Connect { .. }), "{err:?}");
    });

    // Back on the same port with the same host key: the same tunnel address and the
    // same handle work again.
    sshd.restart();
    rt.block_on(async {
        let got = eventually("the tunnel answering again", || async {
            echo_through(local, b"after").await
        })
        .await;
        assert_eq!(got, b"after");
        assert_eq!(ssh.exec("echo back").await.unwrap().stdout, b"back\n");
    });
}

#[test]
fn a_changed_host_key_is_refused_on_reconnect() {
    let mut sshd = Sshd::start();
    let known = std::fs::read_to_string(&sshd.known_hosts).unwrap();
    let rt = runtime();
    let (ssh, local) = rt.block_on(async {
        let echo = echo_server().await;
        let ssh = SshHandle::connect(&sshd.target()).await.unwrap();
        let local = ssh.forward_local("127.0.0.1", echo).await.unwrap();
        (ssh, local)
    });
    // Reinstalled: same address, new host keys.
    sshd.stop();
    sshd.replace_host_keys();
    sshd.restart();
    let err = rt.block_on(async {
        eventually("the changed key refused", || async {
            match ssh.exec("echo in").await {
                Ok(out) => panic!("ran on a host with a changed key: {out:?}"),
                Err(e @ SshError::HostKeyChanged { .. }) => Some(e),
                Err(_) => None,
            }
        })
        .await
    });
    let msg = err.to_string();
    assert!(msg.contains("HOST KEY CHANGED"), "{msg}");
    assert!(
        msg.contains(&format!("{}:1", sshd.known_hosts.display())),
        "{msg}"
    );
    rt.block_on(async {
        assert_eq!(
            echo_through(local, b"x").await,
            None,
            "tunnel to an impostor"
        );
    });
    assert_eq!(
        std::fs::read_to_string(&sshd.known_hosts).unwrap(),
        known,
        "known_hosts must not change by itself"
    );
}

/// The poller's views, as the cockpit gets them.
struct Views(mpsc::Receiver<Vec<ClusterEvent>>);

impl Views {
    /// The first view that satisfies `want`.
    async fn until(&mut self, what: &str, want: impl Fn(&EtcdStatus) -> bool) -> EtcdStatus {
        let mut last = None;
        let wait = async {
            while let Some(msg) = self.0.recv().await {
                let events = msg;
                for e in events {
                    if let ClusterEvent::Etcd(s) = e {
                        if want(&s) {
                            return s;
                        }
                        last = Some(s);
                    }
                }
            }
            panic!("poller stopped");
        };
        match tokio::time::timeout(Duration::from_secs(30), wait).await {
            Ok(s) => s,
            Err(_) => panic!("never saw {what}; last view: {last:#?}"),
        }
    }
}

/// Names of the listed members that answer, sorted; empty until the list is known.
fn answering(s: &EtcdStatus) -> Vec<&str> {
    if s.members.iter().any(|m| m.name.starts_with("https://")) {
        return vec![];
    }
    let mut names: Vec<_> = s
        .members
        .iter()
        .filter(|m| m.reachable)
        .map(|m| m.name.as_str())
        .collect();
    names.sort();
    names
}

#[test]
fn etcd_members_come_back_through_the_same_tunnels() {
    let _one = ETCD.lock().unwrap_or_else(|e| e.into_inner());
    // Masters m0 and m1 behind sshd `a`; m2 behind `b`, which is down at the start.
    let mut a = Sshd::start();
    let mut b = Sshd::start();
    b.stop();
    let cluster = EtcdCluster::start(3);
    let masters = masters_behind(&cluster, &[&a, &a, &b]);
    let pki = pki_of(&cluster);
    let rt = runtime();
    let (via, mut views, _poller) = rt.block_on(async {
        let via = etcd_over_ssh(&masters, &pki).await.unwrap();
        assert_eq!(via.unreachable.len(), 1, "{:?}", via.unreachable);
        assert!(matches!(via.unreachable[0], SshError::Connect { .. }));
        // The unreachable master has its tunnel too.
        assert_eq!(via.config.endpoints.len(), 3);
        let (tx, rx) = mpsc::channel(16);
        let poller = spawn_poller(via.config.clone(), tx);
        let mut views = Views(rx);
        let s = views
            .until("m0 and m1 answering, m2 not", |s| {
                answering(s) == ["m0", "m1"]
            })
            .await;
        // m2 shows its own tunnel's error, not "not polled": the tunnel stands for it.
        let m2 = s.members.iter().find(|m| m.name == "m2").unwrap();
        assert_eq!(
            m2.endpoint.as_ref(),
            Some(&via.config.endpoints[2]),
            "{m2:?}"
        );
        (via, views, poller)
    });

    // The master that was down at the start comes up: seen through its tunnel.
    b.restart();
    rt.block_on(views.until("all three answering", |s| {
        answering(s) == ["m0", "m1", "m2"]
    }));

    // m0's and m1's master goes down: their members show an error...
    a.stop();
    rt.block_on(views.until("m0 and m1 failing", |s| {
        let failing = |name: &str| {
            s.members
                .iter()
                .any(|m| m.name == name && !m.reachable && m.error.is_some())
        };
        answering(s) == ["m2"] && failing("m0") && failing("m1")
    }));

    // ...and answer again through the same endpoints once it is back.
    a.restart();
    rt.block_on(views.until("all three answering again", |s| {
        answering(s) == ["m0", "m1", "m2"]
    }));
    drop(via);
}

/// Member `i` behind `sshds[i]`, its port where kubeadm would have 2379.
fn masters_behind(cluster: &EtcdCluster, sshds: &[&Sshd]) -> Vec<EtcdMaster> {
    cluster
        .members
        .iter()
        .zip(sshds)
        .map(|(m, sshd)| EtcdMaster {
            ssh: sshd.target(),
            etcd_port: m.client_url.rsplit(':').next().unwrap().parse().unwrap(),
        })
        .collect()
}

/// The test cluster's client certificates, where `sudo -n cat` reads them.
fn pki_of(cluster: &EtcdCluster) -> PkiPaths {
    let c = &cluster.certs;
    let s = |p: &std::path::Path| p.display().to_string();
    PkiPaths {
        ca: s(&c.ca),
        cert: s(&c.client_cert),
        key: s(&c.client_key),
    }
}
