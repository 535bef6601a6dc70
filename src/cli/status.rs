//! `hatui status --lab --fault KIND:NODE`: a lab fault given on the command line, so that a
//! script can see what `status` says of a lab in that state.

use crate::drill::DrillFault;
use crate::model::{Fault, FaultKind};

/// The fault names: the drill's six, and `delete-node` (the cockpit's `X`).
pub const KINDS: &str = "kubelet, control-plane, etcd, network, shutdown, power or delete-node";

/// `power:cp-1` → a power cut of cp-1.
pub fn parse_lab_fault(s: &str) -> Result<Fault, String> {
    let Some((kind, node)) = s
        .split_once(':')
        .filter(|(k, n)| !k.is_empty() && !n.is_empty())
    else {
        return Err(format!(
            "`{s}` is not KIND:NODE, e.g. power:cp-1 (KIND: {KINDS})"
        ));
    };
    let kind = match kind {
        "delete-node" => FaultKind::DeleteNode,
        other => other
            .parse::<DrillFault>()
            .map_err(|_| format!("`{other}` is not a lab fault: use {KINDS}"))?
            .lab_kind(),
    };
    Ok(Fault {
        node: node.to_string(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_nodes_are_read_and_mistakes_named() {
        let f = parse_lab_fault("power:cp-2").unwrap();
        assert_eq!((f.node.as_str(), f.kind), ("cp-2", FaultKind::PowerOff));
        let f = parse_lab_fault("delete-node:cp-1").unwrap();
        assert_eq!(f.kind, FaultKind::DeleteNode);
        assert_eq!(
            parse_lab_fault("network:cp-3").unwrap().kind,
            FaultKind::Partition
        );
        let err = parse_lab_fault("cp-1").unwrap_err();
        assert!(err.contains("KIND:NODE"), "{err}");
        let err = parse_lab_fault("melt:cp-1").unwrap_err();
        assert!(
            err.contains("`melt` is not a lab fault") && err.contains("power"),
            "{err}"
        );
    }
}
