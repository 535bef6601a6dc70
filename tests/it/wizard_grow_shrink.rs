//! Day 2 on the lab (virtual clock): the control plane grown 3 -> 5 (each new member a
//! learner first, then a voter), shrunk 5 -> 3 (leadership moved off a leaving leader
//! before its member goes), the refusals that keep an odd count of at least three, and
//! the build's cleanup of `kubeadm-certs` (kept with `--keep-cert-key`). Through the real
//! binary and through the library. The plans alone (a real etcd, HAProxy, the refusal's
//! arithmetic): `wizard_grow_shrink_plan.rs`.

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use hatui::fleet::inventory;
use hatui::lab::LabConfig;
use hatui::model::{ClusterEvent, ClusterState, Quorum};
use hatui::wizard::engine::{Engine, StepStatus};
use hatui::wizard::exec::{Executor, LabExecutor};
use hatui::wizard::headless::{lab_plan, run_on};
use hatui::wizard::{lab, plan};
use serde_json::Value;

fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run hatui")
}

fn json(args: &[&str]) -> (i32, Value) {
    let out = hatui(args);
    let code = out.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&out.stderr);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    (code, v)
}

fn ids(v: &Value) -> Vec<&str> {
    let plan = v["plan"].as_array().expect("plan[]");
    plan.iter().map(|s| s["id"].as_str().unwrap()).collect()
}

fn step<'a>(v: &'a Value, id: &str) -> &'a Value {
    let plan = v["plan"].as_array().unwrap();
    plan.iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id}"))
}

fn member_names(v: &Value) -> Vec<String> {
    let members = v["status"]["etcd"]["members"].as_array().unwrap();
    let mut names: Vec<String> = members
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// A lab of `hosts` master machines where the build made `built` of them masters.
fn built_lab(built: usize, hosts: usize, seed: u64) -> LabExecutor {
    let cfg = LabConfig::new(hosts, 0, seed, LabConfig::default().start);
    let mut ex = LabExecutor::new(cfg);
    for i in built..hosts {
        ex.lab_mut().set_lb_target(i, false);
    }
    let engine = run_on(&mut ex, lab_plan(built, 0).unwrap(), None, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
    ex
}

fn inv(masters: usize) -> inventory::Inventory {
    inventory::parse("lab", &lab::inventory_toml(masters, 0)).unwrap()
}

/// An etcd view as the lab published it: the learners' names, and how many vote.
type Phase = (Vec<String>, usize);

fn backends(c: &ClusterState) -> Vec<String> {
    c.endpoint.backends.iter().map(|b| b.node.clone()).collect()
}

#[test]
fn growing_3_to_5_joins_each_as_a_learner_then_five_voters_quorum_3_of_5() {
    let mut ex = built_lab(3, 5, 2);
    assert_eq!(backends(ex.cluster()), ["cp-1", "cp-2", "cp-3"]);
    // Every etcd view the lab publishes, as (learners, voters) with the learners' names.
    let seen: Arc<Mutex<Vec<Phase>>> = Arc::default();
    let s = Arc::clone(&seen);
    ex.on_events(Box::new(move |events| {
        for ev in events {
            if let ClusterEvent::Etcd(e) = ev {
                let learners = e.members.iter().filter(|m| m.is_learner);
                let voters = e.members.iter().filter(|m| !m.is_learner).count();
                let names = learners.map(|m| m.name.clone()).collect();
                s.lock().unwrap().push((names, voters));
            }
        }
    }));
    let nodes = ["cp-4".to_string(), "cp-5".to_string()];
    let p = plan::grow(&inv(5), &nodes, "cp-1", false).unwrap();
    assert_eq!(
        p.ids(),
        [
            "check",
            "upload-certs",
            "token-create",
            "join-control-plane/cp-4",
            "lb-targets/cp-4",
            "join-control-plane/cp-5",
            "lb-targets/cp-5",
            "cleanup",
            "verify"
        ]
    );
    let mut engine = Engine::new(p, ex.cluster());
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());

    // The learner phase was observed, one new member at a time, the voters unchanged.
    let seen = seen.lock().unwrap();
    let cp4 = seen
        .iter()
        .position(|(l, _)| l == &["cp-4"])
        .expect("cp-4 a learner");
    let cp5 = seen
        .iter()
        .position(|(l, _)| l == &["cp-5"])
        .expect("cp-5 a learner");
    assert!(cp4 < cp5, "cp-4 joins before cp-5");
    assert_eq!(seen[cp4].1, 3, "cp-4 does not vote while a learner");
    assert_eq!(seen[cp5].1, 4, "cp-5 does not vote while a learner");
    assert!(
        seen.iter().all(|(l, _)| l.len() <= 1),
        "one learner at a time"
    );

    let c = ex.cluster();
    let voters = c
        .etcd
        .members
        .iter()
        .filter(|m| !m.is_learner && m.reachable);
    assert_eq!(voters.count(), 5);
    let q = Quorum::of(5, 5);
    assert_eq!((q.needed, q.tolerates), (3, 2));
    assert_eq!(
        backends(c),
        ["cp-1", "cp-2", "cp-3", "cp-4", "cp-5"],
        "the new masters are the load balancer's targets"
    );
    assert!(
        c.endpoint.backends.iter().all(|b| b.serving),
        "{:?}",
        c.endpoint
    );
    assert_eq!(
        ex.lab().cert_key_value(),
        None,
        "cleanup deleted kubeadm-certs"
    );
}

#[test]
fn the_cli_grows_3_to_5_and_says_the_quorum() {
    let (code, v) = json(&["wizard", "--lab", "--add", "cp-4,cp-5", "--yes", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["verified"], true);
    assert!(ids(&v).contains(&"join-control-plane/cp-5"));
    let q = &v["status"]["etcd"]["quorum"];
    assert_eq!(
        (&q["members"], &q["needed"], &q["tolerates"]),
        (&5.into(), &3.into(), &2.into())
    );
    let members = v["status"]["etcd"]["members"].as_array().unwrap();
    assert!(
        members
            .iter()
            .all(|m| m["is_learner"] == false && m["reachable"] == true)
    );
    assert_eq!(member_names(&v), ["cp-1", "cp-2", "cp-3", "cp-4", "cp-5"]);
    let notes = step(&v, "check")["notes"].to_string();
    assert!(
        notes.contains("3 voters need 2 and tolerate 1 failure(s); 5 need 3 of 5 and tolerate 2"),
        "{notes}"
    );
    assert!(
        notes.contains("each new master joins as a learner"),
        "{notes}"
    );
    let tail = step(&v, "join-control-plane/cp-4")["output_tail"].to_string();
    assert!(
        tail.contains("a new control plane instance was created"),
        "{tail}"
    );
    assert_eq!(v["status"]["certificate_key"]["present"], false);
    // The fresh key and token never show.
    let cmd = step(&v, "join-control-plane/cp-5")["commands"][0]
        .as_str()
        .unwrap();
    assert!(cmd.contains("--certificate-key <hidden>"), "{cmd}");
}

#[test]
fn adding_a_member_or_a_host_the_inventory_cannot_list_is_refused() {
    let out = hatui(&["wizard", "--lab", "--add", "cp-2", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cp-2: it is already an etcd member"), "{err}");
    let out = hatui(&["wizard", "--lab", "--add", "cp-9", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cp-1 to cp-7"), "{err}");
}

#[test]
fn the_cli_shrinks_5_to_3() {
    let (code, v) = json(&[
        "wizard",
        "--lab",
        "--control-planes",
        "5",
        "--remove",
        "cp-4,cp-5",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["verified"], true);
    let mut expected = vec!["check", "snapshot"];
    for n in ["cp-4", "cp-5"] {
        for s in [
            "lb-targets",
            "move-leader",
            "remove-member",
            "drain",
            "delete-node",
            "reset",
        ] {
            expected.push(Box::leak(format!("{s}/{n}").into_boxed_str()));
        }
    }
    expected.push("verify");
    assert_eq!(ids(&v), expected);
    assert_eq!(member_names(&v), ["cp-1", "cp-2", "cp-3"]);
    let q = &v["status"]["etcd"]["quorum"];
    assert_eq!(
        (&q["members"], &q["needed"], &q["tolerates"]),
        (&3.into(), &2.into(), &1.into())
    );
    let nodes = v["status"]["nodes"].to_string();
    assert!(
        !nodes.contains("cp-4") && !nodes.contains("cp-5"),
        "{nodes}"
    );
    let drained = step(&v, "drain/cp-4")["output_tail"].to_string();
    assert!(drained.contains("node/cp-4 drained"), "{drained}");
    let removed = step(&v, "remove-member/cp-5")["output_tail"].to_string();
    assert!(removed.contains("removed from cluster"), "{removed}");
}

#[test]
fn shrinking_5_to_3_takes_them_out_of_the_load_balancer() {
    let mut ex = built_lab(5, 5, 6);
    let nodes = ["cp-4".to_string(), "cp-5".to_string()];
    let mut engine = Engine::new(plan::shrink(&inv(5), &nodes, "cp-1").unwrap(), ex.cluster());
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
    let c = ex.cluster();
    assert_eq!(backends(c), ["cp-1", "cp-2", "cp-3"]);
    assert!(c.nodes.get("cp-4").is_none() && c.nodes.get("cp-5").is_none());
    assert_eq!(c.etcd.members.len(), 3);
    let lab = ex.lab();
    assert!(!lab.lb_target(3) && !lab.lb_target(4));
    assert!(
        !lab.control_plane_installed(3),
        "kubeadm reset cleaned cp-4"
    );
}

#[test]
fn removing_the_leader_moves_leadership_before_its_member_goes() {
    let mut ex = built_lab(5, 5, 3);
    let leader = ex.lab().etcd_leader().expect("a leader");
    let i = ex.lab().host(&leader).unwrap();
    let id = ex.lab().member(i).unwrap().id;
    let term = ex.cluster().etcd.members[0].raft_term;
    // The leader and one more, so that three remain.
    let other = if leader == "cp-5" { "cp-4" } else { "cp-5" };
    let stays = ["cp-1", "cp-2", "cp-3", "cp-4"]
        .into_iter()
        .find(|n| *n != leader && *n != other)
        .unwrap();
    let nodes = [leader.clone(), other.to_string()];
    let p = plan::shrink(&inv(5), &nodes, stays).unwrap();
    let mut engine = Engine::new(p, ex.cluster());
    let mv = format!("move-leader/{leader}");
    while engine.next_step().is_some_and(|s| s.id != mv) {
        engine.run_next(&mut ex);
    }
    assert_eq!(ex.lab().etcd_leader().as_deref(), Some(leader.as_str()));
    engine.run_next(&mut ex);
    // Moved: a new leader in a new term, and the old one still a member.
    let now = ex.lab().etcd_leader().expect("a leader after the move");
    assert_ne!(now, leader);
    assert_eq!(
        now, stays,
        "leadership goes to the master the plan runs through"
    );
    assert!(
        ex.lab().member(i).is_some(),
        "still a member when it stops leading"
    );
    let c = ex.cluster();
    assert!(
        c.etcd
            .members
            .iter()
            .all(|m| m.raft_term > term || !m.reachable)
    );
    let r = engine.reports().iter().find(|r| r.id == mv).unwrap();
    let to = c.etcd.members.iter().find(|m| m.name == stays).unwrap().id;
    let said = format!("Leadership transferred from {id:x} to {to:x}");
    assert!(r.output.iter().any(|l| l == &said), "{:?}", r.output);
    // Then its member goes, with a leader in place all along.
    engine.run_next(&mut ex);
    assert!(ex.lab().member(i).is_none());
    assert!(ex.lab().etcd_leader().is_some());
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
    let other = engine
        .reports()
        .iter()
        .find(|r| r.id == format!("move-leader/{}", nodes[1]));
    let other = other.unwrap().output.join("\n");
    assert!(other.contains("does not lead: nothing to move"), "{other}");
}

#[test]
fn the_cli_moves_leadership_off_the_leader_it_removes() {
    let (code, v) = json(&[
        "wizard",
        "--lab",
        "--control-planes",
        "5",
        "--remove",
        "cp-1,cp-5",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0);
    let moved = step(&v, "move-leader/cp-1")["output_tail"].to_string();
    assert!(moved.contains("Leadership transferred from"), "{moved}");
    assert!(v["status"]["etcd"]["leader"] != "cp-1");
    assert_eq!(member_names(&v), ["cp-2", "cp-3", "cp-4"]);
}

#[test]
fn removals_that_leave_two_or_an_even_count_are_refused_with_why() {
    let out = hatui(&["wizard", "--lab", "--remove", "cp-3", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing ran");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("hatui wizard: refusing to remove cp-3: it would leave 2 master(s)"),
        "{err}"
    );
    assert!(err.contains("need 2 of 2 and tolerate no failure"), "{err}");
    assert!(err.contains("--force"), "{err}");

    let out = hatui(&[
        "wizard",
        "--lab",
        "--control-planes",
        "5",
        "--remove",
        "cp-5",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing ran");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("an even number: quorum 3 of 4 tolerates 1 failure, no more than 3 masters do (quorum 2 of 3, 1 failure)"), "{err}");

    // --force overrides: four voters.
    let (code, v) = json(&[
        "wizard",
        "--lab",
        "--control-planes",
        "5",
        "--remove",
        "cp-5",
        "--yes",
        "--json",
        "--force",
    ]);
    assert_eq!(code, 0);
    assert_eq!(member_names(&v).len(), 4);
    assert!(v["warnings"].to_string().contains("an even number"));
}

#[test]
fn a_grow_killed_after_its_first_join_resumes_where_the_cluster_is() {
    let mut ex = built_lab(3, 5, 5);
    let nodes = ["cp-4".to_string(), "cp-5".to_string()];
    let p = plan::grow(&inv(5), &nodes, "cp-1", false).unwrap();
    let mut engine = Engine::new(p.clone(), ex.cluster());
    while engine
        .next_step()
        .is_some_and(|s| s.id != "lb-targets/cp-4")
    {
        engine.run_next(&mut ex);
    }
    // Killed here: a new engine on the same lab, nothing saved.
    let mut ex = LabExecutor::on(ex.into_lab());
    let mut engine = Engine::new(p, ex.cluster());
    let done = |e: &Engine, id: &str| {
        let r = e.reports().iter().find(|r| r.id == id).unwrap();
        r.status == StepStatus::Ok && r.attempts == 0
    };
    assert!(
        done(&engine, "join-control-plane/cp-4"),
        "cp-4 is a voter already"
    );
    assert!(!done(&engine, "join-control-plane/cp-5"));
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
}

#[test]
fn the_builds_cleanup_deletes_kubeadm_certs_and_keep_cert_key_keeps_it() {
    let (code, v) = json(&["wizard", "--lab", "--yes", "--json"]);
    assert_eq!(code, 0);
    let ids = ids(&v);
    assert_eq!(ids[ids.len() - 2..], ["cleanup", "verify"]);
    let tail = step(&v, "cleanup")["output_tail"].to_string();
    assert!(
        tail.contains("secret \\\"kubeadm-certs\\\" deleted"),
        "{tail}"
    );
    let key = &v["status"]["certificate_key"];
    assert_eq!(key["present"], false, "{key}");
    assert_eq!(key["state"], "absent", "{key}");
    // The join token stays: workers may still join with it.
    let tokens = v["status"]["tokens"].as_array().unwrap();
    assert!(!tokens.is_empty());

    let (code, v) = json(&["wizard", "--lab", "--yes", "--json", "--keep-cert-key"]);
    assert_eq!(code, 0);
    assert!(!self::ids(&v).contains(&"cleanup"));
    assert_eq!(v["status"]["certificate_key"]["present"], true);
}

#[test]
fn add_and_remove_on_an_inventory_say_they_need_yes_or_dry_run() {
    let dir = std::env::temp_dir().join(format!("hatui-grow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("inventory.toml");
    std::fs::write(&file, lab::inventory_toml(3, 0)).unwrap();
    let f = file.to_str().unwrap();
    let out = hatui(&["wizard", "--inventory", f, "--add", "cp-4"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--add and --remove with --inventory FILE go with --yes"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn after_the_builds_cleanup_the_ttl_pane_says_the_secret_is_gone_not_expired() {
    let run = hatui::wizard::headless::LabRun {
        control_planes: 3,
        workers: 0,
        scenario: None,
        json: true,
        seed: 1,
        lb: hatui::lab::LbKind::Nlb,
        lb_check: None,
        boot_time_ms: 45_000,
        keep_cert_key: false,
    };
    let (verified, ex) = hatui::wizard::headless::build(&run, &mut Vec::new()).unwrap();
    assert!(verified);
    let app = hatui::app::App::new(ex.cluster().clone());
    let mut d = hatui::scenes::Driver::of_app(app);
    let screen = hatui_testkit::screen::text(&d.render(120, 40));
    let line = screen
        .lines()
        .find(|l| l.contains("certificate key"))
        .unwrap_or_else(|| panic!("{screen}"));
    // The cockpit's words for a Secret that is not there (the cleanup's, or the garbage
    // collector's after the 2 h): not a countdown, and not "EXPIRED".
    assert!(line.contains("none: no kubeadm-certs Secret"), "{line}");
    assert!(!line.to_lowercase().contains("expired"), "{line}");
}

#[test]
fn the_library_refuses_as_the_cli_does_and_force_goes_on() {
    use hatui::wizard::headless::{LabRun, Resize, resize};
    let run = LabRun {
        control_planes: 5,
        workers: 1,
        scenario: None,
        json: true,
        seed: 9,
        lb: hatui::lab::LbKind::Haproxy,
        lb_check: None,
        boot_time_ms: 45_000,
        keep_cert_key: false,
    };
    let mut r = Resize {
        add: vec![],
        remove: vec!["cp-2".into(), "cp-3".into(), "cp-4".into()],
        force: false,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(resize(&run, &r, &mut out, &mut err).unwrap(), 2);
    assert!(out.is_empty(), "nothing ran");
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.starts_with(
            "hatui wizard: refusing to remove cp-2,cp-3,cp-4: it would leave 2 master(s)"
        ),
        "{err}"
    );
    // Forced, it runs: two voters left, and the warning says what that means.
    r.force = true;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(resize(&run, &r, &mut out, &mut err).unwrap(), 0);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(member_names(&v), ["cp-1", "cp-5"]);
    assert!(
        v["warnings"].to_string().contains("an even number"),
        "{}",
        v["warnings"]
    );
}
