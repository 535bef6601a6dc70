//! Client errors in the operator's words: which HTTP status and what was refused, or what
//! failed on the way (connection refused, TLS, timeout), never a Rust debug dump.

use kube::runtime::watcher;

use crate::cause::transport;

/// What a watcher reads, for "cannot list secrets in kube-system".
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    pub plural: &'static str,
    /// `None` for cluster-scoped resources.
    pub namespace: Option<&'static str>,
}

impl Resource {
    fn describe(self) -> String {
        match self.namespace {
            Some(ns) => format!("{} in {ns}", self.plural),
            None => format!("{} (cluster-wide)", self.plural),
        }
    }
}

pub fn watch_error(e: &watcher::Error, what: Resource) -> String {
    match e {
        watcher::Error::InitialListFailed(e) => kube_error(e, "list", what),
        watcher::Error::WatchStartFailed(e) => kube_error(e, "watch", what),
        watcher::Error::WatchFailed(e) => kube_error(e, "watch", what),
        watcher::Error::WatchError(status) => {
            api_status(status.code, &status.reason, &status.message, "watch", what)
        }
        watcher::Error::NoResourceVersion => {
            format!("{} answered without a resourceVersion", what.describe())
        }
    }
}

pub fn kube_error(e: &kube::Error, verb: &str, what: Resource) -> String {
    match e {
        kube::Error::Api(s) => api_status(s.code, &s.reason, &s.message, verb, what),
        kube::Error::SerdeError(e) => format!("cannot read the {} answer: {e}", what.plural),
        other => transport(other),
    }
}

fn api_status(code: u16, reason: &str, message: &str, verb: &str, what: Resource) -> String {
    match code {
        401 => "401 Unauthorized: the kubeconfig's credentials were rejected".into(),
        403 => format!("403 Forbidden: cannot {verb} {}", what.describe()),
        410 => "410 Gone: the watch fell too far behind; listing again".into(),
        _ => {
            let reason = if reason.is_empty() { "error" } else { reason };
            let message = message.lines().next().unwrap_or_default();
            format!("{code} {reason}: {message}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS: Resource = Resource {
        plural: "secrets",
        namespace: Some("kube-system"),
    };

    fn api(code: u16, reason: &str) -> kube::Error {
        let s = kube::core::Status::failure(
            "secrets is forbidden: User \"viewer\" cannot list",
            reason,
        )
        .with_code(code);
        kube::Error::Api(s.boxed())
    }

    #[test]
    fn http_statuses_say_what_was_refused() {
        let e = watcher::Error::InitialListFailed(api(403, "Forbidden"));
        assert_eq!(
            watch_error(&e, SECRETS),
            "403 Forbidden: cannot list secrets in kube-system"
        );
        let e = watcher::Error::WatchStartFailed(api(401, "Unauthorized"));
        assert!(watch_error(&e, SECRETS).starts_with("401 Unauthorized"));
        let e = api(500, "InternalError");
        assert!(kube_error(&e, "list", SECRETS).starts_with("500 InternalError: secrets is"));
    }

    #[test]
    fn transport_errors_find_the_root_cause() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = kube::Error::Service(Box::new(refused));
        assert_eq!(kube_error(&e, "list", SECRETS), "connection refused");
    }
}
