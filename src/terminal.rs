//! Entering and leaving the full-screen terminal, whatever happens.
//!
//! Three layers restore it: this guard's `Drop` (errors and normal exits), the panic hook
//! that `ratatui::init` chains in front of color-eyre's, and the runtime turning SIGTERM,
//! SIGHUP and SIGINT into a normal quit.

use ratatui::DefaultTerminal;

pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Call after `color_eyre::install()` so the panic report prints on a restored screen.
    pub fn enter() -> color_eyre::Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(Self { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}
