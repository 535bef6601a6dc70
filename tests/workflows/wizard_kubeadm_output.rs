//! The wizard's parsers on kubeadm's real output texts (tests/fixtures/kubeadm/README.md
//! says where each comes from), and on arbitrary text: an error, never a panic.

use hatui_workflows::wizard::kubeadm_output::{
    ParseError, Wording, parse_init, parse_token_create, parse_upload_certs,
};
use proptest::prelude::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/kubeadm/",
            $name
        ))
    };
}

const ENDPOINT: &str = "lab-api.hatui.local:6443";
const TOKEN: &str = "9a8x2k.e4c82f167cb1adb5";
const HASH: &str = "sha256:4873d6a68f2b9fc4eaae62765fea81db2e14dd4ed5d8504ccf37b590dcc3c413";
const KEY: &str = "85612b4f52f6fac9d97daa85fc30e44e14fb5773f38297867aac3df14aff9cec";
const NEW_TOKEN: &str = "p4l7qd.5f3030a5686a4bdd";
const NEW_KEY: &str = "357b5068b3854cc2b8c56dbf96db6492a2c69568d45b6c035aca70bf42944e90";

/// Every init output with --control-plane-endpoint and --upload-certs, and its wording.
const WITH_ENDPOINT: [(&str, &str, Wording); 4] = [
    (
        "1.30, tabs",
        fixture!("init-v1.30-tabs.txt"),
        Wording::UpTo1_31,
    ),
    (
        "1.29, a terminal copy: 8 spaces, no trailing space",
        fixture!("init-v1.29-copied-spaces.txt"),
        Wording::UpTo1_31,
    ),
    (
        "1.32, tabs",
        fixture!("init-v1.32-tabs.txt"),
        Wording::From1_32,
    ),
    (
        "1.32, 4 spaces and CRLF",
        fixture!("init-v1.32-four-spaces-crlf.txt"),
        Wording::From1_32,
    ),
];

#[test]
fn init_output_gives_both_joins_in_every_wording_and_whitespace() {
    for (what, text, wording) in WITH_ENDPOINT {
        let out = parse_init(text).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(out.wording, wording, "{what}");
        let cp = out.control_plane_join.as_ref().expect("control-plane join");
        assert_eq!(cp.endpoint, ENDPOINT, "{what}");
        assert_eq!(cp.token.expose(), TOKEN, "{what}");
        assert_eq!(cp.ca_cert_hashes, [HASH], "{what}");
        assert!(cp.control_plane, "{what}");
        assert_eq!(
            cp.certificate_key.as_ref().map(|k| k.expose()),
            Some(KEY),
            "{what}"
        );
        let w = &out.worker_join;
        assert_eq!(
            (w.endpoint.as_str(), w.token.expose().as_str()),
            (ENDPOINT, TOKEN),
            "{what}"
        );
        assert_eq!(w.ca_cert_hashes, [HASH], "{what}");
        assert!(!w.control_plane && w.certificate_key.is_none(), "{what}");
        assert_eq!(out.token().id, "9a8x2k");
        assert_eq!(out.ca_cert_hash(), HASH);
        assert_eq!(out.certificate_key().map(|k| k.expose()), Some(KEY));
    }
}

#[test]
fn the_two_wordings_are_told_apart_by_their_sentence() {
    let old = fixture!("init-v1.30-tabs.txt");
    assert!(old.contains("You can now join any number of the control-plane node running the following command on each as root:"));
    let new = fixture!("init-v1.32-tabs.txt");
    assert!(new.contains("You can now join any number of control-plane nodes running the following command on each as root:"));
    // Real output: tab-indented continuations and a worker line ending in a space.
    assert!(new.contains(&format!("\n\t--discovery-token-ca-cert-hash {HASH} \n")));
    let unknown = new.replace("control-plane nodes running", "control planes, running");
    assert_eq!(parse_init(&unknown).unwrap().wording, Wording::Unknown);
}

#[test]
fn init_without_an_endpoint_has_no_control_plane_join() {
    let out = parse_init(fixture!("init-v1.31-no-endpoint.txt")).unwrap();
    assert_eq!(out.wording, Wording::NoControlPlaneJoin);
    assert!(out.control_plane_join.is_none());
    assert_eq!(out.worker_join.endpoint, "10.0.0.11:6443");
    assert_eq!(out.certificate_key(), None);
}

#[test]
fn upload_certs_gives_the_key_on_the_next_line() {
    let key = parse_upload_certs(fixture!("upload-certs.txt")).unwrap();
    assert_eq!(key.expose(), NEW_KEY);
    // Inside init's output too, where it must agree with the join's key.
    assert_eq!(
        parse_upload_certs(fixture!("init-v1.32-tabs.txt"))
            .unwrap()
            .expose(),
        KEY
    );
    assert_eq!(
        parse_upload_certs("[upload-certs] Skipping phase. Please see --upload-certs"),
        Err(ParseError::NoCertificateKey)
    );
    assert_eq!(
        parse_upload_certs("[upload-certs] Using certificate key:\n<value withheld>\n"),
        Err(ParseError::Withheld("certificate key"))
    );
}

#[test]
fn token_create_prints_one_line_worker_or_control_plane() {
    let w = parse_token_create(fixture!("token-create.txt")).unwrap();
    assert_eq!(
        (w.endpoint.as_str(), w.token.expose().as_str()),
        (ENDPOINT, NEW_TOKEN)
    );
    assert_eq!(w.ca_cert_hashes, [HASH]);
    assert!(!w.control_plane);
    let cp = parse_token_create(fixture!("token-create-certificate-key.txt")).unwrap();
    assert!(cp.control_plane);
    assert_eq!(
        cp.certificate_key.as_ref().map(|k| k.expose()),
        Some(NEW_KEY)
    );
    assert_eq!(
        cp.exposed_args().join(" "),
        fixture!("token-create-certificate-key.txt").trim()
    );
}

#[test]
fn secrets_never_show_in_debug_or_display() {
    for (what, text, _) in WITH_ENDPOINT {
        let out = parse_init(text).unwrap();
        let shown = format!(
            "{out:?} {} {}",
            out.worker_join,
            out.control_plane_join.as_ref().unwrap()
        );
        assert!(!shown.contains("e4c82f167cb1adb5"), "{what}: {shown}");
        assert!(!shown.contains(KEY), "{what}: {shown}");
        assert!(shown.contains("9a8x2k.<hidden>"), "{what}: {shown}");
    }
    let cp = parse_token_create(fixture!("token-create-certificate-key.txt")).unwrap();
    assert_eq!(
        cp.to_string(),
        format!(
            "kubeadm join {ENDPOINT} --token p4l7qd.<hidden> --discovery-token-ca-cert-hash {HASH} --control-plane --certificate-key <hidden>"
        )
    );
}

#[test]
fn broken_outputs_say_what_is_wrong_without_the_secret() {
    assert_eq!(
        parse_init(
            "[preflight] Some fatal errors occurred:\n\t[ERROR Swap]: running with swap on is not supported. Please disable swap\n"
        ),
        Err(ParseError::NoJoinCommand)
    );
    let bad_key = fixture!("init-v1.32-tabs.txt").replace(
        &format!("--certificate-key {KEY}"),
        "--certificate-key 1234",
    );
    let e = parse_init(&bad_key).unwrap_err().to_string();
    assert_eq!(
        e,
        "the `kubeadm join` command: --certificate-key is not 64 hex characters"
    );
    let other_key = fixture!("init-v1.32-tabs.txt").replacen(
        &format!("\n{KEY}\n"),
        &format!("\n{NEW_KEY}\n"),
        1,
    );
    assert!(matches!(
        parse_init(&other_key),
        Err(ParseError::Inconsistent(_))
    ));
    let withheld = format!(
        "kubeadm join {ENDPOINT} --token <value withheld> --discovery-token-ca-cert-hash {HASH} \n"
    );
    assert_eq!(
        parse_token_create(&withheld),
        Err(ParseError::Withheld("token"))
    );
    let bad_token = format!(
        "kubeadm join {ENDPOINT} --token {}XYZ --discovery-token-ca-cert-hash {HASH}",
        TOKEN
    );
    let e = parse_token_create(&bad_token).unwrap_err().to_string();
    assert!(!e.contains("e4c82f167cb1adb5"), "{e}");
    // A garbled output with the key where the hash belongs: the key is not echoed.
    let swapped =
        format!("kubeadm join {ENDPOINT} --token {TOKEN} --discovery-token-ca-cert-hash {KEY}");
    let e = parse_token_create(&swapped).unwrap_err().to_string();
    assert!(!e.contains(KEY), "{e}");
    let no_hash = format!("kubeadm join {ENDPOINT} --token {TOKEN}");
    assert_eq!(
        parse_token_create(&no_hash).unwrap_err().to_string(),
        "the `kubeadm join` command: no --discovery-token-ca-cert-hash"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_is_an_error_not_a_panic(text in "\\PC{0,300}") {
        let _ = parse_init(&text);
        let _ = parse_upload_certs(&text);
        let _ = parse_token_create(&text);
    }

    #[test]
    fn join_like_text_is_an_error_not_a_panic(words in prop::collection::vec(
        prop_oneof![
            Just("kubeadm join".to_string()), Just("--token".to_string()),
            Just("--discovery-token-ca-cert-hash".to_string()), Just("--control-plane".to_string()),
            Just("--certificate-key".to_string()), Just("\\\n\t".to_string()), Just("\n".to_string()),
            Just("[upload-certs] Using certificate key:\n".to_string()), Just(TOKEN.to_string()),
            Just(HASH.to_string()), Just(KEY.to_string()), Just(ENDPOINT.to_string()), "\\PC{0,8}",
        ], 0..24)) {
        let text = words.join(" ");
        for r in [parse_init(&text).map(|_| ()), parse_token_create(&text).map(|_| ()), parse_upload_certs(&text).map(|_| ())] {
            if let Err(e) = r {
                // The error may name what is wrong, never the secrets.
                let s = e.to_string();
                prop_assert!(!s.contains("e4c82f167cb1adb5") && !s.contains(KEY), "{}", s);
            }
        }
    }

    #[test]
    fn any_cut_of_a_real_output_is_parsed_or_refused(cut in 0usize..6000) {
        let text = fixture!("init-v1.32-tabs.txt");
        let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let _ = parse_init(&text[..at]);
    }
}
