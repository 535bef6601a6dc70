//! The fleet: the hosts of an inventory, how to reach them over SSH, how to run a command
//! there as root ([`Root`]) and the audit log of what was run on them. Shared ground of
//! the wizard, the drill and the cockpit's etcd over SSH; it knows none of them.

pub mod audit;
pub mod inventory;
pub mod root;
pub mod scrub;
pub mod secret;
pub mod ssh;

use crate::ssh::SshTarget;

pub use audit::Audit;
pub use inventory::{Host, Inventory, SshOverrides};
pub use root::Root;

/// How the inventory says to reach `host`, the command line's files winning.
pub fn target(inv: &Inventory, host: &Host, overrides: &SshOverrides) -> SshTarget {
    inv.ssh_target(host, overrides)
}
