//! One member, asked through its own client: a multi-endpoint etcd client round-robins
//! without failover, so per-member status needs one client per endpoint.

use std::time::{Duration, Instant};

use etcd_client::{AlarmAction, AlarmType, Client, ConnectOptions};

use super::tls::TlsMaterial;

/// What `Maintenance.Status` says about the member that answered.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub member_id: u64,
    /// 0 while the member knows no leader.
    pub leader: u64,
    pub raft_term: u64,
    pub raft_index: u64,
    pub applied_index: u64,
    pub db_size: u64,
    pub db_size_in_use: u64,
    pub db_quota: u64,
    pub version: String,
    pub errors: Vec<String>,
    pub is_learner: bool,
    /// `None` when the way in does not measure etcd itself (kube exec).
    pub rtt: Option<Duration>,
}

/// The membership as one member knows it, and the cluster's alarms.
#[derive(Debug, Clone, PartialEq)]
pub struct ListReport {
    pub members: Vec<ListedMember>,
    /// `None` when the alarm request failed: alarms go through raft, so they need quorum.
    pub alarms: Option<Vec<(u64, String)>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedMember {
    pub id: u64,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

/// A lazily connected client for one endpoint. After any failure the client is dropped
/// and rebuilt on the next call, so a member that comes back is seen at once.
pub struct Prober {
    url: String,
    tls: Option<TlsMaterial>,
    timeout: Duration,
    client: Option<Client>,
}

impl Prober {
    pub fn new(url: impl Into<String>, tls: Option<TlsMaterial>, timeout: Duration) -> Self {
        Self {
            url: url.into(),
            tls,
            timeout,
            client: None,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn status(&mut self) -> Result<StatusReport, String> {
        let started = Instant::now();
        let r = self.ask(|mut c| async move { c.status().await }).await?;
        let header = r.header();
        Ok(StatusReport {
            member_id: header.map_or(0, |h| h.member_id()),
            leader: r.leader(),
            raft_term: r.raft_term(),
            raft_index: r.raft_index(),
            applied_index: r.raft_applied_index(),
            db_size: non_negative(r.db_size()),
            db_size_in_use: non_negative(r.raft_used_db_size()),
            db_quota: non_negative(r.db_size_quota()),
            version: r.version().to_string(),
            errors: r.errors().to_vec(),
            is_learner: r.is_learner(),
            rtt: Some(started.elapsed()),
        })
    }

    pub async fn list(&mut self) -> Result<ListReport, String> {
        let r = self
            .ask(|mut c| async move { c.member_list().await })
            .await?;
        let members = r
            .members()
            .iter()
            .map(|m| ListedMember {
                id: m.id(),
                name: m.name().to_string(),
                peer_urls: m.peer_urls().to_vec(),
                client_urls: m.client_urls().to_vec(),
                is_learner: m.is_learner(),
            })
            .collect();
        let alarms = self
            .ask(|mut c| async move { c.alarm(AlarmAction::Get, AlarmType::None, None).await })
            .await
            .ok()
            .map(|r| {
                let name = |a: AlarmType| match a {
                    AlarmType::Nospace => "NOSPACE".to_string(),
                    AlarmType::Corrupt => "CORRUPT".to_string(),
                    other => format!("{other:?}").to_uppercase(),
                };
                r.alarms()
                    .iter()
                    .filter(|a| a.alarm() != AlarmType::None)
                    .map(|a| (a.member_id(), name(a.alarm())))
                    .collect()
            });
        Ok(ListReport { members, alarms })
    }

    /// One request with a hard deadline, whatever the transport does.
    async fn ask<T, F, Fut>(&mut self, request: F) -> Result<T, String>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let client = match &self.client {
            Some(c) => c.clone(),
            None => {
                let c = self.connect().await?;
                self.client = Some(c.clone());
                c
            }
        };
        // The transport has its own timeouts; this one also covers a stuck handshake.
        let deadline = self.timeout + Duration::from_millis(250);
        let result = match tokio::time::timeout(deadline, request(client)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => self.explain(&e),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        self.client = None;
        Err(result)
    }

    async fn connect(&self) -> Result<Client, String> {
        let mut opts = ConnectOptions::new()
            .with_connect_timeout(self.timeout)
            .with_timeout(self.timeout)
            // Notices a peer that vanished without a TCP reset (power loss, cut cable).
            .with_keep_alive(Duration::from_secs(2), self.timeout);
        if let Some(tls) = &self.tls {
            opts = opts.with_tls(tls.options());
        }
        Client::connect([self.url.as_str()], Some(opts))
            .await
            .map_err(|e| self.explain(&e))
    }

    fn explain(&self, e: &etcd_client::Error) -> String {
        let chain = error_chain(e);
        if let Some(tls) = self.tls.as_ref().and_then(|t| t.explain(&chain)) {
            return tls;
        }
        if self.tls.is_none() && chain.contains("InvalidContentType") {
            return "TLS: this endpoint speaks TLS: give --etcd-cacert".to_string();
        }
        let has = |s: &str| chain.contains(s);
        if has("Connection refused") || has("connection refused") {
            "connection refused".to_string()
        } else if has("deadline") || has("timed out") || has("Timeout expired") {
            format!("no answer within {} ms", self.timeout.as_millis())
        } else {
            chain
        }
    }
}

/// Every message in the error's source chain: the TLS reason is usually the innermost.
fn error_chain(e: &etcd_client::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = match e {
        etcd_client::Error::GRpcStatus(s) => {
            parts.push(s.message().to_string());
            std::error::Error::source(s)
        }
        other => {
            parts.push(other.to_string());
            std::error::Error::source(other)
        }
    };
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.retain(|p| !p.is_empty());
    parts.join(": ")
}

fn non_negative(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
