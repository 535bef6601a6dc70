//! etcd as `etcdctl -w json` prints it where etcd runs (the wizard runs it in a master's
//! etcd pod over SSH): `member list` and `endpoint status --cluster`, merged into the same
//! [`EtcdStatus`] the pollers send.

use std::time::Duration;

use jiff::Timestamp;

use super::exec::{parse_members, parse_statuses};
use super::merge::Merger;
use super::probe::ListReport;
use hatui_model::EtcdStatus;

/// `members`: `member list -w json`; `statuses`: `endpoint status --cluster -w json`,
/// which leaves out the members that did not answer (and says so on stderr).
pub fn status(
    members: &[u8],
    statuses: &[u8],
    via: Option<String>,
    now: Timestamp,
) -> Result<EtcdStatus, String> {
    let members = parse_members(members)?;
    let statuses = parse_statuses(statuses).unwrap_or_default();
    let urls: Vec<String> = statuses.iter().map(|(url, _)| url.clone()).collect();
    let mut merger = Merger::new(&urls, Duration::from_secs(60), via);
    for (i, (_, s)) in statuses.into_iter().enumerate() {
        merger.on_status(i, Ok(s), now);
    }
    merger.on_list(ListReport {
        members,
        alarms: None,
    });
    let silent: Vec<String> = merger
        .unpolled()
        .filter_map(|m| m.client_urls.first().cloned())
        .collect();
    for url in silent {
        let i = merger.add_endpoint(url);
        merger.on_status(i, Err("no answer to etcdctl endpoint status".into()), now);
    }
    Ok(merger.status(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_that_answer_are_reachable_and_the_others_say_why_not() {
        let members = r#"{"header":{"raft_term":3},"members":[{"ID":1,"name":"cp-1","peerURLs":["https://10.0.0.11:2380"],"clientURLs":["https://10.0.0.11:2379"]},{"ID":2,"name":"cp-2","peerURLs":["https://10.0.0.12:2380"],"clientURLs":["https://10.0.0.12:2379"],"isLearner":true},{"ID":3,"name":"cp-3","peerURLs":["https://10.0.0.13:2380"],"clientURLs":["https://10.0.0.13:2379"]}]}"#;
        let statuses = r#"[{"Endpoint":"https://10.0.0.11:2379","Status":{"header":{"member_id":1},"leader":1,"raftTerm":3,"version":"3.5.21"}},{"Endpoint":"https://10.0.0.12:2379","Status":{"header":{"member_id":2},"leader":1,"raftTerm":3,"isLearner":true}}]"#;
        let now = Timestamp::now();
        let s = status(members.as_bytes(), statuses.as_bytes(), None, now).unwrap();
        let by = |n: &str| s.members.iter().find(|m| m.name == n).unwrap();
        assert!(by("cp-1").reachable && by("cp-1").is_leader && !by("cp-1").is_learner);
        assert!(by("cp-2").reachable && by("cp-2").is_learner);
        assert!(!by("cp-3").reachable);
        assert_eq!(
            by("cp-3").error.as_deref(),
            Some("no answer to etcdctl endpoint status")
        );
        assert_eq!(s.leader, Some(1));
        // No status at all (etcdctl printed only errors): the list still stands.
        let s = status(members.as_bytes(), b"", None, now).unwrap();
        assert_eq!(s.members.iter().filter(|m| m.reachable).count(), 0);
        assert!(status(b"Error: context deadline exceeded", b"[]", None, now).is_err());
    }
}
