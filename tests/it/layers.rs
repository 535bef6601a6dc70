//! The workspace's crates are the layers (docs/architecture.md): each depends only on those
//! below it, and the model's and the lab's builds, tests included, link none of the big
//! client crates. Read from `cargo metadata`, so a dependency added the wrong way fails here
//! with the crate's name (the compiler then holds the imports).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each crate of the workspace and the crates of hatui it may depend on.
const MAY_USE: [(&str, &[&str]); 7] = [
    ("hatui-model", &[]),
    ("hatui-lab", &["hatui-model"]),
    ("hatui-fleet", &["hatui-model"]),
    (
        "hatui-sources",
        &["hatui-model", "hatui-lab", "hatui-fleet"],
    ),
    (
        "hatui-workflows",
        &["hatui-model", "hatui-lab", "hatui-fleet", "hatui-sources"],
    ),
    (
        "hatui-testkit",
        &["hatui-model", "hatui-fleet", "hatui-sources"],
    ),
    (
        "hatui",
        &[
            "hatui-model",
            "hatui-lab",
            "hatui-fleet",
            "hatui-sources",
            "hatui-workflows",
        ],
    ),
];

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Package name by id, and each package's dependencies (by id) of the given kinds
/// (`None` is a normal dependency).
fn graph(meta: &Value, kinds: &[Option<&str>]) -> (BTreeMap<String, String>, Graph) {
    let names = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = p["id"].as_str().unwrap().to_string();
            (id, p["name"].as_str().unwrap().to_string())
        })
        .collect();
    let mut deps = Graph::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap().to_string();
        let of_kind = node["deps"].as_array().unwrap().iter().filter(|d| {
            d["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| kinds.contains(&k["kind"].as_str()))
        });
        let to = of_kind.map(|d| d["pkg"].as_str().unwrap().to_string());
        deps.insert(id, to.collect());
    }
    (names, deps)
}

type Graph = BTreeMap<String, BTreeSet<String>>;

fn id_of(names: &BTreeMap<String, String>, name: &str) -> String {
    names
        .iter()
        .find(|(_, n)| n.as_str() == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("{name} is not in the workspace"))
}

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let meta = metadata();
    let (names, deps) = graph(&meta, &[None, Some("build")]);
    for (krate, allowed) in MAY_USE {
        let used: BTreeSet<&str> = deps[&id_of(&names, krate)]
            .iter()
            .map(|id| names[id].as_str())
            .filter(|n| n.starts_with("hatui"))
            .collect();
        let wrong: Vec<&&str> = used.iter().filter(|n| !allowed.contains(n)).collect();
        assert!(
            wrong.is_empty(),
            "{krate} depends on {wrong:?}: it may use only {allowed:?}"
        );
    }
    let members = meta["workspace_members"].as_array().unwrap().len();
    assert_eq!(members, MAY_USE.len(), "a new crate needs its place above");
}

#[test]
fn the_model_and_the_lab_link_neither_kube_nor_etcd_client_nor_russh_even_in_their_tests() {
    let meta = metadata();
    let (names, deps) = graph(&meta, &[None, Some("build"), Some("dev")]);
    let (_, normal) = graph(&meta, &[None, Some("build")]);
    for krate in ["hatui-model", "hatui-lab"] {
        // The crate's own dev-dependencies, then everything they and its dependencies need.
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = deps[&id_of(&names, krate)].iter().cloned().collect();
        while let Some(id) = todo.pop() {
            if seen.insert(id.clone()) {
                todo.extend(normal[&id].iter().cloned());
            }
        }
        let linked: BTreeSet<&str> = seen.iter().map(|id| names[id].as_str()).collect();
        for heavy in ["kube", "kube-client", "etcd-client", "russh", "k8s-openapi"] {
            assert!(!linked.contains(heavy), "{krate} links {heavy}");
        }
        assert!(
            linked.contains("jiff"),
            "the walk saw the crate's dependencies"
        );
    }
}
