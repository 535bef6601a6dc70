//! The README is the front door and docs/ holds the rest: the keys exactly as the help
//! overlay shows them, the test command CI runs, every link resolving inside the
//! repository, and the facts the pages document checked against the program.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use hatui::keys::BINDINGS;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// README.md and every page of docs/, as repository paths.
fn pages() -> Vec<String> {
    let mut out = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ directory")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

/// Every `](target)` of a Markdown text, outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// GitHub's anchor of a heading: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// `path` joined to `dir` without leaving the repository; `None` when it would.
fn inside(dir: &Path, target: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for c in Path::new(target).components() {
        match c {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

#[test]
fn readme_lists_every_key_binding() {
    let readme = read("README.md");
    let missing: Vec<String> = BINDINGS
        .iter()
        .map(|b| format!("| `{}` | {} |", b.keys_label(), b.help))
        .filter(|row| !readme.contains(row.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README key table lacks:\n{}",
        missing.join("\n")
    );
}

/// Strict: every link of the README and docs/ resolves to a file of the repository (and an
/// anchor to a heading of it), or is an upstream URL. Pages written elsewhere and merged
/// later (docs/replace.md ...) fail this until they are there.
#[test]
fn every_link_resolves_inside_the_repository() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = read(&page);
        let dir = Path::new(&page).parent().unwrap().to_path_buf();
        for link in links(&text) {
            if link.starts_with("https://") || link.starts_with("http://") {
                continue;
            }
            let (file, frag) = link.split_once('#').unwrap_or((&link, ""));
            let Some(target) = (if file.is_empty() {
                Some(PathBuf::from(&page))
            } else {
                inside(&dir, file)
            }) else {
                broken.push(format!("{page}: {link} leaves the repository"));
                continue;
            };
            let path = root().join(&target);
            if !path.exists() {
                broken.push(format!("{page}: {link}: no {}", target.display()));
                continue;
            }
            let is_md = target.extension().is_some_and(|e| e == "md");
            if !frag.is_empty() && is_md {
                let there = std::fs::read_to_string(&path).unwrap();
                if !anchors(&there).contains(frag) {
                    broken.push(format!("{page}: {link}: no heading #{frag}"));
                }
            }
        }
        assert!(
            !text.contains("shared/docs"),
            "{page} points outside the repository"
        );
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Each page of docs/ is linked from the docs index and from the README.
#[test]
fn every_page_is_linked_from_the_index_and_the_readme() {
    let index = read("docs/README.md");
    let readme = read("README.md");
    for page in pages().into_iter().filter(|p| p.starts_with("docs/")) {
        let name = page.trim_start_matches("docs/");
        if name == "README.md" {
            assert!(
                readme.contains("](docs/README.md)"),
                "README does not link docs/"
            );
            continue;
        }
        assert!(
            index.contains(&format!("]({name})")),
            "docs/README.md lacks {name}"
        );
        assert!(
            readme.contains(&format!("](docs/{name})")),
            "README lacks docs/{name}"
        );
    }
}

/// The front door: the picture first, the two commands (the test command exactly as CI
/// runs it), the first build, the three ways in with an example each, the keys, links.
#[test]
fn the_readme_is_the_front_door() {
    let readme = read("README.md");
    let first_section = readme.find("\n## ").unwrap();
    assert!(
        readme[..first_section].contains("](screenshots/"),
        "no screenshot before the first section"
    );
    let ci = read(".ci/run");
    let command = ci
        .lines()
        .rfind(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap()
        .trim();
    assert_eq!(
        command, "bash tests/run.sh",
        ".ci/run changed: update the README"
    );
    assert!(
        readme.contains(&format!("```sh\n{command}\n```")),
        "README lacks CI's test command {command:?}"
    );
    assert!(readme.contains("```sh\ncargo run --release -- lab\n```"));
    for section in [
        "## Two commands",
        "## First build",
        "## Three ways to use it",
        "## Keys",
        "## Development",
        "## Documentation",
    ] {
        assert!(readme.contains(&format!("\n{section}\n")), "no {section}");
    }
    for example in [
        "hatui lab",
        "hatui lab --bare",
        "hatui drill --lab --fault power --yes",
    ] {
        assert!(
            readme.contains(&format!("\n{example}")),
            "no example {example}"
        );
    }
    let lines = readme.lines().count();
    assert!(
        lines < 200,
        "the README is {lines} lines: move detail to docs/"
    );
}

/// docs/status.md documents every field `status --json` prints, and the exit code of each
/// health as the program gives it.
#[test]
fn the_status_page_documents_the_json_and_the_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(["status", "--lab", "--json", "--seed", "7"])
        .args(["--fault", "power:cp-2", "--advance", "3m"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys = BTreeSet::new();
    fn walk(v: &serde_json::Value, keys: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, child) in m {
                    keys.insert(k.clone());
                    walk(child, keys);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| walk(c, keys)),
            _ => {}
        }
    }
    walk(&v, &mut keys);
    let page = read("docs/status.md");
    let missing: Vec<&String> = keys.iter().filter(|k| !page.contains(k.as_str())).collect();
    assert!(missing.is_empty(), "docs/status.md lacks {missing:?}");
    use hatui::status::Health;
    for h in [
        Health::Ok,
        Health::Degraded,
        Health::Critical,
        Health::Unknown,
    ] {
        let row = format!(
            "| `{}` | {} | {} |",
            h.name(),
            h.exit_code(),
            h.plugin_state()
        );
        assert!(page.contains(&row), "docs/status.md lacks {row}");
    }
}

/// docs/command-line.md names every subcommand the program has.
#[test]
fn the_command_line_page_names_every_subcommand() {
    let page = read("docs/command-line.md");
    let cmd = hatui::cli::help::command();
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        assert!(
            page.contains(&format!("hatui {name}")),
            "docs/command-line.md lacks hatui {name}"
        );
    }
}
