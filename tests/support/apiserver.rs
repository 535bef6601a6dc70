//! A small Kubernetes API server of the tests' own: HTTPS on 127.0.0.1, bearer-token and
//! client-certificate auth, list and watch (JSON lines) for the kinds hatui reads, pod exec
//! over websockets (see [`exec`]), `/readyz`, and switches to forbid a resource, fail
//! readiness, or take the whole server down. Pods in `default` can also be created (POST)
//! and deleted (DELETE), as the drill's test pod is.

mod exec;

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use super::query::{Filter, parse_query};

pub use exec::{Exec, ExecHandler, ExecOutput, V4, V5};

type Body = BoxBody<Bytes, Infallible>;

/// Collections served, by URL path.
const PATHS: &[(&str, &str)] = &[
    ("/api/v1/nodes", "nodes"),
    ("/api/v1/namespaces/kube-system/pods", "pods"),
    ("/api/v1/namespaces/default/pods", "default-pods"),
    ("/api/v1/namespaces/kube-system/secrets", "secrets"),
    ("/api/v1/namespaces/kube-system/configmaps", "configmaps"),
    (
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
        "leases",
    ),
    (
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        "node-leases",
    ),
];

#[derive(Default)]
struct Store {
    rv: u64,
    objects: BTreeMap<&'static str, BTreeMap<String, Value>>,
    /// Every change, for watches to replay from their resourceVersion.
    log: Vec<(u64, &'static str, &'static str, Value)>,
}

struct Shared {
    store: Mutex<Store>,
    changed: watch::Sender<u64>,
    forbidden: Mutex<HashSet<String>>,
    unready: Mutex<Option<String>>,
    /// Accepts connections but never answers a request: a hung apiserver.
    hung: std::sync::atomic::AtomicBool,
    token: String,
    exec: Mutex<ExecHandler>,
    exec_protocols: Mutex<Vec<&'static str>>,
    /// Connections and exec sessions: all end when the server stops.
    tasks: Mutex<Vec<AbortHandle>>,
    /// `plural/name` of every object sent whole (not as metadata only), in a list or watch.
    served_whole: Mutex<HashSet<String>>,
}

/// Clones serve the same store: a test task can change objects while the cluster runs.
#[derive(Clone)]
pub struct ApiServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    tls: Arc<ServerConfig>,
}

fn plural(name: &str) -> &'static str {
    PATHS
        .iter()
        .find(|(_, p)| *p == name)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no collection {name}"))
}

impl ApiServer {
    /// Serves on `ip` (a free port) with bearer token `token`.
    pub async fn start(ip: &str, tls: Arc<ServerConfig>, token: &str) -> Self {
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            changed: watch::channel(0).0,
            forbidden: Mutex::new(HashSet::new()),
            unready: Mutex::new(None),
            hung: Default::default(),
            token: token.to_string(),
            exec: Mutex::new(exec::handler(|e: Exec| async move {
                ExecOutput::not_found(&e.command[0])
            })),
            exec_protocols: Mutex::new(vec![V5, V4]),
            tasks: Mutex::new(Vec::new()),
            served_whole: Mutex::new(HashSet::new()),
        });
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Self { addr, shared, tls };
        server.serve(listener);
        server
    }

    fn serve(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        let acceptor = TlsAcceptor::from(self.tls.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let conn = tokio::spawn(connection(shared.clone(), acceptor.clone(), tcp));
                shared.tasks.lock().unwrap().push(conn.abort_handle());
            }
        });
        self.shared
            .tasks
            .lock()
            .unwrap()
            .push(accept.abort_handle());
    }

    /// The server goes away: the port refuses connections, open watches and execs break.
    pub fn stop(&self) {
        for t in self.shared.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// Back on the same address, with the same objects.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Answer 403 Forbidden for this resource (e.g. `secrets`), as RBAC would. `pods/exec`
    /// forbids only exec; `pods` forbids exec too (a role without any rule for pods).
    pub fn forbid(&self, plural: &str) {
        self.shared.forbidden.lock().unwrap().insert(plural.into());
    }

    /// New requests get no answer at all (the TCP and TLS handshakes still succeed).
    pub fn hang(&self) {
        self.shared
            .hung
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// `/readyz` answers 500 with this failing check (e.g. `etcd`), or 200 again with `None`.
    pub fn set_unready(&self, check: Option<&str>) {
        *self.shared.unready.lock().unwrap() = check.map(str::to_string);
    }

    /// What `pods/exec` runs. Until set, every program is missing, as in a distroless image.
    pub fn on_exec<F, Fut>(&self, f: F)
    where
        F: Fn(Exec) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ExecOutput> + Send + 'static,
    {
        *self.shared.exec.lock().unwrap() = exec::handler(f);
    }

    /// The exec subprotocols spoken: [`V5`] and [`V4`] like Kubernetes 1.30+, or only
    /// [`V4`] like older clusters.
    pub fn exec_protocols(&self, protocols: &[&'static str]) {
        *self.shared.exec_protocols.lock().unwrap() = protocols.to_vec();
    }

    /// Adds or replaces an object (by `metadata.name`); watchers see ADDED or MODIFIED.
    pub fn apply(&self, collection: &str, obj: Value) {
        put(&self.shared, plural(collection), obj);
    }

    pub fn delete(&self, collection: &str, name: &str) {
        let plural = plural(collection);
        let mut store = self.shared.store.lock().unwrap();
        let Some(obj) = store.objects.entry(plural).or_default().remove(name) else {
            return;
        };
        store.rv += 1;
        let rv = store.rv;
        store.log.push((rv, plural, "DELETED", obj));
        drop(store);
        self.shared.changed.send_replace(rv);
    }

    /// Whether this object was ever sent whole (its data, not only its metadata).
    pub fn served_whole(&self, collection: &str, name: &str) -> bool {
        let key = format!("{}/{name}", plural(collection));
        self.shared.served_whole.lock().unwrap().contains(&key)
    }

    /// Every object of a collection, by name.
    pub fn all(&self, collection: &str) -> BTreeMap<String, Value> {
        let store = self.shared.store.lock().unwrap();
        store
            .objects
            .get(plural(collection))
            .cloned()
            .unwrap_or_default()
    }

    pub fn get(&self, collection: &str, name: &str) -> Value {
        let store = self.shared.store.lock().unwrap();
        store.objects[plural(collection)][name].clone()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One client connection: TLS, then HTTP/1.1 requests until it closes or becomes an exec.
async fn connection(shared: Arc<Shared>, acceptor: TlsAcceptor, tcp: TcpStream) {
    let Ok(tls) = acceptor.accept(tcp).await else {
        return;
    };
    let cert_auth = tls.get_ref().1.peer_certificates().is_some();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        async move {
            if shared.hung.load(std::sync::atomic::Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            let path = req.uri().path().to_string();
            let in_default = path.starts_with("/api/v1/namespaces/default/pods");
            if in_default && req.method() == hyper::Method::POST {
                let body = req.into_body().collect().await.map(|b| b.to_bytes());
                let obj = body.ok().and_then(|b| serde_json::from_slice(&b).ok());
                return Ok::<_, Infallible>(create_pod(&shared, obj));
            }
            if in_default && req.method() == hyper::Method::DELETE {
                let name = path.rsplit('/').next().unwrap_or_default().to_string();
                return Ok(delete_pod(&shared, &name));
            }
            Ok::<_, Infallible>(handle(&shared, cert_auth, req))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), svc)
        .with_upgrades()
        .await;
}

fn handle(shared: &Arc<Shared>, cert_auth: bool, mut req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query().unwrap_or_default());
    match path.as_str() {
        "/readyz" | "/livez" => {
            let q = req.uri().query().unwrap_or_default();
            let verbose = q
                .split('&')
                .any(|kv| kv.split('=').next() == Some("verbose"));
            return readyz(shared, verbose);
        }
        "/version" => {
            return json_response(
                StatusCode::OK,
                &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.2"}),
            );
        }
        _ => {}
    }
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !cert_auth && bearer != Some(shared.token.as_str()) {
        return status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
            None,
        );
    }
    if let Some((ns, pod)) = exec_target(&path) {
        return exec(shared, ns, pod, &mut req);
    }
    let Some(&(_, plural)) = PATHS.iter().find(|(p, _)| *p == path) else {
        let msg = format!("the server could not find the requested resource ({path})");
        return status(StatusCode::NOT_FOUND, "NotFound", &msg, None);
    };
    let watching = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    if shared.forbidden.lock().unwrap().contains(plural) {
        let verb = if watching { "watch" } else { "list" };
        let scope = if plural == "nodes" {
            "at the cluster scope".to_string()
        } else {
            "in the namespace \"kube-system\"".to_string()
        };
        let group = if plural.ends_with("leases") {
            "coordination.k8s.io"
        } else {
            ""
        };
        let msg = format!(
            "{plural} is forbidden: User \"system:serviceaccount:monitoring:hatui\" cannot {verb} resource \"{plural}\" in API group \"{group}\" {scope}"
        );
        let details = json!({"kind": plural});
        return status(StatusCode::FORBIDDEN, "Forbidden", &msg, Some(details));
    }
    let filter = Filter::from_query(&query);
    // `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`: metadata only.
    let meta_only = req
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    let shape = Shape {
        plural,
        meta_only,
        shared: shared.clone(),
    };
    if watching {
        let from: u64 = query
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        return watch_response(shared, shape, filter, from);
    }
    let store = shared.store.lock().unwrap();
    let items: Vec<Value> = store
        .objects
        .get(plural)
        .map(|m| {
            m.values()
                .filter(|o| filter.matches(o))
                .map(|o| shape.of(o))
                .collect()
        })
        .unwrap_or_default();
    let (kind, api_version) = if meta_only {
        ("PartialObjectMetadataList".to_string(), "meta.k8s.io/v1")
    } else if plural.ends_with("leases") {
        (format!("{}List", kind_of(plural)), "coordination.k8s.io/v1")
    } else {
        (format!("{}List", kind_of(plural)), "v1")
    };
    let list = json!({
        "kind": kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": store.rv.to_string()},
        "items": items,
    });
    json_response(StatusCode::OK, &list)
}

/// `/api/v1/namespaces/{ns}/pods/{pod}/exec`
fn exec_target(path: &str) -> Option<(&str, &str)> {
    let (ns, rest) = path
        .strip_prefix("/api/v1/namespaces/")?
        .split_once("/pods/")?;
    let pod = rest.strip_suffix("/exec")?;
    (!ns.contains('/') && !pod.contains('/')).then_some((ns, pod))
}

/// RBAC, then the pod, then the upgrade; the session runs on as one of the server's tasks.
fn exec(shared: &Shared, ns: &str, pod: &str, req: &mut Request<Incoming>) -> Response<Body> {
    let details = json!({"name": pod, "kind": "pods"});
    let forbidden = shared.forbidden.lock().unwrap();
    if forbidden.contains("pods/exec") || forbidden.contains("pods") {
        let msg = format!(
            "pods \"{pod}\" is forbidden: User \"system:serviceaccount:monitoring:hatui\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"{ns}\""
        );
        return status(StatusCode::FORBIDDEN, "Forbidden", &msg, Some(details));
    }
    drop(forbidden);
    let store = shared.store.lock().unwrap();
    let pods = store.objects.get("pods");
    // Every pod served lives in kube-system.
    let found = pods
        .and_then(|p| p.get(pod))
        .filter(|_| ns == "kube-system")
        .cloned();
    drop(store);
    let Some(found) = found else {
        let msg = format!("pods \"{pod}\" not found");
        return status(StatusCode::NOT_FOUND, "NotFound", &msg, Some(details));
    };
    let handler = shared.exec.lock().unwrap().clone();
    let protocols = shared.exec_protocols.lock().unwrap().clone();
    let (response, session) = exec::upgrade(req, &found, &protocols, handler);
    if let Some(session) = session {
        let task = tokio::spawn(session);
        shared.tasks.lock().unwrap().push(task.abort_handle());
    }
    response
}

/// How objects go out: whole, or as `PartialObjectMetadata` when the client asked so.
#[derive(Clone)]
struct Shape {
    plural: &'static str,
    meta_only: bool,
    shared: Arc<Shared>,
}

impl Shape {
    fn of(&self, obj: &Value) -> Value {
        if self.meta_only {
            return json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            });
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let key = format!("{}/{name}", self.plural);
        self.shared.served_whole.lock().unwrap().insert(key);
        obj.clone()
    }
}

/// A watch: the changes after `from`, then each new one as it happens, as JSON lines.
fn watch_response(shared: &Arc<Shared>, shape: Shape, filter: Filter, from: u64) -> Response<Body> {
    let plural = shape.plural;
    let rx = shared.changed.subscribe();
    let state = (shared.clone(), rx, from, filter, shape);
    let lines = futures::stream::unfold(
        state,
        move |(shared, mut rx, cursor, filter, shape)| async move {
            loop {
                let (lines, rv) = {
                    let store = shared.store.lock().unwrap();
                    let lines: Vec<u8> = store
                        .log
                        .iter()
                        .filter(|(rv, p, _, obj)| {
                            *rv > cursor && *p == plural && filter.matches(obj)
                        })
                        .flat_map(|(_, _, kind, obj)| {
                            let obj = shape.of(obj);
                            let mut line =
                                serde_json::to_vec(&json!({"type": kind, "object": obj})).unwrap();
                            line.push(b'\n');
                            line
                        })
                        .collect();
                    (lines, store.rv)
                };
                if !lines.is_empty() {
                    let frame = Ok::<_, Infallible>(Frame::data(Bytes::from(lines)));
                    return Some((frame, (shared, rx, rv, filter, shape)));
                }
                rx.changed().await.ok()?;
            }
        },
    );
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(BodyExt::boxed(StreamBody::new(lines)))
        .unwrap()
}

/// Stores `obj` under a new resourceVersion; returns it as stored.
fn put(shared: &Shared, plural: &'static str, mut obj: Value) -> Value {
    let name = obj["metadata"]["name"].as_str().unwrap().to_string();
    let mut store = shared.store.lock().unwrap();
    store.rv += 1;
    let rv = store.rv;
    obj["metadata"]["resourceVersion"] = json!(rv.to_string());
    let old = store
        .objects
        .entry(plural)
        .or_default()
        .insert(name, obj.clone());
    let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
    store.log.push((rv, plural, kind, obj.clone()));
    drop(store);
    shared.changed.send_replace(rv);
    obj
}

/// POST of a Pod to `default` (no auth check: only the drill's test pod comes here).
fn create_pod(shared: &Arc<Shared>, obj: Option<Value>) -> Response<Body> {
    let Some(mut obj) = obj else {
        return status(StatusCode::BAD_REQUEST, "BadRequest", "not a Pod", None);
    };
    obj["metadata"]["namespace"] = json!("default");
    obj["metadata"]["uid"] = json!("5d0f6a3e-1c2b-4e8f-9a7d-3b6c5e4f2a10");
    obj["metadata"]["creationTimestamp"] = json!(jiff::Timestamp::now().to_string());
    obj["status"] = json!({"phase": "Pending"});
    let created = put(shared, "default-pods", obj);
    json_response(StatusCode::CREATED, &created)
}

fn delete_pod(shared: &Arc<Shared>, name: &str) -> Response<Body> {
    let mut store = shared.store.lock().unwrap();
    let Some(obj) = store
        .objects
        .entry("default-pods")
        .or_default()
        .remove(name)
    else {
        let msg = format!("pods \"{name}\" not found");
        return status(StatusCode::NOT_FOUND, "NotFound", &msg, None);
    };
    store.rv += 1;
    let rv = store.rv;
    store.log.push((rv, "default-pods", "DELETED", obj.clone()));
    drop(store);
    shared.changed.send_replace(rv);
    json_response(StatusCode::OK, &obj)
}

fn kind_of(plural: &str) -> &'static str {
    match plural {
        "nodes" => "Node",
        "pods" | "default-pods" => "Pod",
        "secrets" => "Secret",
        "configmaps" => "ConfigMap",
        "leases" | "node-leases" => "Lease",
        _ => "Unknown",
    }
}

/// As kube-apiserver: `ok`, or with `?verbose` each check (`[+]etcd ok`); the checks,
/// the failing one marked `[-]`, on a 500 either way.
fn readyz(shared: &Shared, verbose: bool) -> Response<Body> {
    let failing = shared.unready.lock().unwrap().clone();
    let mut names = vec!["ping", "log", "etcd", "informer-sync"];
    if let Some(f) = failing.as_deref().filter(|f| !names.contains(f)) {
        names.insert(2, f);
    }
    let checks: String = names
        .iter()
        .map(|c| match failing.as_deref() {
            Some(f) if f == *c => format!("[-]{c} failed: reason withheld\n"),
            _ => format!("[+]{c} ok\n"),
        })
        .collect();
    match failing {
        None if !verbose => text_response(StatusCode::OK, "ok"),
        None => text_response(StatusCode::OK, &format!("{checks}readyz check passed\n")),
        Some(_) => {
            let body = format!("{checks}readyz check failed\n");
            text_response(StatusCode::INTERNAL_SERVER_ERROR, &body)
        }
    }
}

/// A `Status` body as the apiserver sends with errors.
fn status(code: StatusCode, reason: &str, message: &str, details: Option<Value>) -> Response<Body> {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    json_response(code, &body)
}

fn json_response(code: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())).boxed())
        .unwrap()
}

fn empty() -> Body {
    Full::new(Bytes::new()).boxed()
}

fn text_response(code: StatusCode, body: &str) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}
