//! rustup: make sure each target's standard library is installed, once, in Rust
//! (the seed's hand-written "Maybe install target" CI step).

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::target::Target;

/// Installs `target` with rustup unless it is already there.
pub(crate) fn ensure_target(sh: &Shell, target: &Target) -> Result<()> {
    let triple = target.triple;
    let installed = cmd!(sh, "rustup target list --installed")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("cannot ask rustup which targets are installed; install rustup, or run `rustup target add {triple}` yourself"))?;
    if installed.lines().any(|l| l.trim() == triple) {
        return Ok(());
    }
    eprintln!("    installing target {triple} (rustup target add {triple})");
    let output = cmd!(sh, "rustup target add {triple}").quiet().ignore_status().output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim();
        bail!(
            "`rustup target add {triple}` failed: {why}; the toolchain's download mirror may not serve this target. \
             Run `rustup target add {triple}` by hand, or remove `{triple}` from [dist].targets"
        );
    }
    Ok(())
}

/// Whether `tool` is an executable file in a directory on PATH.
pub(crate) fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}
