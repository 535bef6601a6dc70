pub mod etcd_cluster;
pub mod sshd;
