//! The shapes of single values: endpoints, host names, CIDRs, versions.

use std::net::IpAddr;

use super::Endpoint;

pub(super) fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    let example = "expected HOST:PORT, e.g. \"k8s-api.example.internal:6443\"";
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| format!("{example}, got \"{s}\""))?;
        (h, p)
    } else {
        s.rsplit_once(':')
            .ok_or_else(|| format!("{example}, got \"{s}\" (no port)"))?
    };
    if s.contains("://") {
        return Err(format!("{example}, without a scheme, got \"{s}\""));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("port \"{port}\" is not a number from 1 to 65535"))?;
    if !is_host(host) {
        return Err(format!("{example}, got \"{s}\""));
    }
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

pub(super) fn is_host(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
        || (!s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            }))
}

pub(super) fn same_host(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// A Node name must be a DNS-1123 subdomain; hatui asks for the simpler label.
pub(super) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(super) fn dns_message(s: &str) -> String {
    format!(
        "\"{s}\" is not a valid name: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit"
    )
}

pub(super) fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// Two valid CIDRs share an address.
pub(super) fn overlaps(a: &str, b: &str) -> bool {
    let (Some((IpAddr::V4(x), lx)), Some((IpAddr::V4(y), ly))) = (parse_cidr(a), parse_cidr(b))
    else {
        return false;
    };
    let shorter = lx.min(ly);
    let mask = if shorter == 0 {
        0
    } else {
        u32::MAX << (32 - shorter)
    };
    (u32::from(x) & mask) == (u32::from(y) & mask)
}

pub(super) fn normalise_version(s: &str) -> Option<String> {
    let bare = s.strip_prefix('v').unwrap_or(s);
    let parts: Vec<&str> = bare.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| format!("v{bare}"))
}

/// A path or URL that a remote shell reads as one plain word: the plan writes it into
/// commands unquoted.
pub(super) fn is_one_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@=%+,".contains(&b))
}
