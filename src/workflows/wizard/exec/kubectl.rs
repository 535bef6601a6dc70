//! The lab's kubectl (and etcdctl through `kubectl exec`): what the plan's commands on a
//! master do to the lab, as a script of timed lines and effects.

use super::acts::{Act, Effect, Script};
use super::show::Show;
use super::texts;
use hatui_lab::Lab;

/// The text between `open` and the next `close` after it.
pub(super) fn between<'a>(text: &'a str, open: &str, close: char) -> Option<&'a str> {
    let rest = &text[text.find(open)? + open.len()..];
    Some(&rest[..rest.find(close).unwrap_or(rest.len())])
}

pub(super) fn script(lab: &Lab, words: &[&str], command: &str, mut s: Script) -> Vec<(i64, Act)> {
    if !lab.endpoint_up() {
        s.lines(0.5, texts::kubectl_refused(&lab.config().endpoint));
        return s.exit(0.5, 1);
    }
    // Day 2: the replacement's, grow's and shrink's commands.
    if command.contains("move-leader") {
        // The status is asked of the leaving master's own member, the target named by
        // the member list's awk.
        let from = between(command, "exec etcd-", ' ').unwrap_or_default();
        let to = between(command, "$3 == \"", '"').unwrap_or_default();
        s.act(0.8, Effect::MoveLeader(from.to_string(), to.to_string()));
        return s.exit(0.8, 0);
    }
    if command.contains("member remove") {
        let name = between(command, "$3 == \"", '"').unwrap_or_default();
        s.act(1.0, Effect::RemoveMember(name.to_string()));
        return s.exit(1.0, 0);
    }
    if command.contains("snapshot save") {
        let file = between(command, "snapshot save ", ' ').unwrap_or_default();
        s.line(2.0, &format!("Snapshot saved at {file}"));
        return s.exit(2.0, 0);
    }
    if let Some(node) = words
        .iter()
        .position(|w| *w == "drain")
        .and_then(|at| words.get(at + 1))
    {
        s.act(1.5, Effect::Drain(node.to_string()));
        return s.exit(1.5, 0);
    }
    if let Some(node) = between(command, "delete node ", ' ') {
        s.act(0.6, Effect::DeleteNode(node.to_string()));
        return s.exit(0.6, 0);
    }
    if command.contains("delete secret kubeadm-certs") {
        let token = between(command, "kubeadm token delete ", ' ').map(str::to_string);
        s.act(0.8, Effect::Cleanup(token));
        return s.exit(0.8, 0);
    }
    let show = if words.contains(&"apply") {
        s.act(2.0, Effect::ApplyCni);
        return s.exit(2.0, 0);
    } else if command.contains("member list") {
        Show::Members
    } else if command.contains("get lease") {
        Show::Leases
    } else if command.contains("get nodes") {
        Show::Nodes
    } else {
        Show::Readyz
    };
    s.act(0.4, Effect::Show(show));
    s.exit(0.4, 0)
}
