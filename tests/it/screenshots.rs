//! The README's pictures are the lab scenes rendered to SVG. This test fails when a picture
//! no longer matches what the program draws; regenerate them with
//! `UPDATE_SCREENSHOTS=1 cargo test --test it screenshots`.

use std::path::PathBuf;

use hatui::scenes::SCENES;
use hatui_testkit::svg::buffer_to_svg;

#[test]
fn screenshots_match_what_the_program_draws() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    let update = std::env::var_os("UPDATE_SCREENSHOTS").is_some();
    let mut stale = Vec::new();
    for scene in SCENES {
        let svg = buffer_to_svg(&scene.render());
        let path = dir.join(format!("{}.svg", scene.name));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &svg).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(svg.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale screenshots {stale:?}: run `UPDATE_SCREENSHOTS=1 cargo test --test it screenshots`"
    );
}
