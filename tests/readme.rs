//! The README documents every key binding exactly as the help overlay shows it.

use hatui::keys::BINDINGS;

#[test]
fn readme_lists_every_key_binding() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
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
