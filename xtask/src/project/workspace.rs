//! Reading the workspace from the machine: `cargo metadata`, Cargo.lock,
//! cargo's home (runs cargo).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::model::workspace::{self, Package, Workspace};

/// Runs `cargo metadata` for the workspace containing the current directory.
pub(crate) fn load(sh: &Shell) -> Result<Workspace> {
    let json = cmd!(sh, "cargo metadata --format-version 1 --no-deps")
        .read()
        .context("running `cargo metadata` (is this inside the workspace?)")?;
    workspace::parse_metadata(&json)
}

/// `cargo metadata` with the resolved graph of `app` built for `triple`
/// with `features` (cargo arguments): what `model::deps` reads. `--locked`:
/// the list must describe the Cargo.lock the release is built from.
pub(crate) fn resolve(
    sh: &Shell,
    ws: &Workspace,
    app: &Package,
    triple: &str,
    features: &[String],
) -> Result<String> {
    let manifest = &app.manifest_path;
    let _dir = sh.push_dir(&ws.root);
    let out = cmd!(
        sh,
        "cargo metadata --format-version 1 --locked --filter-platform {triple} --manifest-path {manifest} {features...}"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("running `cargo metadata`")?;
    if !out.status.success() {
        // Cargo's own words, for the caller to explain (a stale Cargo.lock).
        anyhow::bail!(
            "`cargo metadata` for the dependencies of {} on {triple} failed: {}",
            app.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("`cargo metadata` printed something other than UTF-8")
}

/// Whether any build of `app`, for any platform, may compile C: its
/// Cargo.lock graph reaches the `cc` or `cmake` crate. Reading the lock
/// file costs nothing, so pure-Rust apps skip probing for C compilers.
pub(crate) fn may_compile_c(ws: &Workspace, app: &Package) -> bool {
    match std::fs::read_to_string(ws.root.join("Cargo.lock")) {
        Ok(lock) => workspace::lock_reaches(&lock, &app.name, &["cc", "cmake"]),
        // No lock file: assume it might, and look for a compiler.
        Err(_) => true,
    }
}

/// Cargo's home directory, whose paths must not leak into binaries.
pub(crate) fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}
