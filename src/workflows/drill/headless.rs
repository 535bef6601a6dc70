//! `hatui drill --lab ... --yes`: the whole drill on the lab's virtual clock, the plan said
//! first, the report written to the reports directory (and printed as JSON with `--json`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use hatui_lab::{Lab, LabConfig};

use super::engine::Drill;
use super::plan::{self, DrillSpec, Plan};
use super::report::Report;
use super::{chart, markdown};

/// The default `--report-dir`.
pub const DEFAULT_REPORT_DIR: &str = "./hatui-reports";

/// What `hatui drill --lab` was asked, as plain settings.
#[derive(Debug, Clone)]
pub struct LabDrill {
    pub config: LabConfig,
    pub spec: DrillSpec,
    /// `--yes`: no confirmation is possible headless, so without it the drill refuses.
    pub yes: bool,
    pub json: bool,
    pub report_dir: PathBuf,
    /// `--real-etcd`: the lab's etcd as real processes, the drill on the wall clock.
    pub real_etcd: bool,
}

/// What is said before the fault: target, quorum arithmetic, commands, expectation.
pub fn plan_text(p: &Plan) -> String {
    let f = p.spec.fault;
    let mut s = format!(
        "Drill: {} for {} s, then restore.\n{}\nOn {} this runs:\n",
        f.headline(&p.target),
        p.spec.duration_ms / 1000,
        p.arithmetic,
        p.target
    );
    for c in &p.commands {
        s += &format!("  {c}\n");
    }
    s += "and restores with:\n";
    for c in &p.restore_commands {
        s += &format!("  {c}\n");
    }
    s += &format!("What a real cluster will do: {}\n", f.expectation());
    s
}

/// Says `text` (the plan, on stderr with --json: stdout holds the JSON alone); without
/// `--yes`, refuses, saying `how` to confirm. `false`: refused (exit 2).
pub fn say_then_confirm(
    text: &str,
    plan: &Plan,
    yes: bool,
    json: bool,
    how: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<bool> {
    let said: &mut dyn Write = if json { &mut *err } else { &mut *out };
    write!(said, "{text}")?;
    if !yes {
        writeln!(
            err,
            "hatui drill: refusing to start without confirmation: the drill takes {} down. {how}",
            plan.target
        )?;
    }
    Ok(yes)
}

fn file_stem(r: &Report) -> String {
    // To the second: 2026-01-01T00:00:00 -> 20260101T000000.
    let when = r.fault.started_at.chars().take(19);
    let when: String = when.filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("drill-{}-{}-{when}", r.fault.kind.name(), r.fault.target)
}

/// Where a report went: the JSON, the Markdown and the chart the Markdown links.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub json: PathBuf,
    pub md: PathBuf,
    pub svg: PathBuf,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (j, m, s) = (self.json.display(), self.md.display(), self.svg.display());
        write!(f, "{j}, {m} and {s}")
    }
}

/// Writes `<stem>.json`, `<stem>.md` and `<stem>.svg` (the chart) under `dir`.
pub fn write_report(r: &Report, dir: &Path) -> io::Result<Written> {
    std::fs::create_dir_all(dir)?;
    let stem = file_stem(r);
    let at = |ext: &str| dir.join(format!("{stem}.{ext}"));
    let written = Written {
        json: at("json"),
        md: at("md"),
        svg: at("svg"),
    };
    let svg = chart::render(r).map_err(io::Error::other)?;
    std::fs::write(&written.json, r.to_json() + "\n")?;
    std::fs::write(&written.svg, svg)?;
    let chart_name = format!("{stem}.svg");
    std::fs::write(&written.md, markdown::render(r, Some(&chart_name)))?;
    Ok(written)
}

/// Runs the drill; returns the exit code: 0 ran and restored, 1 ran but did not restore (or
/// the report could not be written), 2 refused.
pub fn run(req: &LabDrill, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<i32> {
    run_on(Lab::new(req.config.clone()), req, out, err)
}

/// [`run`] on a lab that exists already (one the wizard built); `req.config` is not used.
pub fn run_on(
    mut lab: Lab,
    req: &LabDrill,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<i32> {
    let cfg = lab.config();
    let built = match &cfg.built_by_wizard {
        Some(steps) => format!(", built by the wizard's {} steps", steps.len()),
        None => String::new(),
    };
    let shape = format!(
        "Lab: {} control planes, {} workers, {} in front, seed {}{built} (the same seed \
         replays this drill).\n",
        cfg.control_planes, cfg.workers, cfg.lb, cfg.seed
    );
    let plan = match plan::check(&lab, &req.spec) {
        Ok(p) => p,
        Err(refusal) => {
            writeln!(err, "hatui drill: {refusal}")?;
            return Ok(2);
        }
    };
    let text = format!("{shape}{}", plan_text(&plan));
    let how = "Pass --yes to run it headless, or press d in `hatui lab` to confirm it there.";
    if !say_then_confirm(&text, &plan, req.yes, req.json, how, out, err)? {
        return Ok(2);
    }
    let (mut drill, _) = match Drill::start(&mut lab, &req.spec) {
        Ok(d) => d,
        Err(refusal) => {
            writeln!(err, "hatui drill: {refusal}")?;
            return Ok(2);
        }
    };
    drill.run_to_end(&mut lab);
    finish(&Report::of(&drill), req.json, &req.report_dir, out, err)
}

/// Prints the timeline and verdict (or the JSON) and writes the report; returns the exit
/// code: 0 restored, 1 not restored or the report not written.
pub fn finish(
    report: &Report,
    json: bool,
    report_dir: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<i32> {
    let written = write_report(report, report_dir);
    if json {
        writeln!(out, "{}", report.to_json())?;
    } else {
        writeln!(out, "\nTimeline (seconds since the fault):")?;
        for e in &report.timeline {
            writeln!(out, "  {:>6.1}  {}\n          {}", e.at_s, e.text, e.why)?;
        }
        writeln!(out, "\nVerdict:")?;
        for v in &report.verdict {
            writeln!(out, "  - {v}")?;
        }
    }
    match written {
        Ok(written) => {
            let said: &mut dyn Write = if json { &mut *err } else { &mut *out };
            writeln!(said, "Report: {written}")?;
        }
        Err(e) => {
            let dir = report_dir.display();
            writeln!(
                err,
                "hatui drill: could not write the report to {dir}: {e}; pick a writable \
                 directory with --report-dir"
            )?;
            return Ok(1);
        }
    }
    Ok(if report.recovery.restored { 0 } else { 1 })
}
