//! The live drill (`hatui drill --inventory FILE`, the real binary) against real parts: the
//! tests' API server (the endpoint and the three masters' own apiservers on 127.0.0.11-13),
//! a real 3-member TLS etcd whose members are the masters' (cp-1..3 on the same addresses),
//! and an sshd on each master's address. What cannot run here are test doubles on each
//! host's PATH that do to etcd what containerd and the kubelet would: `crictl stop` sends
//! the member SIGTERM (etcd hands its leadership over); after `systemctl restart kubelet`
//! the test starts the member again, as the kubelet would. The test also renews the two
//! leader Leases, as their holders do.

use crate::support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::etcd_cluster::EtcdCluster;
use support::sshd::{Sshd, fleet, need_sshd};
use support::tmux::Tmux;
use support::{Cluster, MASTERS};

const CONTAINER: &str = "4f1c2a9b7e3d";

fn double(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

struct World {
    cluster: Cluster,
    etcd: Arc<Mutex<EtcdCluster>>,
    _sshds: Vec<Sshd>,
    dir: tempfile::TempDir,
    inventory: PathBuf,
    stop: Arc<AtomicBool>,
    kubelet: Option<std::thread::JoinHandle<()>>,
}

impl World {
    fn host_dir(&self, node: &str) -> PathBuf {
        self.dir.path().join(node)
    }

    /// The dead man's switch's pid file for `node`: in this world's own state directory
    /// (the inventory's `drill_state_dir`), so worlds run side by side.
    fn pid_file(&self, node: &str) -> PathBuf {
        self.dir
            .path()
            .join("run")
            .join(format!("hatui-drill-{node}.pid"))
    }

    /// What `node` received, one command per line, as its doubles recorded it.
    fn calls(&self, node: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.host_dir(node).join("calls")).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    fn args(&self, extra: &[&str]) -> Vec<String> {
        let etcd = self.etcd.lock().unwrap();
        let mut a: Vec<String> = [
            "drill",
            "--inventory",
            &self.inventory.display().to_string(),
            "--kubeconfig",
            &self.cluster.kubeconfig.display().to_string(),
            "--etcd-endpoints",
            &etcd.endpoints().join(","),
            "--etcd-cacert",
            &etcd.certs.ca.display().to_string(),
            "--etcd-cert",
            &etcd.certs.client_cert.display().to_string(),
            "--etcd-key",
            &etcd.certs.client_key.display().to_string(),
            "--report-dir",
            &self.dir.path().join("reports").display().to_string(),
        ]
        .map(String::from)
        .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    /// The cockpit on this cluster with its inventory, in a shell line for tmux (reports in
    /// the world's directory), then a marker with its exit code.
    fn cockpit_line(&self) -> String {
        let etcd = self.etcd.lock().unwrap();
        format!(
            "cd {dir} && env -u KUBECONFIG -u RUST_BACKTRACE XDG_STATE_HOME={dir}/state {bin} \
             --inventory {inv} --kubeconfig {kc} --etcd-endpoints {eps} --etcd-cacert {ca} \
             --etcd-cert {cert} --etcd-key {key}; echo HATUI-EXITED $?; sleep 60",
            dir = self.dir.path().display(),
            bin = env!("CARGO_BIN_EXE_hatui"),
            inv = self.inventory.display(),
            kc = self.cluster.kubeconfig.display(),
            eps = etcd.endpoints().join(","),
            ca = etcd.certs.ca.display(),
            cert = etcd.certs.client_cert.display(),
            key = etcd.certs.client_key.display(),
        )
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hatui"));
        c.args(self.args(extra))
            .env_remove("KUBECONFIG")
            .env_remove("RUST_BACKTRACE")
            .env("XDG_STATE_HOME", self.dir.path().join("state"));
        c
    }
}

impl Drop for World {
    /// The kubelet's thread holds the etcd cluster too: it is stopped and joined, so the
    /// cluster goes with the world, not with a thread the process may never wait for.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(kubelet) = self.kubelet.take() {
            let _ = kubelet.join();
        }
        let mut etcd = self.etcd.lock().unwrap_or_else(|p| p.into_inner());
        for i in 0..MASTERS.len() {
            etcd.kill(i);
        }
    }
}

/// The masters, their etcd, their sshds and doubles, the inventory; and the helpers that
/// play the kubelet (etcd back after `systemctl restart kubelet`) and the lease holders.
async fn world() -> World {
    need_sshd();
    let etcd = tokio::task::spawn_blocking(|| {
        let etcd = EtcdCluster::start_on(&MASTERS);
        etcd.wait_all_answer(Duration::from_secs(20));
        etcd
    });
    let etcd = Arc::new(Mutex::new(etcd.await.unwrap()));
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut hosts = Vec::new();
    for (i, (node, addr)) in MASTERS.iter().enumerate() {
        let bin = dir.path().join(node);
        std::fs::create_dir_all(&bin).unwrap();
        let pid = etcd.lock().unwrap().pid(i).unwrap();
        std::fs::write(bin.join("etcd.pid"), pid.to_string()).unwrap();
        let calls = bin.join("calls");
        let here = bin.display();
        double(
            &bin,
            "crictl",
            &format!(
                "echo \"crictl $*\" >> {calls}\ncase \"$1\" in\n  ps) echo {CONTAINER} ;;\n  \
                 stop) kill -TERM \"$(cat {here}/etcd.pid)\"; echo {CONTAINER} ;;\nesac",
                calls = calls.display()
            ),
        );
        double(
            &bin,
            "systemctl",
            &format!("echo \"systemctl $*\" >> {}", calls.display()),
        );
        hosts.push((*node, *addr, "control-plane", bin));
    }
    let hosts: Vec<(&str, &str, &str, &Path)> = hosts
        .iter()
        .map(|(n, a, r, b)| (*n, *a, *r, b.as_path()))
        .collect();
    let fleet = fleet(dir.path(), &hosts);
    let inventory = dir.path().join("hatui.toml");
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(
        &inventory,
        format!(
            "name = \"drill\"\nendpoint = \"{}\"\nload_balancer = \"nlb\"\n\
             drill_state_dir = \"{}\"\n\
             pod_cidr = \"192.168.0.0/16\"\nservice_cidr = \"10.96.0.0/12\"\n\
             [ssh]\nuser = \"root\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\nsudo = false\n{}",
            cluster.server.addr,
            run.display(),
            fleet.key.display(),
            fleet.known_hosts.display(),
            fleet.hosts_toml
        ),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut world = World {
        cluster,
        etcd,
        _sshds: fleet.sshds,
        dir,
        inventory,
        stop,
        kubelet: None,
    };
    world.kubelet = Some(play_the_kubelet(&world));
    renew_leases(&world);
    play_the_scheduler(&world);
    world
}

/// After `systemctl restart kubelet` on a master, its etcd member runs again.
fn play_the_kubelet(w: &World) -> std::thread::JoinHandle<()> {
    let (etcd, stop) = (w.etcd.clone(), w.stop.clone());
    let dirs: Vec<PathBuf> = MASTERS.iter().map(|(n, _)| w.host_dir(n)).collect();
    std::thread::spawn(move || {
        let mut seen = vec![0; dirs.len()];
        while !stop.load(Ordering::SeqCst) {
            for (i, d) in dirs.iter().enumerate() {
                let calls = std::fs::read_to_string(d.join("calls")).unwrap_or_default();
                let restarts = calls.matches("systemctl restart kubelet").count();
                if restarts > seen[i] {
                    seen[i] = restarts;
                    let mut etcd = etcd.lock().unwrap();
                    etcd.restart(i);
                    let pid = etcd.pid(i).unwrap();
                    std::fs::write(d.join("etcd.pid"), pid.to_string()).unwrap();
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

/// The scheduler and controller-manager holders renew their Leases every 2 s.
fn renew_leases(w: &World) {
    let stop = w.stop.clone();
    let servers: Vec<_> = std::iter::once(&w.cluster.server)
        .chain(&w.cluster.masters)
        .cloned()
        .collect();
    tokio::spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            let now = jiff::Timestamp::now().to_string();
            for s in &servers {
                for name in ["kube-scheduler", "kube-controller-manager"] {
                    let mut lease = s.get("leases", name);
                    lease["spec"]["renewTime"] = json!(now);
                    s.apply("leases", lease);
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// The scheduler binds each new pod in `default` to worker-1, a few hundred ms after it
/// appears (its lease is held throughout: the drills here never move it).
fn play_the_scheduler(w: &World) {
    let (stop, server) = (w.stop.clone(), w.cluster.server.clone());
    tokio::spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for (_, mut pod) in server.all("default-pods") {
                if pod["spec"]["nodeName"].is_null() {
                    pod["spec"]["nodeName"] = json!("worker-1");
                    server.apply("default-pods", pod);
                }
            }
        }
    });
}

fn spawn_off(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `node` received `call`; fails with the drill's stderr if it ended first.
fn wait_for_call(w: &World, child: &mut Child, node: &str, call: &str) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while !w.calls(node).iter().any(|c| c == call) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut said = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut said);
            panic!("hatui drill ended ({status}) before `{call}` on {node}:\n{said}");
        }
        assert!(Instant::now() < deadline, "`{call}` never ran on {node}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn wait_output(child: Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_etcd_drill_on_the_leader_runs_its_commands_over_ssh_and_measures_real_etcd() {
    let w = world().await;
    let out = wait_output(spawn_off(w.command(&[
        "--fault",
        "etcd",
        "--duration",
        "6s",
        "--yes",
        "--json",
    ])))
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"], "live");
    assert_eq!(r["lab"], Value::Null);
    // The default target is the etcd leader, as etcd itself said before the fault.
    let target = r["fault"]["target"].as_str().unwrap().to_string();
    assert_eq!(r["before"]["etcd_leader"], target.as_str());
    let pid = w.pid_file(&target).display().to_string();
    let arm = format!(
        "nohup sh -c 'sleep 21; systemctl restart kubelet; rm -f {pid}' >/dev/null 2>&1 & \
         echo $! > {pid}"
    );
    let stop = "crictl stop --timeout 30 $(crictl ps --name '^etcd$' --state running -q)";
    assert_eq!(r["fault"]["commands"], json!([arm, stop]));
    let disarm = format!("kill $(cat {pid}) 2>/dev/null; rm -f {pid}");
    assert_eq!(
        r["fault"]["restore_commands"],
        json!([disarm, "systemctl restart kubelet"])
    );
    // What the target's doubles received, in order; the other masters were not touched.
    assert_eq!(
        w.calls(&target),
        [
            "crictl ps --name ^etcd$ --state running -q".to_string(),
            format!("crictl stop --timeout 30 {CONTAINER}"),
            "systemctl restart kubelet".to_string(),
        ]
    );
    for (node, _) in MASTERS.iter().filter(|(n, _)| *n != target) {
        assert!(w.calls(node).is_empty(), "{node}: {:?}", w.calls(node));
    }
    assert!(!Path::new(&pid).exists(), "the switch was disarmed");
    // Real etcd: SIGTERM hands leadership over, so a new leader comes at once.
    let e = &r["etcd"];
    let lost = e["leader_lost_after_s"].as_f64().expect("leader lost");
    let elected = e["new_leader_after_s"].as_f64().expect("new leader");
    assert!(lost < 6.0 && elected >= lost, "{e}");
    assert_ne!(e["new_leader"], target.as_str());
    assert!(e["new_term"].as_u64().unwrap() > r["before"]["raft_term"].as_u64().unwrap());
    // The endpoint held (the API server here does not need etcd), sampled every 100 ms
    // through the fault and the recovery (a loaded machine may time out a handshake or two).
    let ep = &r["api"]["endpoint"];
    assert!(ep["availability"].as_f64().unwrap() >= 0.9, "{ep}");
    assert!(ep["samples"].as_u64().unwrap() >= 40, "{ep}");
    assert!(r["api"]["keepalive"]["samples"].as_u64().unwrap() >= 40);
    assert_eq!(r["api"]["masters"].as_object().unwrap().len(), 3);
    let rec = &r["recovery"];
    assert_eq!(rec["restored"], true, "{rec}");
    assert!(rec["etcd_healthy_after_s"].as_f64().is_some(), "{rec}");
    // The test pod went through the endpoint right after the fault, was bound, and is gone.
    let pod = &r["test_pod"];
    let created = pod["created_after_s"].as_f64().expect("created");
    let scheduled = pod["scheduled_after_s"].as_f64().expect("scheduled");
    assert!(created < 6.0 && scheduled >= created, "{pod}");
    assert_eq!(pod["node"], "worker-1");
    assert!(
        w.cluster.server.all("default-pods").is_empty(),
        "deleted after"
    );
    let verdict = r["verdict"].to_string();
    assert!(
        verdict.contains("the test pod was scheduled on worker-1"),
        "{verdict}"
    );
    // The audit log has both runs on the target, each as it starts and as it ends.
    let audit = w.dir.path().join("state/hatui/audit-drill.log");
    let audit = std::fs::read_to_string(audit).unwrap();
    assert_eq!(audit.lines().count(), 4, "{audit}");
    let started = format!("host={target} started command=");
    assert_eq!(audit.matches(&started).count(), 2, "{audit}");
    assert_eq!(
        audit.matches(&format!("host={target} exit=0")).count(),
        2,
        "{audit}"
    );
    assert!(audit.contains("crictl stop --timeout 30"), "{audit}");
    assert!(
        audit.contains("f=0; { kill $(cat"),
        "the restore runs every command: {audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_drill_is_restored_by_the_switch_it_armed_on_the_host() {
    let w = world().await;
    let mut child = spawn_off(w.command(&[
        "--fault",
        "kubelet",
        "--target",
        "cp-3",
        "--duration",
        "3s",
        "--yes",
    ]));
    wait_for_call(&w, &mut child, "cp-3", "systemctl stop kubelet");
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    // The fault is in the audit log from its start, however the drill ended.
    let audit = std::fs::read_to_string(w.dir.path().join("state/hatui/audit-drill.log"))
        .unwrap_or_default();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("host=cp-3 started command=") && l.contains("systemctl stop")),
        "{audit}"
    );
    // 3 s of duration + 15 s of margin after the fault: the host restores by itself.
    let limit = killed + Duration::from_secs(30);
    while !w
        .calls("cp-3")
        .contains(&"systemctl start kubelet".to_string())
    {
        assert!(Instant::now() < limit, "no restore: {:?}", w.calls("cp-3"));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        killed.elapsed() > Duration::from_secs(10),
        "restored too early"
    );
    assert_eq!(
        w.calls("cp-3"),
        ["systemctl stop kubelet", "systemctl start kubelet"]
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!w.pid_file("cp-3").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ctrl_c_mid_drill_restores_at_once_and_reports_it() {
    let w = world().await;
    let mut child = spawn_off(w.command(&[
        "--fault",
        "kubelet",
        "--target",
        "cp-1",
        "--duration",
        "10m",
        "--yes",
        "--json",
    ]));
    wait_for_call(&w, &mut child, "cp-1", "systemctl stop kubelet");
    // SAFETY: a plain signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = wait_output(child).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.calls("cp-1"),
        ["systemctl stop kubelet", "systemctl start kubelet"]
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["recovery"]["restored"], true);
    let timeline = r["timeline"].to_string();
    assert!(
        timeline.contains("drill interrupted: restoring now"),
        "{timeline}"
    );
    assert!(!w.pid_file("cp-1").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn d_in_the_live_cockpit_runs_the_drill_and_quitting_mid_drill_restores_first() {
    let w = world().await;
    let tmux = Tmux::start("live-drill", &w.cockpit_line(), 160, 50);
    tmux.wait_for(
        "the cockpit on the live cluster",
        Duration::from_secs(30),
        |s| s.contains("Nodes 5/5 ready"),
    );
    tmux.keys("d");
    tmux.wait_for("the live plan", Duration::from_secs(40), |s| {
        s.contains("Drill: power cut of")
    });
    tmux.keys("n");
    let plan = tmux.wait_for("the kubelet plan", Duration::from_secs(10), |s| {
        s.contains("Drill: kubelet stop on") && s.contains("nohup sh -c")
    });
    tmux.keys("d");
    let applied = Instant::now() + Duration::from_secs(30);
    let target = loop {
        let hit = MASTERS
            .iter()
            .map(|(n, _)| *n)
            .find(|n| w.calls(n).contains(&"systemctl stop kubelet".to_string()));
        if let Some(t) = hit {
            break t;
        }
        assert!(
            Instant::now() < applied,
            "the fault never ran; plan:\n{plan}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    tmux.wait_for("the drill under way", Duration::from_secs(20), |s| {
        s.contains(&format!("fault: kubelet stop on {target}"))
    });
    // Quit mid-drill: the terminal is given back, the drill restores, then hatui exits.
    tmux.keys("q");
    let screen = tmux.wait_for("hatui to exit", Duration::from_secs(90), |s| {
        s.contains("HATUI-EXITED")
    });
    assert!(screen.contains("HATUI-EXITED 0"), "{screen}");
    assert!(
        screen.contains(&format!("hatui: the drill on {target} was restored")),
        "{screen}"
    );
    assert_eq!(
        w.calls(target),
        ["systemctl stop kubelet", "systemctl start kubelet"]
    );
    assert!(!w.pid_file(target).exists());
    let reports = w.dir.path().join("hatui-reports");
    let json = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a JSON report");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(r["source"], "live");
    assert_eq!(r["recovery"]["restored"], true);
    assert!(
        r["timeline"]
            .to_string()
            .contains("drill interrupted: restoring now")
    );
}
