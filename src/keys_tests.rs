//! The key table's tests.

use super::*;

fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

#[test]
fn lab_keys_do_nothing_on_a_live_cluster() {
    let p = press(KeyCode::Char('P'), KeyModifiers::SHIFT);
    assert_eq!(
        lookup(&p, Here::lab()),
        Some(Action::Fault(FaultKind::PowerOff))
    );
    assert_eq!(lookup(&p, Here::live()), None);
    let s = press(KeyCode::Char('S'), KeyModifiers::SHIFT);
    assert_eq!(
        lookup(&s, Here::lab()),
        Some(Action::Fault(FaultKind::Shutdown))
    );
}

#[test]
fn ctrl_c_quits_but_plain_c_does_not() {
    assert_eq!(
        lookup(
            &press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Here::live()
        ),
        Some(Action::Quit)
    );
    assert_eq!(
        lookup(&press(KeyCode::Char('c'), KeyModifiers::NONE), Here::live()),
        None
    );
}

#[test]
fn wizard_keys_act_only_where_a_wizard_runs() {
    let enter = press(KeyCode::Enter, KeyModifiers::NONE);
    let w = press(KeyCode::Char('w'), KeyModifiers::NONE);
    assert_eq!(lookup(&w, Here::lab()), None);
    let bare = Here {
        wizard: true,
        ..Here::default()
    };
    assert_eq!(lookup(&w, bare), Some(Action::ToggleWizard));
    assert_eq!(lookup(&enter, bare), None, "closed: Enter does nothing");
    let open = Here {
        wizard_open: true,
        ..bare
    };
    assert_eq!(lookup(&enter, open), Some(Action::WizardRun));
}

#[test]
fn the_drill_keys_act_on_the_lab_and_on_a_live_cluster_with_an_inventory() {
    let d = press(KeyCode::Char('d'), KeyModifiers::NONE);
    assert_eq!(lookup(&d, Here::lab()), Some(Action::Drill));
    assert_eq!(
        lookup(&d, Here::live()),
        None,
        "no inventory: no hosts to drill"
    );
    let live = Here {
        drill: true,
        ..Here::live()
    };
    assert_eq!(lookup(&d, live), Some(Action::Drill));
}

#[test]
fn every_key_is_bound_once() {
    let mut seen = std::collections::HashSet::new();
    for b in BINDINGS {
        for k in b.keys {
            assert!(seen.insert((k.code, k.mods)), "{} bound twice", k.label());
        }
    }
}

#[test]
fn f_answers_in_the_wizard_but_is_in_the_bar_only_when_a_fix_exists() {
    let f = press(KeyCode::Char('f'), KeyModifiers::NONE);
    let open = Here {
        wizard: true,
        wizard_open: true,
        ..Here::default()
    };
    assert_eq!(lookup(&f, open), Some(Action::WizardFix));
    let in_bar = |here| bar(here).any(|b| b.action == Action::WizardFix);
    assert!(!in_bar(open));
    let fix = Here {
        wizard_fix: true,
        ..open
    };
    assert!(in_bar(fix));
}
