//! The drill's report as an audience reads it: the SVG chart beside the Markdown (parsed
//! here as XML: one lane per target, named; the fault and the restore marked where the run
//! had them; the control plane's events as labelled ticks), and the Markdown's cluster
//! line, seed, chart link and folded repeats.

use std::time::Duration;

use hatui_lab::{Lab, LabConfig};
use hatui_workflows::drill::headless::write_report;
use hatui_workflows::drill::markdown;
use hatui_workflows::drill::observe::Event;
use hatui_workflows::drill::{Drill, DrillFault, DrillSpec, Report};

const FAILED: &str = "#D62728";
const ANSWERED: &str = "#2EA043";

/// A power cut of the leader, 30 s, on a 3+2 lab of `seed`.
fn power_drill(seed: u64) -> Report {
    let mut lab = Lab::new(LabConfig::new(3, 2, seed, LabConfig::default().start));
    lab.advance(Duration::from_secs(3));
    let mut spec = DrillSpec::new(DrillFault::Power);
    spec.duration_ms = 30_000;
    let (mut d, _) = Drill::start(&mut lab, &spec).expect("the drill starts");
    d.run_to_end(&mut lab);
    Report::of(&d)
}

struct Text {
    x: f64,
    y: f64,
    text: String,
}

struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    fill: String,
}

fn num(n: roxmltree::Node, attr: &str) -> f64 {
    n.attribute(attr)
        .unwrap_or_else(|| panic!("{attr} on {n:?}"))
        .parse()
        .unwrap()
}

struct Chart {
    texts: Vec<Text>,
    rects: Vec<Rect>,
    /// Pixels of x = 0 s, and pixels a second, from the axis's own labels.
    origin: f64,
    scale: f64,
}

impl Chart {
    fn parse(svg: &str) -> Chart {
        let doc = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts: Vec<Text> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| Text {
                x: num(n, "x"),
                y: num(n, "y"),
                text: n.text().unwrap_or_default().trim().to_string(),
            })
            .collect();
        let rects = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .map(|n| Rect {
                x: num(n, "x"),
                y: num(n, "y"),
                w: num(n, "width"),
                h: num(n, "height"),
                fill: n.attribute("fill").unwrap_or_default().to_string(),
            })
            .collect();
        // The axis: labels `N s` at their seconds; the first and last give the scale.
        let axis: Vec<(f64, f64)> = texts
            .iter()
            .filter_map(|t| {
                let s: f64 = t.text.strip_suffix(" s")?.parse().ok()?;
                Some((s, t.x))
            })
            .collect();
        assert!(axis.len() >= 3, "the time axis is labelled");
        let (first, last) = (axis[0], axis[axis.len() - 1]);
        let scale = (last.1 - first.1) / (last.0 - first.0);
        Chart {
            origin: first.1 - first.0 * scale,
            scale,
            texts,
            rects,
        }
    }

    fn x(&self, s: f64) -> f64 {
        self.origin + s * self.scale
    }

    fn seconds(&self, x: f64) -> f64 {
        (x - self.origin) / self.scale
    }

    fn text(&self, text: &str) -> &Text {
        let found: Vec<&Text> = self.texts.iter().filter(|t| t.text == text).collect();
        assert_eq!(found.len(), 1, "one {text:?} in {:?}", self.all());
        found[0]
    }

    fn all(&self) -> Vec<&str> {
        self.texts.iter().map(|t| t.text.as_str()).collect()
    }

    /// The coloured spans in the lane named `name` (rects level with its name), in seconds.
    fn lane(&self, name: &str, fill: &str) -> Vec<(f64, f64)> {
        let y = self.text(name).y;
        let mut spans: Vec<(f64, f64)> = self
            .rects
            .iter()
            .filter(|r| r.fill == fill && r.y < y && y < r.y + r.h)
            .map(|r| (self.seconds(r.x), self.seconds(r.x + r.w)))
            .collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        spans
    }
}

/// Within a pixel and a half (plotters rounds to whole pixels).
fn near_px(chart: &Chart, got: f64, want_s: f64) -> bool {
    (got - chart.x(want_s)).abs() <= 1.5
}

#[test]
fn the_chart_has_a_named_lane_per_target_the_fault_and_restore_marked_and_events_ticked() {
    let r = power_drill(7);
    let dir = tempfile::tempdir().unwrap();
    let written = write_report(&r, dir.path()).expect("written");
    let svg = std::fs::read_to_string(&written.svg).unwrap();
    let chart = Chart::parse(&svg);
    let tolerance = 1.5 / chart.scale + 0.05;

    // One lane per target, named, with their answers and failures as the JSON has them.
    let mut lanes = vec![
        ("endpoint, new connections".to_string(), &r.api.endpoint),
        ("endpoint, kept alive".to_string(), &r.api.keepalive),
    ];
    for (node, a) in &r.api.masters {
        lanes.push((format!("{node} /readyz"), a));
    }
    assert_eq!(lanes.len(), 5, "two through the endpoint, three masters");
    for (name, a) in &lanes {
        let failed = chart.lane(name, FAILED);
        assert_eq!(failed.len(), a.outages.len(), "{name}: {failed:?}");
        for (got, want) in failed.iter().zip(&a.outages) {
            assert!(
                (got.0 - want.start_s).abs() < tolerance && (got.1 - want.end_s).abs() < tolerance,
                "{name}: drawn {got:?}, measured {:.1}-{:.1} s",
                want.start_s,
                want.end_s
            );
        }
        let answered = chart.lane(name, ANSWERED);
        let drawn: f64 = answered.iter().chain(&failed).map(|s| s.1 - s.0).sum();
        assert!(
            (drawn - r.ran_s).abs() < 3.0 * tolerance,
            "{name}: the lane covers the run ({drawn:.1} of {:.1} s)",
            r.ran_s
        );
    }
    let target = &r.fault.target;
    let own = chart.lane(&format!("{target} /readyz"), FAILED);
    assert!(
        own.first().is_some_and(|s| s.0 < 0.5),
        "the powered-off master fails from the fault on: {own:?}"
    );

    // The colours' key.
    for name in ["answered", "failed", "no sample"] {
        chart.text(name);
    }

    // The fault at 0 s and the restore where the run restored, both on the same axis.
    let restored = r.fault.restored_after_s.expect("restored");
    assert_eq!(restored, 30.0);
    assert!(near_px(&chart, chart.text("fault").x, 0.0));
    assert!(
        near_px(&chart, chart.text("restore").x, restored),
        "restore drawn at {:.1} s",
        chart.seconds(chart.text("restore").x)
    );
    assert!(
        r.ran_s > restored + 5.0,
        "the recovery is on the chart too: {}",
        r.ran_s
    );

    // The control plane's moments as labelled ticks, each at its time (label 3 px right).
    let old = r.before.etcd_leader.clone().unwrap();
    let new = r.etcd.new_leader.clone().unwrap();
    let node = r.test_pod.node.clone().unwrap();
    let mut ticks = vec![
        (format!("leader {old} lost"), r.etcd.leader_lost_after_s),
        (format!("leader {new} elected"), r.etcd.new_leader_after_s),
        (format!("{target} NotReady"), r.node.not_ready_after_s),
        (format!("test pod on {node}"), r.test_pod.scheduled_after_s),
    ];
    for l in &r.leases {
        if let Some(holder) = &l.new_holder {
            let short = l.name.trim_start_matches("kube-");
            ticks.push((format!("{short} lease → {holder}"), l.taken_over_after_s));
        }
    }
    assert!(ticks.len() >= 5, "a lease moved: {:?}", r.leases);
    for (label, at) in ticks {
        let at = at.unwrap_or_else(|| panic!("{label}: the run saw it"));
        let t = chart.text(&label);
        assert!(
            near_px(&chart, t.x - 3.0, at),
            "{label} at {:.1} s, measured {at:.1} s",
            chart.seconds(t.x - 3.0)
        );
    }
}

#[test]
fn the_markdown_links_the_chart_names_the_cluster_and_seed_and_folds_repeats() {
    let r = power_drill(11);
    let dir = tempfile::tempdir().unwrap();
    let written = write_report(&r, dir.path()).expect("written");
    let md = std::fs::read_to_string(&written.md).unwrap();
    let svg_name = written.svg.file_name().unwrap().to_str().unwrap();
    assert!(
        md.contains(&format!("]({svg_name})")),
        "the chart linked:\n{md}"
    );
    assert!(
        md.contains(
            "Cluster: the lab, 3 control planes, 2 workers, nlb in front, seed 11 (the same \
             seed replays this drill)."
        ),
        "{md}"
    );
    assert!(!md.contains("Interrupted"), "it ran to its end:\n{md}");
}

fn ev(at_s: f64, text: &str) -> Event {
    Event {
        at_s,
        text: text.into(),
        why: "because".into(),
    }
}

#[test]
fn repeated_events_fold_into_one_line_with_their_count_and_span() {
    let timeline = vec![
        ev(0.0, "fault: power cut of cp-1"),
        ev(0.3, "API through the endpoint failing: connection refused"),
        ev(0.1, "etcd leader cp-1 lost"),
        ev(0.9, "API through the endpoint failing: connection refused"),
        ev(1.2, "API through the endpoint failing: timed out"),
        ev(1.5, "API through the endpoint failing: connection refused"),
        ev(1.8, "API through the endpoint failing: connection refused"),
        ev(2.0, "etcd leader cp-2 (term 3)"),
        ev(30.0, "recovery: node cp-1 Ready"),
        ev(66.0, "node cp-1 NotReady (Ready=Unknown)"),
        ev(76.0, "recovery: node cp-1 Ready"),
    ];
    let groups = markdown::fold(&timeline);
    let counts: Vec<usize> = groups.iter().map(Vec::len).collect();
    assert_eq!(
        counts,
        [1, 5, 1, 1, 1, 1, 1],
        "failures fold into the place of the first; the rest stays in order"
    );
    let mut r = power_drill(3);
    r.timeline = timeline;
    let md = markdown::render(&r, None);
    assert!(
        md.contains(
            "- **0.3 s** API through the endpoint failing ×5 between 0.3 and 1.8 s (connection \
             refused; timed out): because"
        ),
        "{md}"
    );
    assert_eq!(
        md.matches("API through the endpoint failing").count(),
        1,
        "{md}"
    );
    assert!(
        md.contains("- **2.0 s** etcd leader cp-2 (term 3): because"),
        "{md}"
    );
}
