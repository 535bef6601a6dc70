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
        use color_eyre::eyre::WrapErr;
        let terminal = ratatui::try_init().wrap_err(
            "cannot open the full-screen cockpit: it needs an interactive terminal (`hatui status` prints a snapshot instead)",
        )?;
        Ok(Self { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}
