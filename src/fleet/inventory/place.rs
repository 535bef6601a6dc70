//! Where in the file an offset is: its line, and the dotted key of that line.

use std::collections::HashMap;

/// The dotted key whose line holds `offset` (`hosts[1].port`), from the table headers
/// above it: toml's errors say what is wrong and where, not which field.
pub(super) fn field_at(text: &str, offset: usize) -> String {
    let line_no = line_of(text, offset);
    let mut table = String::new();
    let mut arrays: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if i + 1 == line_no {
            let Some((key, _)) = t.split_once('=') else {
                return table;
            };
            let key = key.trim().trim_matches('"');
            if key.is_empty() || key.starts_with('#') {
                return table;
            }
            return if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
        }
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            let name = name.0.trim().to_string();
            let n = arrays.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split_once(']')) {
            table = name.0.trim().to_string();
        }
    }
    table
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
