//! The sources' tests on real parts: the etcd poller against a real TLS etcd cluster, etcd
//! through SSH tunnels to real sshds, and `kubectl exec` of etcdctl in kubeadm's etcd pods
//! through the tests' API server with kube-rs's own client.
#![allow(clippy::unwrap_used)] // a test that cannot go on panics, and says where

mod apiserver_exec;
mod etcd_real;
mod ssh_tunnel;
