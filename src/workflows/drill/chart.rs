//! The report's chart (SVG, beside the Markdown that links it): one lane per target (the
//! endpoint on new connections, one kept-alive connection, each master's `/readyz`) showing
//! when it answered and when it failed, the fault and the restore as vertical marks, and
//! the moments the control plane moved (leader lost and elected, lease takeovers, NotReady,
//! the test pod scheduled) as labelled ticks under the lanes. Drawn from the report alone,
//! so the chart says what the JSON says.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::Report;
use super::series::Availability;

const WIDTH: u32 = 1000;
const LANE_PX: u32 = 30;
const EVENT_ROW_PX: u32 = 18;
/// Room for the title above the lanes, the axis below the events.
const TOP_PX: u32 = 50;
const BOTTOM_PX: u32 = 50;
const NAMES_PX: u32 = 190;
/// Above the lanes: the fault's and the restore's names.
const HEAD_PX: u32 = 22;
const FONT: &str = "sans-serif";
/// plotters draws text at size / 1.24 in SVG: 15 is a 12 px label.
const LABEL_SIZE: f64 = 15.0;

const ANSWERED: RGBColor = RGBColor(46, 160, 67);
const FAILED: RGBColor = RGBColor(214, 39, 40);
const UNSEEN: RGBColor = RGBColor(200, 200, 200);
const MARK: RGBColor = RGBColor(30, 30, 30);
const TICK: RGBColor = RGBColor(60, 90, 170);

/// One lane: its name and its spans in seconds since the fault, answered or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub name: String,
    pub spans: Vec<(f64, f64, bool)>,
}

/// One labelled tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub at_s: f64,
    pub label: String,
}

/// The lanes of `r`, top to bottom.
pub fn lanes(r: &Report) -> Vec<Lane> {
    let mut out = vec![
        lane("endpoint, new connections", &r.api.endpoint, r.ran_s),
        lane("endpoint, kept alive", &r.api.keepalive, r.ran_s),
    ];
    for (node, a) in &r.api.masters {
        out.push(lane(&format!("{node} /readyz"), a, r.ran_s));
    }
    out
}

/// Answered from the fault to the end of the run, but for the outages.
fn lane(name: &str, a: &Availability, end: f64) -> Lane {
    if a.samples == 0 {
        return Lane {
            name: format!("{name} (no samples)"),
            spans: Vec::new(),
        };
    }
    let mut spans = Vec::new();
    let mut at = 0.0;
    for o in &a.outages {
        if o.start_s > at {
            spans.push((at, o.start_s, true));
        }
        spans.push((o.start_s, o.end_s, false));
        at = o.end_s;
    }
    if end > at {
        spans.push((at, end, true));
    }
    Lane {
        name: name.to_string(),
        spans,
    }
}

/// The control plane's moments, in time order.
pub fn ticks(r: &Report) -> Vec<Tick> {
    let mut out = Vec::new();
    let mut tick = |at: Option<f64>, label: String| {
        if let Some(at_s) = at {
            out.push(Tick { at_s, label });
        }
    };
    let old = r.before.etcd_leader.as_deref().unwrap_or("?");
    tick(r.etcd.leader_lost_after_s, format!("leader {old} lost"));
    if let Some(new) = &r.etcd.new_leader {
        tick(r.etcd.new_leader_after_s, format!("leader {new} elected"));
    }
    for l in &r.leases {
        let short = l.name.trim_start_matches("kube-");
        if let Some(new) = &l.new_holder {
            tick(l.taken_over_after_s, format!("{short} lease → {new}"));
        }
    }
    tick(
        r.node.not_ready_after_s,
        format!("{} NotReady", r.fault.target),
    );
    if let Some(node) = &r.test_pod.node {
        tick(r.test_pod.scheduled_after_s, format!("test pod on {node}"));
    }
    out.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    out
}

/// Rows for the tick labels: each goes in the first row where it clears the one before.
fn rows(ticks: &[Tick], px_per_s: f64) -> Vec<usize> {
    let mut ends: Vec<f64> = Vec::new();
    ticks
        .iter()
        .map(|t| {
            let x = t.at_s * px_per_s;
            // plotters' own estimate for SVG: 0.7 em a character, plus a gap.
            let w = t.label.chars().count() as f64 * LABEL_SIZE / 1.24 / 1.24 * 0.7 + 8.0;
            let row = ends.iter().position(|&e| e <= x).unwrap_or(ends.len());
            if row == ends.len() {
                ends.push(0.0);
            }
            ends[row] = x + w;
            row
        })
        .collect()
}

/// The whole chart as SVG text.
pub fn render(r: &Report) -> Result<String, String> {
    let lanes = lanes(r);
    let ticks = ticks(r);
    let end = r
        .ran_s
        .max(r.fault.restored_after_s.unwrap_or(0.0))
        .max(1.0);
    let plot_px = f64::from(WIDTH - NAMES_PX - 30);
    let rows = rows(&ticks, plot_px / end);
    let event_rows = rows.iter().max().map_or(1, |m| m + 1) as u32;
    let height =
        TOP_PX + HEAD_PX + lanes.len() as u32 * LANE_PX + event_rows * EVENT_ROW_PX + BOTTOM_PX;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        draw(&root, r, &lanes, &ticks, &rows, end, event_rows).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw(
    root: &DrawingArea<SVGBackend, Shift>,
    r: &Report,
    lanes: &[Lane],
    ticks: &[Tick],
    rows: &[usize],
    end: f64,
    event_rows: u32,
) -> Drawn {
    root.fill(&WHITE)?;
    let lane_h = f64::from(LANE_PX);
    let row_h = f64::from(EVENT_ROW_PX);
    // y in pixels below the top of the plot: a band for the marks' names, the lanes, then
    // the rows of tick labels.
    let head = f64::from(HEAD_PX);
    let lanes_end = head + lanes.len() as f64 * lane_h;
    let plot_h = lanes_end + f64::from(event_rows) * row_h;
    let interrupted = r.interrupted.as_ref().map_or(String::new(), |i| {
        format!(" — interrupted at {:.1} s ({})", i.at_s, i.by)
    });
    let seed = r
        .lab
        .as_ref()
        .map_or(String::new(), |l| format!(", seed {}", l.seed));
    let title = format!(
        "Failover drill: {} ({}{seed}){interrupted}",
        r.fault.kind.headline(&r.fault.target),
        r.source
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin_top(10)
        .margin_right(30)
        .margin_bottom(10)
        .x_label_area_size(BOTTOM_PX - 10)
        .y_label_area_size(NAMES_PX)
        .build_cartesian_2d(0f64..end, plot_h..0f64)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_y_axis()
        .x_labels(12)
        .x_label_formatter(&|v| format!("{v:.0} s"))
        .x_desc("seconds since the fault")
        .draw()?;
    let name_style = TextStyle::from((FONT, LABEL_SIZE).into_font())
        .pos(Pos::new(HPos::Right, VPos::Center))
        .color(&BLACK);
    for (k, l) in lanes.iter().enumerate() {
        let top = head + k as f64 * lane_h;
        let (top, bottom) = (top + 6.0, top + lane_h - 6.0);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, top), (end, bottom)],
            UNSEEN.filled(),
        )))?;
        chart.draw_series(l.spans.iter().map(|&(a, b, ok)| {
            let color = if ok { ANSWERED } else { FAILED };
            Rectangle::new([(a, top), (b, bottom)], color.filled())
        }))?;
        let (x, y) = chart.backend_coord(&(0.0, (top + bottom) / 2.0));
        root.draw(&Text::new(l.name.clone(), (x - 8, y), name_style.clone()))?;
    }
    let label_style = TextStyle::from((FONT, LABEL_SIZE).into_font()).color(&MARK);
    // The fault at 0, the restore when it ran: lines across the lanes, named above them.
    let mut marks = vec![(0.0, "fault".to_string())];
    if let Some(at) = r.fault.restored_after_s {
        let name = match &r.interrupted {
            Some(i) if i.during == "fault" => "restore (interrupted)",
            _ => "restore",
        };
        marks.push((at, name.to_string()));
    }
    for (at, name) in marks {
        let line = [(at, head - 2.0), (at, lanes_end)];
        chart.draw_series(LineSeries::new(line, MARK.stroke_width(2)))?;
        let (x, y) = chart.backend_coord(&(at, head - 2.0));
        let style = label_style.pos(Pos::new(HPos::Left, VPos::Bottom));
        root.draw(&Text::new(name, (x, y - 4), style))?;
    }
    let tick_style = TextStyle::from((FONT, LABEL_SIZE).into_font()).color(&TICK);
    for (t, &row) in ticks.iter().zip(rows) {
        let y = lanes_end + row as f64 * row_h;
        chart.draw_series(LineSeries::new(
            [(t.at_s, lanes_end), (t.at_s, y + row_h)],
            TICK.stroke_width(1),
        ))?;
        let (x, py) = chart.backend_coord(&(t.at_s, y + row_h / 2.0));
        let style = tick_style.pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(t.label.clone(), (x + 3, py), style))?;
    }
    // The colours' key, bottom left under the lane names.
    let (_, h) = root.dim_in_pixel();
    let y = i32::try_from(h).unwrap_or(i32::MAX) - 16;
    let key_style = TextStyle::from((FONT, LABEL_SIZE).into_font())
        .pos(Pos::new(HPos::Left, VPos::Center))
        .color(&BLACK);
    let mut x = 10;
    for (color, name) in [
        (ANSWERED, "answered"),
        (FAILED, "failed"),
        (UNSEEN, "no sample"),
    ] {
        root.draw(&Rectangle::new(
            [(x, y - 5), (x + 10, y + 5)],
            color.filled(),
        ))?;
        root.draw(&Text::new(name, (x + 14, y), key_style.clone()))?;
        x += 24 + name.len() as i32 * 7;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_that_would_overlap_go_to_the_next_row() {
        let t = |at_s: f64| Tick {
            at_s,
            label: "leader cp-2 elected".into(),
        };
        // 10 px a second: labels of ~130 px clash within 13 s.
        assert_eq!(rows(&[t(0.0), t(1.0), t(30.0), t(2.0)], 10.0), [0, 1, 0, 2]);
    }

    #[test]
    fn a_lane_is_answered_but_for_its_outages() {
        let a = crate::drill::series::Series::new(100);
        let mut s = a.clone();
        for (k, e) in [None, Some("x"), Some("x"), None].into_iter().enumerate() {
            s.push(100 * (k as i64 + 1), e.map(String::from), Some(1.0));
        }
        let l = lane("ep", &s.summary(), 0.5);
        assert_eq!(
            l.spans,
            [(0.0, 0.2, true), (0.2, 0.4, false), (0.4, 0.5, true)]
        );
        assert!(lane("ep", &a.summary(), 1.0).name.contains("no samples"));
    }
}
