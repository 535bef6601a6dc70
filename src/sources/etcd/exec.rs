//! The last way in: `etcdctl` run inside each member's kubeadm static pod (`etcd-<node>`)
//! through the apiserver's exec, for when neither etcd's port nor SSH reaches the masters.
//! It needs a working apiserver (so quorum) and `pods/exec` rights, and every answer costs
//! an exec round trip, so it is polled slowly and labelled as such.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::probe::{ListReport, ListedMember, StatusReport};

/// Where kubeadm's etcd pod has its own member and the client certificate (the pod mounts
/// the host's `/etc/kubernetes/pki/etcd`).
const ETCDCTL: &[&str] = &[
    "etcdctl",
    "--endpoints=https://127.0.0.1:2379",
    "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
    "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
    "--dial-timeout=2s",
    "--command-timeout=2s",
    "--write-out=json",
];

/// One member's pod, asked with `etcdctl` through the apiserver.
pub struct PodProber {
    pods: Api<Pod>,
    pod: String,
    timeout: Duration,
}

impl PodProber {
    pub fn new(pods: Api<Pod>, pod: impl Into<String>, timeout: Duration) -> Self {
        Self {
            pods,
            pod: pod.into(),
            timeout,
        }
    }

    pub async fn status(&mut self) -> Result<StatusReport, String> {
        let out = self.etcdctl(&["endpoint", "status"]).await?;
        parse_status(&out).map_err(|e| format!("etcdctl in {}: {e}", self.pod))
    }

    pub async fn list(&mut self) -> Result<ListReport, String> {
        let members = self.etcdctl(&["member", "list"]).await?;
        let members =
            parse_members(&members).map_err(|e| format!("etcdctl in {}: {e}", self.pod))?;
        // Alarms go through raft: without quorum this fails while the list still answers.
        let alarms = match self.etcdctl(&["alarm", "list"]).await {
            Ok(out) => parse_alarms(&out).ok(),
            Err(_) => None,
        };
        Ok(ListReport { members, alarms })
    }

    /// stdout of a successful `etcdctl`, or what went wrong in words an operator can act on.
    async fn etcdctl(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        let command: Vec<&str> = ETCDCTL.iter().chain(args).copied().collect();
        let run = async {
            let params = AttachParams::default().container("etcd");
            let mut process = self
                .pods
                .exec(&self.pod, command, &params)
                .await
                .map_err(|e| explain_kube(&self.pod, &e))?;
            let (mut stdout, mut stderr) = (process.stdout(), process.stderr());
            let status = process.take_status();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let read_out = async {
                if let Some(s) = stdout.as_mut() {
                    let _ = s.read_to_end(&mut out).await;
                }
            };
            let read_err = async {
                if let Some(s) = stderr.as_mut() {
                    let _ = s.read_to_end(&mut err).await;
                }
            };
            tokio::join!(read_out, read_err);
            let status = match status {
                Some(s) => s.await,
                None => None,
            };
            let _ = process.join().await;
            match status {
                Some(s) if s.status.as_deref() != Some("Success") => {
                    Err(format!("etcdctl in {}: {}", self.pod, failure(&err, &s)))
                }
                _ => Ok(out),
            }
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "etcdctl in {}: no answer within {} s",
                self.pod,
                self.timeout.as_secs()
            )),
        }
    }
}

/// etcdctl's own last line says why (`context deadline exceeded`, ...); else the status.
fn failure(stderr: &[u8], status: &Status) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    match line {
        Some(l) => l.trim().trim_start_matches("Error: ").to_string(),
        None => status.message.clone().unwrap_or_else(|| "failed".into()),
    }
}

fn explain_kube(pod: &str, e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => {
            format!("exec in {pod} forbidden: needs `create` on pods/exec in kube-system")
        }
        kube::Error::Api(s) if s.code == 404 => format!("pod kube-system/{pod} not found"),
        kube::Error::Api(s) => format!("exec in {pod}: {} ({})", s.message, s.code),
        other => format!("exec in {pod}: {}", crate::cause::transport(other)),
    }
}

#[derive(Deserialize)]
struct EndpointStatus {
    #[serde(rename = "Endpoint", default)]
    endpoint: String,
    #[serde(rename = "Status")]
    status: RawStatus,
}

/// etcdctl prints the protobuf structs with Go's JSON: camelCase, zero values omitted.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawStatus {
    header: RawHeader,
    version: String,
    db_size: u64,
    leader: u64,
    raft_index: u64,
    raft_term: u64,
    raft_applied_index: u64,
    errors: Vec<String>,
    db_size_in_use: u64,
    is_learner: bool,
    db_size_quota: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawHeader {
    member_id: u64,
}

fn parse_status(out: &[u8]) -> Result<StatusReport, String> {
    let list = parse_statuses(out)?;
    let first = list.into_iter().next();
    Ok(first.ok_or("endpoint status printed no endpoint")?.1)
}

/// `etcdctl endpoint status -w json` (with `--cluster`: every member's): each endpoint
/// and what its member said.
pub(super) fn parse_statuses(out: &[u8]) -> Result<Vec<(String, StatusReport)>, String> {
    let list: Vec<EndpointStatus> = serde_json::from_slice(out).map_err(|e| e.to_string())?;
    Ok(list
        .into_iter()
        .map(|e| (e.endpoint, report(e.status)))
        .collect())
}

fn report(s: RawStatus) -> StatusReport {
    StatusReport {
        member_id: s.header.member_id,
        leader: s.leader,
        raft_term: s.raft_term,
        raft_index: s.raft_index,
        applied_index: s.raft_applied_index,
        db_size: s.db_size,
        db_size_in_use: s.db_size_in_use,
        db_quota: s.db_size_quota,
        version: s.version,
        errors: s.errors,
        is_learner: s.is_learner,
        // An exec round trip measures the apiserver and kubelet, not etcd.
        rtt: None,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMembers {
    members: Vec<RawMember>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMember {
    #[serde(rename = "ID")]
    id: u64,
    name: String,
    #[serde(rename = "peerURLs")]
    peer_urls: Vec<String>,
    #[serde(rename = "clientURLs")]
    client_urls: Vec<String>,
    #[serde(rename = "isLearner")]
    is_learner: bool,
}

pub(super) fn parse_members(out: &[u8]) -> Result<Vec<ListedMember>, String> {
    let raw: RawMembers = serde_json::from_slice(out).map_err(|e| e.to_string())?;
    Ok(raw
        .members
        .into_iter()
        .map(|m| ListedMember {
            id: m.id,
            name: m.name,
            peer_urls: m.peer_urls,
            client_urls: m.client_urls,
            is_learner: m.is_learner,
        })
        .collect())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAlarms {
    alarms: Vec<RawAlarm>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAlarm {
    #[serde(rename = "memberID")]
    member_id: u64,
    /// etcdserverpb.AlarmType: 1 NOSPACE, 2 CORRUPT.
    alarm: i32,
}

fn parse_alarms(out: &[u8]) -> Result<Vec<(u64, String)>, String> {
    let raw: RawAlarms = serde_json::from_slice(out).map_err(|e| e.to_string())?;
    Ok(raw
        .alarms
        .into_iter()
        .filter(|a| a.alarm != 0)
        .map(|a| {
            let name = match a.alarm {
                1 => "NOSPACE".to_string(),
                2 => "CORRUPT".to_string(),
                n => format!("ALARM {n}"),
            };
            (a.member_id, name)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Printed by etcdctl 3.4/3.5 (`-w json`); ids above 2^53 must survive.
    const STATUS: &str = r#"[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"cluster_id":324952591200643719,"member_id":17237436991929493444,"revision":1,"raft_term":2},"version":"3.5.16","dbSize":20480,"leader":17237436991929493444,"raftIndex":4,"raftTerm":2,"raftAppliedIndex":4,"dbSizeInUse":16384}}]"#;

    #[test]
    fn endpoint_status_json_gives_the_member_and_its_leader() {
        let s = parse_status(STATUS.as_bytes()).unwrap();
        assert_eq!(s.member_id, 17_237_436_991_929_493_444);
        assert_eq!((s.leader, s.raft_term, s.raft_index), (s.member_id, 2, 4));
        assert_eq!((s.db_size, s.db_size_in_use), (20480, 16384));
        assert!(!s.is_learner && s.rtt.is_none());
    }

    #[test]
    fn member_list_and_alarms_json() {
        let members = r#"{"header":{"raft_term":2},"members":[{"ID":1,"name":"cp-1","peerURLs":["https://10.0.0.11:2380"],"clientURLs":["https://10.0.0.11:2379"]},{"ID":2,"peerURLs":["https://10.0.0.14:2380"],"isLearner":true}]}"#;
        let m = parse_members(members.as_bytes()).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "cp-1");
        assert!(m[1].is_learner && m[1].name.is_empty() && m[1].client_urls.is_empty());
        let alarms = r#"{"alarms":[{"memberID":2,"alarm":1}]}"#;
        assert_eq!(
            parse_alarms(alarms.as_bytes()).unwrap(),
            [(2, "NOSPACE".to_string())]
        );
        assert!(parse_alarms(b"{}").unwrap().is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_healthy_member() {
        assert!(parse_status(b"Error: context deadline exceeded").is_err());
        assert!(parse_status(b"[]").is_err());
    }
}
