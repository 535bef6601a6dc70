//! `pods/exec` as a kubeadm cluster serves it: the apiserver's checks of the request, the
//! websocket upgrade, and the kubelet's channel protocol around a command whose outcome the
//! test supplies.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::super::query::parse_pairs;
use super::{Body, status};

/// One exec, as the kubelet would run it.
#[derive(Clone, Debug)]
pub struct Exec {
    pub namespace: String,
    pub pod: String,
    /// As the apiserver resolved it: the one asked for, or the pod's only container.
    pub container: String,
    pub command: Vec<String>,
    /// The websocket subprotocol agreed on, [`V5`] or [`V4`].
    pub protocol: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i32,
}

impl ExecOutput {
    /// What runc answers for a program the image lacks (kubeadm's etcd image has no shell).
    pub fn not_found(program: &str) -> Self {
        let stderr = format!(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{program}\": executable file not found in $PATH: unknown\n"
        );
        Self {
            stderr: stderr.into_bytes(),
            exit_code: 126,
            ..Self::default()
        }
    }
}

pub type ExecHandler = Arc<dyn Fn(Exec) -> BoxFuture<'static, ExecOutput> + Send + Sync>;

pub fn handler<F, Fut>(f: F) -> ExecHandler
where
    F: Fn(Exec) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ExecOutput> + Send + 'static,
{
    Arc::new(move |exec| Box::pin(f(exec)))
}

/// Kubernetes 1.30+ speaks both (v5 adds the client's half-close of stdin); older, only v4.
pub const V5: &str = "v5.channel.k8s.io";
pub const V4: &str = "v4.channel.k8s.io";

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;

/// After RBAC and the pod lookup: the apiserver's checks of the options, then the websocket
/// handshake. The answer, and with a 101 the session to run on the connection hyper hands
/// over.
pub(super) fn upgrade(
    req: &mut Request<Incoming>,
    pod: &Value,
    protocols: &[&'static str],
    handler: ExecHandler,
) -> (Response<Body>, Option<BoxFuture<'static, ()>>) {
    let bad = |msg: &str| {
        (
            status(StatusCode::BAD_REQUEST, "BadRequest", msg, None),
            None,
        )
    };
    let pairs = parse_pairs(req.uri().query().unwrap_or_default());
    let values = |key: &str| -> Vec<String> {
        let pairs = pairs.iter().filter(|(k, _)| k == key);
        pairs.map(|(_, v)| v.clone()).collect()
    };
    let flag = |key: &str| {
        let truthy = |v: &String| matches!(v.as_str(), "1" | "t" | "true" | "True");
        values(key).iter().any(truthy)
    };
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let containers: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let container = match (values("container").pop(), containers.as_slice()) {
        (Some(c), _) if containers.contains(&c.as_str()) => c,
        (Some(c), _) => return bad(&format!("container {c} is not valid for pod {name}")),
        (None, [only]) => only.to_string(),
        (None, []) => return bad(&format!("pod {name} does not have a container")),
        (None, all) => {
            let msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                all.join(" ")
            );
            return bad(&msg);
        }
    };
    let command = values("command");
    if command.is_empty() {
        return bad("you must specify at least one command for the container");
    }
    let (stdout, stderr) = (flag("stdout"), flag("stderr"));
    if !stdout && !stderr && !flag("stdin") {
        return bad("you must specify at least 1 of stdin, stdout, stderr");
    }

    let header = |name: header::HeaderName| {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let (Some(key), true, true) = (
        key,
        header(header::UPGRADE).iter().any(|v| v == "websocket"),
        header(header::CONNECTION).iter().any(|v| v == "upgrade"),
    ) else {
        return bad("Upgrade request required");
    };
    // The client's order decides, as in the apiserver's wsstream.
    let offered = header(header::SEC_WEBSOCKET_PROTOCOL);
    let Some(protocol) = offered
        .iter()
        .find_map(|o| protocols.iter().copied().find(|p| *p == o.as_str()))
    else {
        let msg =
            format!("requested protocol(s) are not supported: {offered:?}; supports {protocols:?}");
        return bad(&msg);
    };

    let exec = Exec {
        namespace: pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .into(),
        pod: name.into(),
        container,
        command,
        protocol,
    };
    let on_upgrade = hyper::upgrade::on(req);
    let session: BoxFuture<'static, ()> = Box::pin(async move {
        if let Ok(io) = on_upgrade.await {
            let ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
            session(ws, exec, handler, stdout, stderr).await;
        }
    });
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .header(header::SEC_WEBSOCKET_PROTOCOL, protocol)
        .body(super::empty())
        .unwrap();
    (response, Some(session))
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The kubelet's side: every frame is binary, its first byte the channel.
async fn session(ws: Ws, exec: Exec, handler: ExecHandler, stdout: bool, stderr: bool) {
    let frame = |channel: u8, data: &[u8]| Message::Binary([&[channel], data].concat().into());
    let (mut tx, mut rx) = ws.split();
    // "Connected": an empty frame on the lowest channel written, as the kubelet sends.
    let first = [(stdout, STDOUT), (stderr, STDERR), (true, STATUS)];
    let (_, channel) = first.into_iter().find(|(on, _)| *on).unwrap();
    if tx.send(frame(channel, &[])).await.is_err() {
        return;
    }
    // The client's frames (stdin, v5's close of stdin, pongs) are read and dropped; its
    // going away ends the command, as a broken stream does in the kubelet.
    let client_gone = async {
        while let Some(Ok(msg)) = rx.next().await {
            if msg.is_close() {
                break;
            }
        }
    };
    let command = exec.command.join(" ");
    let out = tokio::select! {
        out = handler(exec) => out,
        () = client_gone => return,
    };
    let mut frames = Vec::new();
    for (on, channel, data) in [(stdout, STDOUT, &out.stdout), (stderr, STDERR, &out.stderr)] {
        if on {
            // The kubelet copies in 32 KiB pieces: long output arrives in several frames.
            frames.extend(data.chunks(32 * 1024).map(|c| frame(channel, c)));
        }
    }
    let status = serde_json::to_vec(&exit_status(&command, out.exit_code)).unwrap();
    frames.push(frame(STATUS, &status));
    for f in frames {
        if tx.send(f).await.is_err() {
            return;
        }
    }
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = tx.send(Message::Close(Some(close))).await;
}

/// The v4/v5 status, as the kubelet words containerd's exit error.
fn exit_status(command: &str, code: i32) -> Value {
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({
        "metadata": {}, "status": "Failure",
        "message": format!("command terminated with non-zero exit code: error executing command [{command}], exit code {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}
