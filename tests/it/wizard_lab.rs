//! The wizard on the bare lab with the real binary (`hatui wizard --lab --yes --json`):
//! the whole plan for 1+0, 3+2, 5+3 and 2+1, the scenarios that need a refresh, and no
//! secret anywhere in what it prints. The scenarios with a fix: `wizard_lab_scenarios.rs`;
//! the engine and the lab's kubeadm on their own: `wizard_lab_engine.rs`.

use crate::wizard_json;

use wizard_json::{assert_built, assert_no_secret, hatui, run_json, step_ids};

#[test]
fn the_whole_plan_builds_every_shape_and_verify_passes() {
    for (cps, workers) in [(1, 0), (3, 2), (5, 3), (2, 1)] {
        let (v, text) = run_json(cps, workers, None);
        assert_built(&v, cps, workers);
        assert_no_secret(&text);
        let ids = step_ids(&v);
        // preflight, load-balancer, init, cni, the joins, cleanup, verify.
        assert_eq!(ids.len(), 6 + (cps - 1) + workers, "{ids:?}");
        let warnings = v["warnings"].to_string();
        assert_eq!(warnings.contains("an even number"), cps == 2, "{warnings}");
    }
}

#[test]
fn commands_and_output_hide_the_secrets_and_the_join_tail_says_it_joined() {
    let (v, _) = run_json(3, 1, None);
    let join = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "join-control-plane/cp-2")
        .unwrap();
    let cmd = join["commands"][0].as_str().unwrap();
    assert!(cmd.contains("--certificate-key <hidden>"), "{cmd}");
    assert!(
        cmd.contains(".<hidden> --discovery-token-ca-cert-hash sha256:"),
        "{cmd}"
    );
    let tail = join["output_tail"].to_string();
    assert!(
        tail.contains(
            "This node has joined the cluster and a new control plane instance was created"
        ),
        "{tail}"
    );
}

#[test]
fn each_step_is_printed_as_it_finishes_and_the_exit_code_says_verified() {
    let out = hatui(&[
        "wizard",
        "--lab",
        "--control-planes",
        "3",
        "--workers",
        "2",
        "--yes",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for id in [
        "preflight",
        "init (cp-1)",
        "join-control-plane/cp-3",
        "join-worker/worker-2",
        "verify",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with("ok") && l.contains(id)),
            "{id}:\n{text}"
        );
    }
    assert!(text.contains("verified: lab time"), "{text}");
    assert_no_secret(&text);
}

#[test]
fn an_expired_certificate_key_or_token_is_refreshed_before_the_joins() {
    let (v, text) = run_json(3, 2, Some("expired-certificate-key"));
    assert_built(&v, 3, 2);
    assert_no_secret(&text);
    let ids = step_ids(&v);
    let at = |id: &str| {
        ids.iter()
            .position(|i| *i == id)
            .unwrap_or_else(|| panic!("{id} in {ids:?}"))
    };
    assert!(at("upload-certs/cp-2") < at("join-control-plane/cp-2"));
    assert!(
        !ids.iter().any(|i| i.starts_with("token-create")),
        "{ids:?}"
    );
    let (v, _) = run_json(3, 2, Some("expired-token"));
    assert_built(&v, 3, 2);
    let ids = step_ids(&v);
    assert!(
        ids.contains(&"upload-certs/cp-2") && ids.contains(&"token-create/cp-2"),
        "{ids:?}"
    );
}
