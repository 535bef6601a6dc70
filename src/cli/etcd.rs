//! `hatui etcd snapshot`: the command line around [`crate::etcd::snapshot`], with the
//! cockpit's ways into etcd (the `--etcd-*` flags, `--inventory`, else the kubeconfig's
//! cluster and its etcd pods).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use color_eyre::{
    Result,
    eyre::{WrapErr, bail, eyre},
};

use crate::etcd::snapshot::{self, Destination, human};
use crate::etcd::{EtcdAccess, EtcdSettings};
use crate::live::{self, Target};
use crate::real_etcd::{self, RealEtcd};

#[derive(Debug, Clone, Args)]
pub struct EtcdCommandArgs {
    #[command(subcommand)]
    pub command: EtcdCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum EtcdCommand {
    /// Save a snapshot of etcd from one healthy member (a follower if one is healthy) to a
    /// file here: written atomically, mode 0600, its SHA-256 checked. Restore it with
    /// `etcdutl snapshot restore` on each master (docs/etcd-snapshots.md).
    Snapshot(SnapshotArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// The file to write, or a directory for `etcd-snapshot-<cluster>-<UTC time>.db`
    /// (default: the current directory). An existing file is replaced once the new
    /// snapshot is verified.
    #[arg(long, value_name = "FILE|DIR")]
    pub to: Option<PathBuf>,
    /// Print {path, bytes, revision, member, endpoint, sha256} as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only check a snapshot file (bbolt database and trailing SHA-256), contact no etcd.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["to", "lab"])]
    pub verify: Option<PathBuf>,
    /// The lab's etcd, with --real-etcd: its real etcd members are started on loopback,
    /// the snapshot taken from one of them, and they are stopped (to practise the
    /// snapshot and its restore). The simulated etcd has no database to save.
    #[arg(long, conflicts_with_all = ["etcd_endpoints", "etcd_ssh", "etcd_exec"])]
    pub lab: bool,
    /// With --lab: run the lab's etcd as real etcd processes (etcd from PATH).
    #[arg(long, requires = "lab")]
    pub real_etcd: bool,
    /// With --lab --real-etcd: how many members (the lab's control planes).
    #[arg(long, value_name = "N", default_value_t = 3, requires = "lab", value_parser = clap::value_parser!(u8).range(1..=7))]
    pub control_planes: u8,
}

/// Runs `hatui etcd ...`; the output to print.
pub async fn run(
    args: &EtcdCommandArgs,
    target: &Target,
    etcd: &EtcdSettings,
    inventory_name: Option<String>,
) -> Result<String> {
    let EtcdCommand::Snapshot(args) = &args.command;
    if let Some(file) = &args.verify {
        return verify(file, args.json);
    }
    let dest = Destination::parse(args.to.as_deref())?;
    if args.lab {
        return lab(args, &dest).await;
    }
    let (access, cluster) = access(target, etcd).await?;
    let label = inventory_name.or(cluster);
    let taken = tokio::select! {
        taken = save(&access, &dest, label) => taken?,
        _ = tokio::signal::ctrl_c() => bail!("interrupted: no snapshot written"),
    };
    drop(access);
    said(&taken, args.json)
}

/// `--lab --real-etcd`: the lab's real members for as long as the snapshot takes. They
/// hold only what etcd writes itself (a fresh cluster), enough to practise a restore.
async fn lab(args: &SnapshotArgs, dest: &Destination) -> Result<String> {
    if !args.real_etcd {
        bail!(
            "the lab's etcd is simulated: it has no database to save. Add --real-etcd to run \
             the lab's etcd as real etcd processes and snapshot one of them"
        );
    }
    real_etcd::find_etcd()?;
    for note in real_etcd::sweep(&std::env::temp_dir()) {
        eprintln!("{note}");
    }
    let n = usize::from(args.control_planes);
    eprintln!("starting the lab's {n} real etcd members on 127.0.0.1...");
    // Dropped on every way out (an error, Ctrl-C): the members are SIGKILLed and their
    // directory removed.
    let cluster = RealEtcd::start(n).await?;
    let config = cluster.poller_config();
    let take = async {
        let member = snapshot::choose_member(&config).await?;
        let path = dest.path("lab", jiff::Timestamp::now());
        snapshot::take_snapshot(&config, &member, &path, true).await
    };
    let taken = tokio::select! {
        taken = take => taken?,
        _ = tokio::signal::ctrl_c() => bail!("interrupted: no snapshot written"),
    };
    drop(cluster);
    eprintln!("the lab's real etcd members are stopped");
    said(&taken, args.json)
}

fn said(taken: &snapshot::Taken, json: bool) -> Result<String> {
    if json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(taken)?));
    }
    Ok(format!(
        "snapshot saved to {}: {} ({} bytes), revision {}, from member {} ({}, {})\n",
        taken.path.display(),
        human(taken.bytes),
        taken.bytes,
        taken.revision,
        taken.member,
        if taken.leader {
            "the leader"
        } else {
            "a follower"
        },
        taken.endpoint,
    ))
}

async fn save(
    access: &EtcdAccess,
    dest: &Destination,
    label: Option<String>,
) -> Result<snapshot::Taken> {
    let member = snapshot::choose_member(&access.config).await.map_err(|e| {
        if access.unreachable.is_empty() {
            e
        } else {
            e.wrap_err(format!("over SSH: {}", access.unreachable.join("; ")))
        }
    })?;
    let label = label.unwrap_or_else(|| member.endpoint.clone());
    let path = dest.path(&label, jiff::Timestamp::now());
    snapshot::take_snapshot(&access.config, &member, &path, true).await
}

/// The way in, and the cluster's name for the file when the kubeconfig found it.
async fn access(target: &Target, etcd: &EtcdSettings) -> Result<(EtcdAccess, Option<String>)> {
    if etcd.explicit() {
        let access = etcd
            .access()
            .await?
            .ok_or_else(|| eyre!("no etcd endpoint: pass --etcd-endpoints"))?;
        return Ok((access, None));
    }
    let hint = "no etcd flag, and the kubeconfig's cluster cannot say where etcd is (pass \
                --etcd-endpoints with --etcd-cacert, --etcd-cert and --etcd-key, or --etcd-ssh, \
                or --inventory)";
    let mut sources = live::connect(target, live::wall_clock())
        .await
        .wrap_err(hint)?;
    let found = live::etcd_way::choose(&mut sources, etcd).await?;
    match found {
        Some(access) => Ok((access, Some(sources.endpoint.clone()))),
        None => {
            let why = sources
                .etcd_missing
                .clone()
                .unwrap_or_else(|| "no etcd found".into());
            Err(eyre!(why).wrap_err(hint))
        }
    }
}

fn verify(file: &std::path::Path, json: bool) -> Result<String> {
    let v = snapshot::verify_snapshot(file)?;
    if json {
        let out = serde_json::json!({
            "path": file,
            "bytes": v.bytes,
            "sha256": v.sha256,
            "verified": true,
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&out)?));
    }
    Ok(format!(
        "{}: an etcd snapshot, {} ({} bytes), its SHA-256 intact (sha256 {})\n",
        file.display(),
        human(v.bytes),
        v.bytes,
        v.sha256
    ))
}
