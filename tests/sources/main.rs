//! The sources' tests on real parts: the etcd poller against a real TLS etcd cluster, and
//! etcd through SSH tunnels to real sshds.
#![allow(clippy::unwrap_used)] // a test that cannot go on panics, and says where

mod etcd_real;
mod ssh_tunnel;
