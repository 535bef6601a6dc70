//! scratch (not committed)
use crossterm::event::KeyCode;
use hatui::scenes::SCENES;
use hatui::screen::text;
use std::time::Duration;

#[test]
fn show() {
    let spec = std::env::var("SHOW").unwrap_or_default();
    // SHOW=scene:WxH:keys  keys: chars; '.'=advance 5s
    let mut parts = spec.split(':');
    let name = parts.next().unwrap_or("healthy");
    let size = parts.next().unwrap_or("80x24");
    let keys = parts.next().unwrap_or("");
    let (w, h) = size.split_once('x').unwrap();
    let s = SCENES.iter().find(|s| s.name == name).unwrap();
    let mut d = s.driver();
    for c in keys.chars() {
        match c {
            '.' => d.advance(Duration::from_secs(5)),
            '~' => d.press(KeyCode::Esc),
            '>' => d.press(KeyCode::PageDown),
            '<' => d.press(KeyCode::PageUp),
            'v' => d.press(KeyCode::Down),
            '\t' | 'T' => d.press(KeyCode::Tab),
            c => d.press(KeyCode::Char(c)),
        }
    }
    println!(
        "{}",
        text(&d.render(w.parse().unwrap(), h.parse().unwrap()))
    );
}
