//! Hides secrets in text a command printed: bootstrap tokens read `abcdef.<hidden>`, the
//! certificate key `<hidden>`. The CA hash (`sha256:<hex>`) is public and stays.

use super::secret::{BootstrapToken, CertificateKey};

/// `line` with every token secret and certificate key hidden.
pub fn scrub(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(rest.len());
        let word = rest[..len].trim_end_matches('.');
        let tail = &rest[word.len()..len];
        if let Some(t) = BootstrapToken::parse(word) {
            out.push_str(&t.to_string());
        } else if CertificateKey::parse(word).is_some() && !out.ends_with("sha256:") {
            out.push_str("<hidden>");
        } else {
            out.push_str(word);
        }
        out.push_str(tail);
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn tokens_and_keys_are_hidden_and_the_ca_hash_stays() {
        let key = "85612b4f52f6fac9d97daa85fc30e44e14fb5773f38297867aac3df14aff9cec";
        let hash = format!(
            "sha256:{}",
            "4873d6a68f2b9fc4eaae62765fea81db2e14dd4ed5d8504ccf37b590dcc3c413"
        );
        let line = format!(
            "kubeadm join x:6443 --token 9a8x2k.e4c82f167cb1adb5 --discovery-token-ca-cert-hash {hash} --certificate-key {key}"
        );
        assert_eq!(
            scrub(&line),
            format!(
                "kubeadm join x:6443 --token 9a8x2k.<hidden> --discovery-token-ca-cert-hash {hash} --certificate-key <hidden>"
            )
        );
        assert_eq!(scrub(key), "<hidden>");
        assert_eq!(
            scrub("[bootstrap-token] Using token: 9a8x2k.e4c82f167cb1adb5."),
            "[bootstrap-token] Using token: 9a8x2k.<hidden>."
        );
        assert_eq!(scrub("\t--control-plane é ok"), "\t--control-plane é ok");
    }
}
