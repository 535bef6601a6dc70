//! The live drill in the cockpit (`d` in `hatui --inventory FILE`): a task that takes the
//! app's drill commands, watches the cluster with its own sources (connected at the first
//! `d`), plans, runs the fault over SSH and sends the drill pane what was measured. When
//! the cockpit goes away mid-drill (quit, SIGTERM), its command channel closes and the
//! drill restores before the task ends: the runtime waits for it.

use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use super::host::Host;
use super::{LiveCluster, Run, SETTLE, Watched, power_note};
use crate::drill::cockpit::{DrillCommand, DrillUpdate, Progress};
use crate::drill::headless::plan_text;
use crate::drill::{Drill, Refusal};
use hatui_fleet::audit::Audit;

/// Runs until the app's command channel closes (and any drill has restored); what to tell
/// the operator after the cockpit is gone, when a drill was running then.
pub async fn run<M>(
    req: LiveCluster,
    report_dir: PathBuf,
    mut commands: mpsc::Receiver<DrillCommand>,
    tx: mpsc::Sender<M>,
) -> Option<String>
where
    M: From<DrillUpdate> + Send + 'static,
{
    let mut watched: Option<Watched> = None;
    let mut progress = Progress::new(report_dir);
    while let Some(command) = commands.recv().await {
        let said = match command {
            DrillCommand::Plan(spec) => match watch(&mut watched, &req).await {
                Ok(w) => match w.plan(&spec, &req.inventory.drill_state_dir) {
                    Ok(plan) => {
                        let mut text = plan_text(&plan);
                        if plan.spec.fault.powers_off() {
                            text += &power_note(&plan);
                        }
                        DrillUpdate::Planned { spec, text }
                    }
                    Err(r) => DrillUpdate::Refused(r),
                },
                Err(why) => DrillUpdate::Refused(Refusal::plain(why)),
            },
            DrillCommand::Start(spec) => {
                let w = match watch(&mut watched, &req).await {
                    Ok(w) => w,
                    Err(why) => {
                        let _ = tx
                            .send(DrillUpdate::Refused(Refusal::plain(why)).into())
                            .await;
                        continue;
                    }
                };
                w.drain();
                let plan = match w.plan(&spec, &req.inventory.drill_state_dir) {
                    Ok(p) => p,
                    Err(r) => {
                        let _ = tx.send(DrillUpdate::Refused(r).into()).await;
                        continue;
                    }
                };
                let audit = Audit::for_cluster(&req.inventory.name);
                let host = match Host::connect(&req.inventory, &plan.target, &req.ssh, audit).await
                {
                    Ok(h) => h,
                    Err(why) => {
                        let why = Refusal::plain(format!("{why}; nothing was run"));
                        let _ = tx.send(DrillUpdate::Refused(why).into()).await;
                        continue;
                    }
                };
                progress.reset();
                let run = Run::start(plan, w, host);
                if let Some(gone) = drive(run, w, &mut commands, &mut progress, &tx).await {
                    return Some(gone);
                }
                continue;
            }
            // Nothing runs: nothing to restore.
            DrillCommand::Abort => continue,
        };
        if tx.send(said.into()).await.is_err() {
            return None;
        }
    }
    None
}

/// The cluster's sources, started at the first need and kept.
async fn watch<'a>(
    watched: &'a mut Option<Watched>,
    req: &LiveCluster,
) -> Result<&'a mut Watched, String> {
    if watched.is_none() {
        let w = Watched::connect(&req.kubeconfig, &req.etcd).await;
        let mut w = w.map_err(|e| e.to_string())??;
        w.settle(SETTLE).await;
        *watched = Some(w);
    }
    Ok(watched.as_mut().expect("just set"))
}

/// Runs `run` to its end, Esc interrupting it; `Some(what happened)` when the cockpit went
/// away meanwhile (the drill restored first).
async fn drive<M>(
    mut run: Run,
    w: &mut Watched,
    commands: &mut mpsc::Receiver<DrillCommand>,
    progress: &mut Progress,
    tx: &mpsc::Sender<M>,
) -> Option<String>
where
    M: From<DrillUpdate> + Send + 'static,
{
    let (abort, mut aborts) = mpsc::channel(4);
    let mut abort = Some(abort);
    // The latest view: the app's queue takes them one at a time, none is lost at the end.
    let (latest_tx, mut latest) = watch::channel::<Option<DrillUpdate>>(None);
    let mut tell = |d: &Drill| {
        if let Some(u) = progress.update(d) {
            latest_tx.send_replace(Some(u));
        }
    };
    let mut open = true;
    {
        let done = run.until_done(w, &mut aborts, &mut tell);
        tokio::pin!(done);
        loop {
            tokio::select! {
                _ = &mut done => break,
                Ok(()) = latest.changed() => {
                    let view = latest.borrow_and_update().clone();
                    if let Some(u) = view {
                        let _ = tx.send(u.into()).await;
                    }
                }
                got = commands.recv(), if open => match got {
                    Some(DrillCommand::Abort) => {
                        if let Some(a) = &abort {
                            let _ = a.send(()).await;
                        }
                    }
                    Some(_) => {
                        let busy = DrillUpdate::Refused(Refusal::plain("a drill is running"));
                        let _ = tx.send(busy.into()).await;
                    }
                    // The cockpit is gone: closing the aborts restores at once.
                    None => {
                        open = false;
                        abort = None;
                    }
                },
            }
        }
    }
    let last = match latest.has_changed() {
        Ok(true) => latest.borrow_and_update().clone(),
        _ => None,
    };
    if let Some(u) = last {
        let _ = tx.send(u.into()).await;
    }
    if let Err(why) = run.clean_up().await {
        let note = DrillUpdate::Refused(Refusal::plain(why));
        let _ = tx.send(note.into()).await;
    }
    drop(abort);
    let d = &run.drill;
    let restored = if d.restored {
        "restored"
    } else {
        "NOT restored"
    };
    let note = d.restore_note.as_deref().unwrap_or_default();
    (!open).then(|| format!("the drill on {} was {restored} ({note})", d.target()))
}
