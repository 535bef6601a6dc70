//! The cockpit's wizard thread (`hatui --inventory FILE`, then `w`) on real hosts: the same
//! thread as the bare lab's, driving the SshExecutor, fed by the app's keys as the runtime
//! feeds it. The hosts are the fleet of tests/it/wizard_ssh_plan.rs (tests/support/fleet.rs):
//! real `sshd`s on 127.0.0.81-85, 86-88 and 91-93, with the kubeadm doubles.
//! An unknown host key is asked about in the pane: `y` records it in known_hosts and the
//! plan runs to the end; `x` refuses it and the step fails with the ssh-keyscan line; a
//! changed key is refused without a question, naming the file and line.

use crate::wizard_ssh_fleet;

use std::os::unix::fs::PermissionsExt;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use hatui::app::App;
use hatui::fleet::audit::Audit;
use hatui::fleet::inventory::{self, SshOverrides};
use hatui::message::{Command, Message, WizardCommand};
use hatui::model::{ClusterState, SourceKind};
use hatui::wizard::cockpit;
use hatui::wizard::engine::StepStatus;
use hatui::wizard::exec::ssh::AdminConf;
use hatui::wizard::exec::{HostKeyDesk, SshExecutor};
use hatui::wizard::plan;
use tokio::sync::mpsc;
use wizard_ssh_fleet::{ENDPOINT, Host, Site};

const ACCEPTED: [Host; 5] = [
    ("cp-1", "127.0.0.81", true),
    ("cp-2", "127.0.0.82", true),
    ("cp-3", "127.0.0.83", true),
    ("worker-1", "127.0.0.84", false),
    ("worker-2", "127.0.0.85", false),
];
const REFUSED: [Host; 3] = [
    ("cp-1", "127.0.0.86", true),
    ("cp-2", "127.0.0.87", true),
    ("cp-3", "127.0.0.88", true),
];
const CHANGED: [Host; 3] = [
    ("cp-1", "127.0.0.91", true),
    ("cp-2", "127.0.0.92", true),
    ("cp-3", "127.0.0.93", true),
];

/// The cockpit without a terminal: the app, the wizard's thread on the site's hosts, and
/// the runtime's two sinks (the thread's commands, the desk's answers).
struct Cockpit {
    rt: tokio::runtime::Runtime,
    app: App,
    rx: mpsc::Receiver<Message>,
    commands: std::sync::mpsc::Sender<WizardCommand>,
    desk: HostKeyDesk,
    /// Every host key question seen.
    asked: Vec<hatui::wizard::exec::HostKeyQuestion>,
}

impl Cockpit {
    fn on(site: &Site) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let inv = inventory::load(&site.inventory).unwrap();
        let plan = plan::build(&inv);
        let (tx, rx) = mpsc::channel(256);
        let desk = cockpit::host_key_desk(&tx);
        let audit = Audit::at(site.dir.path().join("audit.log"));
        let mut exec = SshExecutor::new(&inv, &SshOverrides::default(), audit, rt.handle().clone())
            .ask_host_keys(desk.clone());
        exec.admin_conf = Some(AdminConf {
            inventory: inv.clone(),
            file: site.inventory.clone(),
            home: Some(site.home()),
            fetched: false,
        });
        let (commands, wizard_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            cockpit::run(exec, plan, 1.0, tx, wizard_rx, Duration::ZERO);
        });
        let now = jiff::Timestamp::now();
        let cluster = ClusterState::new(SourceKind::Live, inv.endpoint.to_string(), now);
        Self {
            rt,
            app: App::with_wizard(cluster),
            rx,
            commands,
            desk,
            asked: Vec::new(),
        }
    }

    fn press(&mut self, c: char) {
        self.key(KeyCode::Char(c));
    }

    /// A key, and its commands carried out as the runtime does.
    fn key(&mut self, code: KeyCode) {
        let out = self.app.update(Message::Key(KeyEvent::from(code)));
        for command in out.commands {
            match command {
                Command::Wizard(WizardCommand::HostKey { id, accept }) => {
                    self.desk.answer(id, accept)
                }
                Command::Wizard(c) => self.commands.send(c).unwrap(),
                other => panic!("not the wizard's: {other:?}"),
            }
        }
    }

    /// Applies messages until `done` holds, answering each host key question with `answer`
    /// (the key to press). Three minutes at most: a hang fails with what was seen.
    fn until(&mut self, what: &str, answer: impl Fn(&str) -> char, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while !done(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            let rx = &mut self.rx;
            let msg = self
                .rt
                .block_on(async { tokio::time::timeout(left, rx.recv()).await })
                .unwrap_or_else(|_| panic!("{what}: not within 3 minutes; {}", self.said()))
                .expect("the wizard's thread is gone");
            self.app.update(msg);
            let asked = self.app.wizard.as_ref().unwrap().host_keys.front().cloned();
            if let Some(q) = asked {
                self.asked.push(q.clone());
                self.press(answer(&q.target));
            }
        }
    }

    fn said(&self) -> String {
        let w = self.app.wizard.as_ref().unwrap();
        let steps = w.steps.as_ref().map(|s| &s.reports[..]).unwrap_or_default();
        let steps: Vec<String> = steps
            .iter()
            .map(|r| format!("{} {:?}: {}", r.id, r.status, r.output.join(" | ")))
            .collect();
        format!("steps: {steps:#?}\nlive: {:#?}", w.live)
    }
}

/// `ssh-keygen -lf` of one known_hosts line: `(type, SHA256:...)` as OpenSSH shows them.
fn fingerprint(line: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let out = Process::new("ssh-keygen").arg("-lf").arg(&file).output();
    let out = out.expect("ssh-keygen (apt-get install openssh-client)");
    let text = String::from_utf8(out.stdout).unwrap();
    // `256 SHA256:... [127.0.0.84]:40123 (ED25519)`
    let fields: Vec<&str> = text.split_whitespace().collect();
    let kind = line.split_whitespace().nth(1).unwrap().to_string();
    (kind, fields[1].to_string())
}

fn finished(app: &App) -> bool {
    let steps = app.wizard.as_ref().and_then(|w| w.steps.as_ref());
    steps.is_some_and(|s| s.finished) && app.wizard.as_ref().unwrap().running.is_none()
}

#[test]
fn run_all_builds_the_cluster_on_real_hosts_and_an_unknown_host_key_accepted_with_y_is_recorded() {
    let site = Site::on(&ACCEPTED);
    let port = site.port("127.0.0.84");
    let line = site.forget_host_key("127.0.0.84");
    let (kind, sha) = fingerprint(&line);
    let mut c = Cockpit::on(&site);
    c.until(
        "the plan",
        |_| 'n',
        |app| app.wizard.as_ref().unwrap().steps.is_some(),
    );
    assert!(c.asked.is_empty(), "masters are known: {:?}", c.asked);
    c.press('w');
    c.press('a');
    c.until("the plan to end", |_| 'y', finished);
    let steps = c.app.wizard.as_ref().unwrap().steps.clone().unwrap();
    for r in &steps.reports {
        assert_eq!(r.status, StepStatus::Ok, "{}", c.said());
    }
    assert!(steps.verified, "{}", c.said());
    // Asked once, about worker-1, with its key as `ssh-keygen -lf` shows it.
    assert_eq!(c.asked.len(), 1, "{:?}", c.asked);
    let q = &c.asked[0];
    assert_eq!(q.target, format!("root@127.0.0.84:{port}"));
    assert_eq!((&q.key_type, &q.fingerprint), (&kind, &sha));
    assert!(sha.starts_with("SHA256:") && !sha.ends_with('='), "{sha}");
    // Recorded as OpenSSH's accept-new records it: the same line again.
    let known = std::fs::read_to_string(site.known_hosts()).unwrap();
    let fields = |l: &str| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let recorded = known.lines().filter(|l| fields(l) == fields(&line));
    assert_eq!(recorded.count(), 1, "{line} not in {known}");
    assert!(
        site.commands("worker-1")
            .iter()
            .any(|c| c.starts_with("kubeadm join")),
        "worker-1 joined"
    );
    // The panes beside it show the cluster as the wizard's looks over SSH see it.
    let nodes: Vec<&str> = c
        .app
        .cluster
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(nodes.len(), 5, "{nodes:?}");
    // After init, admin.conf came to the bastion (0600) and the timeline says how to open
    // the live cockpit on it.
    let conf = site.home().join(".kube/hatui-t.conf");
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", conf.display());
    let open = format!(
        "admin.conf saved to {} (server https://{ENDPOINT}): `hatui --inventory {} --kubeconfig {}`",
        conf.display(),
        site.inventory.display(),
        conf.display()
    );
    let timeline = &c.app.cluster.timeline;
    assert!(
        timeline.iter().any(|e| e.text.starts_with(&open)),
        "{open} not in {:?}",
        timeline.iter().map(|e| &e.text).collect::<Vec<_>>()
    );
}

/// Runs the first step (preflight: cp-1 first) to its failure; its output.
fn preflight_fails(c: &mut Cockpit) -> String {
    c.press('w');
    c.until(
        "the plan",
        |_| 'x',
        |app| app.wizard.as_ref().unwrap().steps.is_some(),
    );
    c.key(KeyCode::Enter);
    let failed = |app: &App| {
        let w = app.wizard.as_ref().unwrap();
        let steps = w.steps.as_ref().map(|s| &s.reports[..]).unwrap_or_default();
        steps.iter().any(|r| r.status == StepStatus::Failed) && w.running.is_none()
    };
    c.until("preflight to fail", |_| 'x', failed);
    let steps = c.app.wizard.as_ref().unwrap().steps.clone().unwrap();
    assert_eq!(steps.reports[0].id, "preflight");
    assert_eq!(steps.reports[0].status, StepStatus::Failed, "{}", c.said());
    steps.reports[0].output.join("\n")
}

#[test]
fn an_unknown_host_key_refused_with_x_fails_its_step_with_the_keyscan_line_and_enter_logs_in_again()
{
    let site = Site::on(&REFUSED);
    let port = site.port("127.0.0.86");
    let line = site.forget_host_key("127.0.0.86");
    let mut c = Cockpit::on(&site);
    let output = preflight_fails(&mut c);
    // Asked when the wizard first looked at cp-1; preflight keeps the answer.
    assert_eq!(c.asked.len(), 1, "{:?}", c.asked);
    assert_eq!(c.asked[0].target, format!("root@127.0.0.86:{port}"));
    let known = site.known_hosts().display().to_string();
    let keyscan = format!("ssh-keyscan -p {port} 127.0.0.86 >> {known}");
    assert!(output.contains(&keyscan), "{keyscan} not in {output}");
    let text = std::fs::read_to_string(site.known_hosts()).unwrap();
    assert!(
        !text.contains("[127.0.0.86]:"),
        "refused: not recorded\n{text}"
    );
    // The operator adds the key as the line says; Enter logs in again and preflight passes.
    wizard_ssh_fleet::write(&site.known_hosts(), format!("{text}{line}\n"));
    c.key(KeyCode::Enter);
    let passed = |app: &App| {
        let w = app.wizard.as_ref().unwrap();
        let steps = w.steps.as_ref().map(|s| &s.reports[..]).unwrap_or_default();
        steps[0].status == StepStatus::Ok && w.running.is_none()
    };
    c.until("preflight to pass", |_| 'x', passed);
    assert_eq!(c.asked.len(), 1, "known now: not asked again");
}

#[test]
fn a_changed_host_key_is_refused_without_a_question_naming_the_file_and_line() {
    let site = Site::on(&CHANGED);
    let line = site.change_host_key("127.0.0.91", "127.0.0.92");
    let mut c = Cockpit::on(&site);
    let output = preflight_fails(&mut c);
    assert!(c.asked.is_empty(), "{:?}", c.asked);
    let changed = "HOST KEY CHANGED! The host offered ssh-ed25519 SHA256:";
    assert!(output.contains(changed), "{output}");
    let known = site.known_hosts().display().to_string();
    assert!(output.contains(&format!("{known}:{line}.")), "{output}");
}
