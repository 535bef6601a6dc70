//! Query strings and the label and field selectors the test API server understands.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Default)]
pub struct Filter {
    /// `key=value`, or `key` alone: the label exists (any value).
    labels: Vec<(String, Option<String>)>,
    fields: Vec<(String, String)>,
}

impl Filter {
    pub fn from_query(q: &BTreeMap<String, String>) -> Self {
        let pairs = |key: &str| -> Vec<(String, String)> {
            q.get(key)
                .map(|s| {
                    s.split(',')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let labels = q
            .get("labelSelector")
            .map(|s| {
                s.split(',')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (kv.to_string(), None),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            labels,
            fields: pairs("fieldSelector"),
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels_ok =
            self.labels
                .iter()
                .all(|(k, v)| match (obj["metadata"]["labels"][k].as_str(), v) {
                    (Some(got), Some(want)) => got == want,
                    (got, None) => got.is_some(),
                    (None, Some(_)) => false,
                });
        let fields_ok = self.fields.iter().all(|(k, v)| {
            let got = match k.as_str() {
                "metadata.name" => &obj["metadata"]["name"],
                "metadata.namespace" => &obj["metadata"]["namespace"],
                "type" => &obj["type"],
                other => panic!("field selector {other} is not supported by the API server"),
            };
            got.as_str() == Some(v)
        });
        labels_ok && fields_ok
    }
}

/// The last value of each key.
pub fn parse_query(q: &str) -> BTreeMap<String, String> {
    parse_pairs(q).into_iter().collect()
}

/// Every pair in order: exec repeats `command` once per word.
pub fn parse_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
