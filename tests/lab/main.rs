//! The lab's own tests: the simulation alone (no kube, etcd-client or russh linked).
#![allow(clippy::unwrap_used)] // a test that cannot go on panics, and says where

mod lab_faults;
mod lab_lb;
