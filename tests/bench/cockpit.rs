//! Cockpit performance on a 5,000-node lab: frame time, update throughput, time to the
//! first frame, redraws of an idle cluster and peak memory. `cargo bench --bench cockpit`.
#![allow(clippy::unwrap_used)] // a test that cannot go on panics, and says where

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use hatui::app::App;
use hatui::lab::{Lab, LabConfig};
use hatui::message::Message;
use hatui::model::{ClusterEvent, ClusterState, Readiness, SourceKind};
use hatui::scenes::{Driver, scene_start};
use ratatui::{Terminal, backend::TestBackend};
use tokio::sync::mpsc;

const WORKERS: usize = 5000;

fn big_lab() -> Driver {
    Driver::new(LabConfig::new(3, WORKERS, 1, scene_start()))
}

fn frame(c: &mut Criterion) {
    let mut driver = big_lab();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("frame 200x60, 5000 nodes", |b| {
        b.iter(|| {
            terminal
                .draw(|f| hatui::view::draw(f, &mut driver.app))
                .unwrap();
        })
    });
}

fn updates(c: &mut Criterion) {
    let driver = big_lab();
    let nodes: Vec<_> = driver
        .app
        .cluster
        .nodes
        .iter()
        .skip(3)
        .take(1000)
        .cloned()
        .collect();
    let batch: Vec<ClusterEvent> = nodes
        .into_iter()
        .map(|mut n| {
            n.ready = Readiness::Unknown;
            ClusterEvent::NodeUpsert(n)
        })
        .collect();
    let mut group = c.benchmark_group("updates");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("1000 node updates", |b| {
        b.iter_batched_ref(
            big_lab,
            |d| black_box(d.app.update(Message::Cluster(batch.clone()))),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn first_frame(c: &mut Criterion) {
    c.bench_function("lab start to first frame, 5000 nodes", |b| {
        b.iter(|| {
            let mut d = big_lab();
            black_box(d.render(120, 40));
        })
    });
}

/// Redraws an idle 3-master lab asks for in one minute, through the real lab task on
/// tokio's paused clock: the 1 Hz countdown tick plus real changes, nothing more.
fn idle_redraws() -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let lab = Lab::new(LabConfig::new(3, 2, 1, scene_start()));
        let cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
        let mut app = App::new(cluster);
        let (tx, mut rx) = mpsc::channel(64);
        let (_faults, fault_rx) = mpsc::channel(1);
        tokio::spawn(hatui::runtime::lab_task::run(lab, 1.0, tx, fault_rx));
        let end = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut redraws = 0;
        while let Ok(Some(msg)) = tokio::time::timeout_at(end, rx.recv()).await {
            redraws += usize::from(app.update(msg).redraw);
        }
        redraws
    })
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    // Memory first, before criterion's own allocations: one lab of 5,000 nodes, drawn.
    let start = Instant::now();
    let mut d = big_lab();
    d.render(200, 60);
    println!("first frame of a 5000-node lab: {:?}", start.elapsed());
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS with a 5000-node lab drawn: {mb:.1} MB");
    }
    drop(d);
    println!("redraws of an idle lab in 60 s: {}", idle_redraws());

    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    frame(&mut c);
    updates(&mut c);
    first_frame(&mut c);
    c.final_summary();
}
