//! The scenarios where something on the hosts is wrong (`--scenario swap-on`,
//! `lb-without-targets`, `no-control-plane-endpoint`): the wizard fails where kubeadm would,
//! with kubeadm's and the kubelet's own words, offers the fix as commands, and with
//! `--yes` runs it and goes on until verify passes. Without `--yes` (the engine alone), it
//! stops on the failed step with the fix, and `run_fix` runs it.

use crate::wizard_json;

use hatui::lab::LabConfig;
use hatui::wizard::engine::{Engine, StepStatus};
use hatui::wizard::exec::{self, Executor, LabExecutor};
use hatui::wizard::headless::{Scenario, lab_plan};
use serde_json::Value;
use wizard_json::{assert_built, assert_no_secret, run_json};

fn step<'a>(v: &'a Value, id: &str) -> &'a Value {
    let plan = v["plan"].as_array().unwrap();
    plan.iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {plan:?}"))
}

fn ids(v: &Value) -> Vec<String> {
    let plan = v["plan"].as_array().unwrap();
    plan.iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// The engine on a 3+2 lab with `scenario` set up, run until it stops.
fn stopped_on(scenario: Scenario) -> (LabExecutor, Engine) {
    let plan = lab_plan(3, 2).unwrap();
    let cfg = LabConfig::new(3, 2, 5, LabConfig::default().start);
    let mut ex = LabExecutor::new(cfg);
    scenario.set_up(&mut ex, &plan);
    let mut engine = Engine::new(plan, ex.cluster());
    engine.run_all(&mut ex, |_| {});
    (ex, engine)
}

const SWAP_WARNING: &str = "\t[WARNING Swap]: swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node";
const KUBELET_REFUSES: &str = "running with swap on is not supported, please disable swap or set --fail-swap-on flag to false";

#[test]
fn swap_on_fails_preflight_on_that_worker_and_yes_turns_it_off_and_goes_on() {
    let (v, text) = run_json(3, 2, Some("swap-on"));
    assert_built(&v, 3, 2);
    assert_no_secret(&text);
    let pre = step(&v, "preflight");
    assert_eq!(pre["attempts"], 2, "{pre}");
    let notes = pre["notes"].to_string();
    assert!(
        notes.contains("exit code 1 on worker-2: hatui preflight: swap is on"),
        "{notes}"
    );
    let fixed = &pre["fixed"];
    assert!(
        fixed["what"].as_str().unwrap().contains(KUBELET_REFUSES),
        "{fixed}"
    );
    assert_eq!(
        fixed["commands"][0],
        "worker-2: swapoff -a && sed -i.bak -E 's|^([^#].*[[:space:]]swap[[:space:]].*)$|#\\1|' /etc/fstab"
    );
    assert!(pre["fix"].is_null(), "nothing left to fix: {pre}");
}

#[test]
fn swap_on_without_yes_stops_at_preflight_with_the_fix_and_run_fix_turns_it_off() {
    let (mut ex, mut engine) = stopped_on(Scenario::SwapOn);
    assert!(!engine.verified());
    let i = engine.failed_step().expect("stopped");
    let pre = &engine.reports()[i];
    assert_eq!(pre.id, "preflight");
    assert_eq!(pre.status, StepStatus::Failed);
    let fix = pre.fix.as_ref().expect("a fix is offered");
    assert_eq!(fix.commands[0].host, "worker-2");
    assert!(fix.commands[0].shown().starts_with("swapoff -a && "));
    let line = pre.line();
    assert!(line.contains("fix: swap is on on worker-2"), "{line}");
    assert!(line.contains("worker-2: swapoff -a"), "{line}");
    assert_eq!(engine.reports().last().unwrap().status, StepStatus::Skipped);

    let changed = engine.run_fix(&mut ex);
    assert!(changed.contains(&i), "{changed:?}");
    assert_eq!(engine.reports()[i].status, StepStatus::Ok);
    assert!(!ex.lab().swap_on(4), "swapoff ran on worker-2");
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
}

#[test]
fn kubeadm_join_with_swap_on_only_warns_then_the_kubelet_never_answers() {
    let cfg = LabConfig::new(1, 1, 5, LabConfig::default().start);
    let mut ex = LabExecutor::new(cfg);
    let init = "kubeadm init --control-plane-endpoint lab-api.hatui.local:6443 --upload-certs";
    assert_eq!(exec::run(&mut ex, "cp-1", init).1, 0);
    ex.lab_mut().set_swap(1, true);
    let lab = ex.lab();
    let (token, hash) = (
        lab.join_token().unwrap(),
        lab.ca_hash().unwrap().to_string(),
    );
    let join = format!(
        "kubeadm join lab-api.hatui.local:6443 --token {token} --discovery-token-ca-cert-hash {hash}"
    );
    let t0 = ex.now();
    let (out, code) = exec::run(&mut ex, "worker-1", &join);
    assert_eq!(code, 1);
    assert!(
        ex.now().duration_since(t0).as_secs() >= 240,
        "the 4m0s wait"
    );
    assert!(out.iter().any(|l| l == SWAP_WARNING), "{out:#?}");
    assert!(
        out.iter()
            .any(|l| l.starts_with("[kubelet-check] The kubelet is not healthy after 4m0")),
        "{out:#?}"
    );
    assert!(
        out.iter().any(|l| l.starts_with(
            "error execution phase kubelet-start: The HTTP call equal to 'curl -sSL http://127.0.0.1:10248/healthz' returned error"
        )),
        "{out:#?}"
    );
    assert!(
        ex.cluster().nodes.get("worker-1").is_none(),
        "never registered"
    );
}

const NO_ENDPOINT: &str = "error execution phase upload-config/kubeadm: could not bootstrap the admin user in file admin.conf: unable to create ClusterRoleBinding: Post \"https://lab-api.hatui.local:6443/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?timeout=10s\": context deadline exceeded";

#[test]
fn lb_without_targets_fails_init_at_upload_config_and_yes_registers_the_masters_resets_and_inits_again()
 {
    let (v, text) = run_json(3, 2, Some("lb-without-targets"));
    assert_built(&v, 3, 2);
    assert_no_secret(&text);
    let init = step(&v, "init");
    assert_eq!(init["attempts"], 2, "{init}");
    let notes = init["notes"].to_string();
    assert!(notes.contains(&NO_ENDPOINT.replace('"', "\\\"")), "{notes}");
    let fixed = &init["fixed"];
    let what = fixed["what"].as_str().unwrap();
    // The lab's inventory names its balancer: an NLB, as the seed builds it.
    assert!(
        what.contains("nothing answers through lab-api.hatui.local:6443")
            && what.contains("NLB's target group")
            && what.contains("health check TCP 6443"),
        "{what}"
    );
    let commands: Vec<&str> = fixed["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        commands[0]
            == "load-balancer: aws elbv2 register-targets --target-group-arn \"$TARGET_GROUP_ARN\" --targets Id=10.0.0.11,Port=6443 Id=10.0.0.12,Port=6443 Id=10.0.0.13,Port=6443",
        "{commands:?}"
    );
    assert_eq!(commands[1], "cp-1: kubeadm reset -f");
    assert!(
        init["output_tail"]
            .to_string()
            .contains("Then you can join any number of worker nodes"),
        "the second init succeeded: {init}"
    );
}

#[test]
fn lb_without_targets_without_yes_says_what_to_do_and_the_endpoint_says_why() {
    let (mut ex, mut engine) = stopped_on(Scenario::LbWithoutTargets);
    let i = engine.failed_step().expect("stopped");
    let init = &engine.reports()[i];
    assert_eq!(init.id, "init");
    assert!(
        init.output
            .iter()
            .any(|l| l == "[control-plane-check] kube-apiserver is healthy after 12.501413278s"),
        "the master itself answers: {:#?}",
        init.output
    );
    assert!(
        init.output.iter().any(|l| l == NO_ENDPOINT),
        "{:#?}",
        init.output
    );
    let fix = init.fix.as_ref().expect("a fix is offered");
    assert_eq!(fix.commands.len(), 2);
    let detail = ex.cluster().endpoint.detail.clone().unwrap_or_default();
    assert_eq!(ex.cluster().endpoint.ready, Some(false));
    assert!(detail.contains("no targets"), "{detail}");
    // The operator retries without the fix: kubeadm's preflight now finds the half-done init.
    engine.retry();
    engine.run_next(&mut ex);
    let init = &engine.reports()[i];
    assert!(
        init.output
            .iter()
            .any(|l| l == "\t[ERROR Port-6443]: Port 6443 is in use"),
        "{:#?}",
        init.output
    );
    let i = engine.failed_step().expect("stopped again");
    assert!(
        engine.reports()[i].fix.is_some(),
        "still offered: {:#?}",
        engine.reports()[i]
    );
    engine.run_fix(&mut ex);
    assert!(ex.lab().lb_targets(), "{:#?}", engine.reports()[i]);
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
}

#[test]
fn no_control_plane_endpoint_is_patched_in_by_a_step_before_the_first_master_joins() {
    let (v, text) = run_json(3, 2, Some("no-control-plane-endpoint"));
    assert_eq!(v["verified"], true);
    let members = v["status"]["etcd"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| m["is_learner"] == false));
    assert_no_secret(&text);
    let ids = ids(&v);
    let at = |id: &str| ids.iter().position(|i| i == id).unwrap();
    assert!(at("cni") < at("control-plane-endpoint"), "{ids:?}");
    assert!(
        at("control-plane-endpoint") < at("join-control-plane/cp-2"),
        "{ids:?}"
    );
    let fix = step(&v, "control-plane-endpoint");
    let commands = fix["commands"].to_string();
    for c in [
        "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get configmap kubeadm-config -o yaml | sed -E '/^    controlPlaneEndpoint:/d; s/^    controllerManager:/    controlPlaneEndpoint: lab-api.hatui.local:6443\\\\n    controllerManager:/' | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -",
        "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-public get configmap cluster-info -o yaml | sed -E 's#^( +server: ).*#\\\\1https://lab-api.hatui.local:6443#' | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -",
        "mv /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key /etc/kubernetes/apiserver-cert-without-endpoint/ && kubeadm init phase certs apiserver --control-plane-endpoint lab-api.hatui.local:6443 --apiserver-advertise-address 10.0.0.11 --service-cidr 10.96.0.0/12",
        "ps --name kube-apiserver -q | xargs -r crictl",
    ] {
        assert!(commands.contains(c), "{c}\nin {commands}");
    }
    let out = fix["output_tail"].to_string();
    assert!(
        out.contains("configmap/kubeadm-config configured")
            && out.contains("configmap/cluster-info configured")
            && out.contains("[certs] apiserver serving cert is signed for DNS names [cp-1 kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local lab-api.hatui.local]"),
        "{out}"
    );
    let notes = fix["notes"].to_string();
    assert!(notes.contains("without controlPlaneEndpoint"), "{notes}");
    assert!(
        v["status"]["endpoint"]["warning"].is_null(),
        "no endpoint problem left: {}",
        v["status"]["endpoint"]
    );
}

/// Truth pass 2, point 5: the endpoint fix covers kube-proxy too; until it runs, the lab
/// says kube-proxy talks to the first master directly.
#[test]
fn the_endpoint_fix_points_kube_proxy_at_the_endpoint_and_the_lab_shows_it_until_then() {
    let plan = lab_plan(3, 1).unwrap();
    let cfg = LabConfig::new(3, 1, 5, LabConfig::default().start);
    let mut ex = LabExecutor::new(cfg);
    Scenario::NoControlPlaneEndpoint.set_up(&mut ex, &plan);
    assert_eq!(ex.lab().kube_proxy_server(), Some("10.0.0.11:6443"));
    let mut engine = Engine::new(plan, ex.cluster());
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
    assert_eq!(
        ex.lab().kube_proxy_server(),
        Some("lab-api.hatui.local:6443")
    );
    let said: Vec<&str> = ex
        .cluster()
        .timeline
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    let before = said
        .iter()
        .position(|t| t.contains("kube-proxy on every node talks to 10.0.0.11:6443 (cp-1)"));
    let after = said.iter().position(|t| {
        t.contains("kube-proxy restarted on every node with lab-api.hatui.local:6443")
    });
    assert!(before.is_some() && after.is_some(), "{said:#?}");
    let fix = engine
        .reports()
        .iter()
        .find(|r| r.id == "control-plane-endpoint")
        .expect("the fix ran");
    let commands = fix.commands.join("\n");
    assert!(
        commands.contains("-n kube-system get configmap kube-proxy -o yaml | sed -E 's#^( +server: ).*#\\1https://lab-api.hatui.local:6443#'")
            && commands.contains("rollout restart daemonset kube-proxy"),
        "{commands}"
    );
    let out = fix.output.join("\n");
    assert!(out.contains("configmap/kube-proxy configured"), "{out}");
    assert!(out.contains("daemonset.apps/kube-proxy restarted"), "{out}");
}
