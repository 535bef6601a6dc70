//! Every lab scene at 80x24, 120x40 and 200x60 is drawn in whole rows, or in rows that say
//! they are not: text cut to fit ends in `…`. "Cut" is checked two ways:
//! - Edges: the word touching a pane's right border, the screen's right edge or the title
//!   bar's clock must end in `…` or be a whole word, one the same scene shows somewhere on
//!   a 400-column screen, where nothing needs cutting. `10.0.0.11:644` is not.
//! - Sentences: each timeline entry shown must read whole (its rows joined), from its
//!   clock to its last word. Below 120x40 (or for the last entry of a full pane) it may
//!   instead be the start of its text, ending in `…`.
//!
//! And nothing goes missing without a mark: the help scrolls to its last row, the key
//! bar keeps `?` and says when keys are left out, panes count the rows they cannot show
//! (or fold them), both leader leases stay in view, and a failed wizard step shows its
//! fix (and `f`) first.

use std::sync::mpsc;

use crossterm::event::{KeyCode, KeyEvent};
use hatui::app::App;
use hatui::keys::{self, BINDINGS};
use hatui::lab::LabConfig;
use hatui::message::{Command, Message};
use hatui::model::{ClusterState, SourceKind};
use hatui::scenes::{Driver, SCENES};
use hatui::view::format;
use hatui::wizard::cockpit::{self, WizardUpdate};
use hatui::wizard::engine::StepStatus;
use hatui::wizard::exec::LabExecutor;
use hatui::wizard::headless::{Scenario, lab_plan};
use hatui_testkit::screen;
use ratatui::buffer::Buffer;
use ratatui::{Terminal, backend::TestBackend};

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];
/// Wide enough that no scene cuts anything: its words are the vocabulary of whole words.
const WIDE: u16 = 400;
/// `" 09:01:20 UTC"`, right-aligned on the title bar.
const CLOCK_W: usize = 13;

#[test]
fn no_scene_cuts_a_row_without_an_ellipsis() {
    let mut failures = Vec::new();
    for scene in SCENES {
        let mut driver = scene.driver();
        let vocabulary = words(&driver.render(WIDE, 100));
        for (w, h) in SIZES {
            let buf = driver.render(w, h);
            let mut found = edge_cuts(&buf, &vocabulary);
            // A drill pane takes the timeline's place.
            if driver.app.drill.is_none() {
                found.extend(timeline_cuts(&buf, &driver, w >= 120 && h >= 40));
            }
            if !found.is_empty() {
                failures.push(format!(
                    "{} at {w}x{h}:\n  {}\n{}",
                    scene.name,
                    found.join("\n  "),
                    screen::text(&buf)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn is_border(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| ('\u{2500}'..='\u{257f}').contains(&c))
}

/// A border a row of text can run into from its left.
fn is_right_edge(s: &str) -> bool {
    matches!(s, "│" | "┃" | "╮" | "┓" | "╯" | "┛" | "┐" | "┘")
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && !is_border(s) && !s.chars().all(char::is_whitespace)
}

/// Each row's cells, a wide character's hidden neighbour as "".
fn cells(buf: &Buffer) -> Vec<Vec<String>> {
    (0..buf.area.height)
        .map(|y| {
            screen::cells(buf, y)
                .into_iter()
                .map(String::from)
                .collect()
        })
        .collect()
}

/// Every word on screen, split at blanks and borders.
fn words(buf: &Buffer) -> Vec<String> {
    let mut out = Vec::new();
    for row in cells(buf) {
        let mut word = String::new();
        for cell in row.iter().chain([&" ".to_string()]) {
            if is_word(cell) {
                word.push_str(cell);
            } else if !cell.is_empty() && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Words that run into an edge cut and unmarked.
fn edge_cuts(buf: &Buffer, vocabulary: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (y, row) in cells(buf).iter().enumerate() {
        let width = row.len();
        let mut edges: Vec<usize> = (1..width).filter(|&x| is_right_edge(&row[x])).collect();
        edges.push(width);
        let text: String = row.concat();
        if y == 0 && text.trim_end().ends_with(" UTC") && width > CLOCK_W {
            edges.push(width - CLOCK_W);
        }
        for x in edges {
            let mut start = x;
            while start > 0 && (is_word(&row[start - 1]) || row[start - 1].is_empty()) {
                start -= 1;
            }
            let word = row[start..x].concat();
            if word.is_empty() || word.ends_with('…') || vocabulary.contains(&word) {
                continue;
            }
            out.push(format!("row {y}: {word:?} cut at column {x} without …"));
        }
    }
    out
}

/// Timeline entries shown cut, or cut without `…`, against the state's own text.
fn timeline_cuts(buf: &Buffer, driver: &Driver, whole: bool) -> Vec<String> {
    let Some(shown) = timeline_entries(buf) else {
        return vec!["no Timeline pane on screen".to_string()];
    };
    let timeline = &driver.app.cluster.timeline;
    let offset = driver.app.ui.timeline.offset;
    let expected: Vec<String> = timeline
        .iter()
        .rev()
        .skip(offset)
        .map(|e| squeeze(&format!("{} {}", format::clock(e.at), e.text)))
        .collect();
    let mut out = Vec::new();
    for (i, got) in shown.iter().enumerate() {
        let Some(want) = expected.get(i) else {
            out.push(format!("timeline row {got:?} is no entry"));
            continue;
        };
        if got == want {
            continue;
        }
        let last_of_full_pane = i + 1 == shown.len() && expected.len() > shown.len();
        let marked = got
            .strip_suffix('…')
            .is_some_and(|start| want.starts_with(start.trim_end()));
        if !marked {
            out.push(format!("timeline entry {want:?} shown as {got:?}"));
        } else if whole && !last_of_full_pane {
            out.push(format!("timeline entry {want:?} cut to {got:?}"));
        }
    }
    out
}

/// The entries in the Timeline pane, newest first: a row starting with a clock begins one,
/// an indented row continues it.
fn timeline_entries(buf: &Buffer) -> Option<Vec<String>> {
    let rows = cells(buf);
    let (top, left) = rows.iter().enumerate().find_map(|(y, row)| {
        let text = row.concat();
        let at = text.find(" Timeline ")?;
        let x = format::width(&text[..at]);
        (x > 0 && matches!(row[x - 1].as_str(), "╭" | "┏")).then_some((y, x - 1))
    })?;
    let right =
        (left + 1..rows[top].len()).find(|&x| matches!(rows[top][x].as_str(), "╮" | "┓"))?;
    let mut entries: Vec<String> = Vec::new();
    for row in &rows[top + 1..] {
        if !matches!(row[left].as_str(), "│" | "┃") {
            break;
        }
        let inner = row[left + 1..right].concat();
        let starts_entry = inner.len() >= 9
            && inner.as_bytes()[2] == b':'
            && inner.as_bytes()[5] == b':'
            && inner[..8].bytes().all(|b| b.is_ascii_digit() || b == b':');
        match entries.last_mut() {
            _ if starts_entry => entries.push(squeeze(&inner)),
            Some(last) if inner.starts_with(' ') && !inner.trim().is_empty() => {
                last.push(' ');
                last.push_str(&squeeze(&inner));
            }
            _ => {}
        }
    }
    Some(entries)
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `?` then j/PgDn until the help's last row: every binding that applies and every row of
/// the help shows on the way, and the border says `↓ more` until the end.
#[test]
fn the_help_scrolls_to_its_last_row_at_every_size() {
    let scene = SCENES.iter().find(|s| s.name == "healthy").unwrap();
    for (w, h) in SIZES {
        for step in [KeyCode::Char('j'), KeyCode::PageDown] {
            let mut d = scene.driver();
            d.press(KeyCode::Char('?'));
            let here = d.app.here();
            let mut seen = String::new();
            let mut ended = false;
            for _ in 0..200 {
                let screen = screen::text(&d.render(w, h));
                seen.push_str(&screen);
                let more = screen.contains("↓ more");
                if screen.contains("Esc or ? closes this help") {
                    assert!(!more, "{w}x{h}: at the end, yet ↓ more:\n{screen}");
                    ended = true;
                    break;
                }
                assert!(more, "{w}x{h}: the help is cut without ↓ more:\n{screen}");
                d.press(step);
            }
            assert!(ended, "{w}x{h}: {step:?} never reached the help's end");
            for b in BINDINGS.iter().filter(|b| b.applies(here)) {
                let start: String = b.help.chars().take(20).collect();
                assert!(
                    seen.contains(&start),
                    "{w}x{h}: {} ({start:?}) never shown in the help",
                    b.keys_label()
                );
            }
            for mark in ["A E S C", "→ cp-1?", "FOR/AGE"] {
                assert!(seen.contains(mark), "{w}x{h}: no legend for {mark}");
            }
            // Esc closes it; the cockpit is back.
            d.press(KeyCode::Esc);
            let screen = screen::text(&d.render(w, h));
            assert!(!screen.contains(" Help "), "{screen}");
        }
    }
}

/// The key bar ends in `?` (its own binding, or `… ? all keys` when some were left out),
/// and a drill can be started from what it shows in the lab.
#[test]
fn the_key_bar_keeps_help_and_says_when_keys_are_left_out() {
    for scene in SCENES {
        let mut driver = scene.driver();
        for (w, h) in SIZES {
            let buf = driver.render(w, h);
            let text = screen::text(&buf);
            let bar = text
                .lines()
                .last()
                .unwrap_or_default()
                .trim_end()
                .to_string();
            let here = driver.app.here();
            let all = keys::bar(here).all(|b| {
                let key = b.keys[0].label();
                bar.contains(&format!("{key} {}", b.short))
            });
            assert!(
                bar.ends_with("… ? all keys") || (all && bar.contains("? help")),
                "{} at {w}x{h}: {bar:?}",
                scene.name
            );
            if here.drill && driver.app.drill.is_none() {
                assert!(
                    bar.contains("d drill"),
                    "{} at {w}x{h}: {bar:?}",
                    scene.name
                );
            }
        }
    }
}

/// Every node is a row of the Nodes pane or counted in its `+N more`; every certificate is
/// in the TTLs pane, folded with its kind (`apiservers ×3`) or counted; both leader leases
/// are in view. At every size, in every scene.
#[test]
fn panes_count_what_they_cannot_show_and_both_leases_stay() {
    let mut failures = Vec::new();
    for scene in SCENES {
        let mut driver = scene.driver();
        for (w, h) in SIZES {
            let buf = driver.render(w, h);
            let text = screen::text(&buf);
            let c = &driver.app.cluster;
            let at = format!("{} at {w}x{h}", scene.name);
            let rows = pane_rows(&buf, " Nodes ");
            let missing = c
                .nodes
                .listed("")
                .filter(|l| {
                    !rows
                        .iter()
                        .any(|r| r.starts_with(&format!("{} ", l.node.name)))
                })
                .count();
            if missing > 0 && !text.contains(&format!("+{missing} more")) {
                failures.push(format!(
                    "{at}: {missing} nodes missing, not counted\n{text}"
                ));
            }
            for cert in c.certificates.values() {
                let kind = cert.name.split_whitespace().next().unwrap_or_default();
                let folded = text.contains(&format!("{kind}s ×"));
                if !text.contains(&cert.name) && !folded && !text.contains(" more ") {
                    failures.push(format!("{at}: {} dropped silently\n{text}", cert.name));
                }
            }
            if driver.app.wizard_open() {
                continue;
            }
            for lease in c.leases.values() {
                let short = match lease.name.as_str() {
                    "kube-controller-manager" => "cm →",
                    _ => "sched →",
                };
                if !text.contains(&format!("{} ", lease.name)) && !text.contains(short) {
                    failures.push(format!("{at}: lease {} not in view\n{text}", lease.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The rows inside the pane whose title starts with `title`, border to border.
fn pane_rows(buf: &Buffer, title: &str) -> Vec<String> {
    let rows = cells(buf);
    let Some((top, left)) = rows.iter().enumerate().find_map(|(y, row)| {
        let text = row.concat();
        let at = text.find(title)?;
        let x = format::width(&text[..at]);
        (x > 0 && matches!(row[x - 1].as_str(), "╭" | "┏")).then_some((y, x - 1))
    }) else {
        return Vec::new();
    };
    let Some(right) =
        (left + 1..rows[top].len()).find(|&x| matches!(rows[top][x].as_str(), "╮" | "┓"))
    else {
        return Vec::new();
    };
    rows[top + 1..]
        .iter()
        .take_while(|row| matches!(row[left].as_str(), "│" | "┃"))
        .map(|row| row[left + 1..right].concat())
        .collect()
}

/// `hatui lab --bare --scenario swap-on`, `w`, Enter: preflight fails on worker-1. The
/// fix and `f` come first in the step's detail, before what failed, and the key bar has
/// `f runs the fix`.
#[test]
fn a_failed_step_shows_its_fix_first_and_f_in_the_key_bar() {
    let mut app = failed_swap_on();
    for (w, h) in SIZES {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        terminal
            .draw(|f| hatui::view::draw(f, &mut app))
            .expect("draw");
        let text = screen::text(terminal.backend().buffer());
        let bar = text.lines().last().unwrap_or_default();
        assert!(bar.contains("f runs the fix"), "{w}x{h}: {bar:?}\n{text}");
        let row = |needle: &str| text.lines().position(|l| l.contains(needle));
        let fix = row("┃fix: swap is on on worker-1");
        assert!(fix.is_some(), "{w}x{h}: no fix shown\n{text}");
        if h >= 40 {
            let key = row("f runs the fix, then the step again");
            let failed = row("exit code 1 on worker-1");
            assert!(
                key.is_some() && key > fix,
                "{w}x{h}: no key after the fix\n{text}"
            );
            assert!(
                failed.is_none() || failed > key,
                "{w}x{h}: error before the fix\n{text}"
            );
        }
    }
}

/// The wizard beside the cockpit on a bare lab with swap on, after `w` and Enter, once
/// preflight has failed.
fn failed_swap_on() -> App {
    let plan = lab_plan(3, 1).expect("the lab's plan");
    let cfg = LabConfig::new(3, 1, 9, LabConfig::default().start);
    let start = cfg.start;
    let mut exec = LabExecutor::new(cfg);
    Scenario::SwapOn.set_up(&mut exec, &plan);
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let (commands_tx, commands_rx) = mpsc::channel();
    let pause = Scenario::SwapOn.pause();
    std::thread::spawn(move || cockpit::run(exec, plan, 1e6, tx, commands_rx, pause));
    let cluster = ClusterState::new(SourceKind::Lab, "lab-api.hatui.local:6443", start);
    let mut app = App::with_wizard(cluster);
    let press = |app: &mut App, code| {
        let out = app.update(Message::Key(KeyEvent::from(code)));
        for c in out.commands {
            if let Command::Wizard(w) = c {
                commands_tx.send(w).expect("the wizard listens");
            }
        }
    };
    press(&mut app, KeyCode::Char('w'));
    let mut until = |app: &mut App, done: &dyn Fn(&Message) -> bool| loop {
        let msg = rx.blocking_recv().expect("the wizard runs");
        let stop = done(&msg);
        app.update(msg);
        if stop {
            break;
        }
    };
    until(&mut app, &|m| {
        matches!(m, Message::Wizard(WizardUpdate::Steps(_)))
    });
    press(&mut app, KeyCode::Enter);
    until(&mut app, &|m| {
        matches!(m, Message::Wizard(WizardUpdate::Steps(s))
            if s.reports.iter().any(|r| r.status == StepStatus::Failed))
    });
    app
}
