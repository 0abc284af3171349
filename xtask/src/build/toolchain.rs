//! rustup: make sure each target's standard library is installed, once, in Rust
//! (the seed's hand-written "Maybe install target" CI step).

use anyhow::{Context, Result, bail};
use std::path::Path;

use xshell::{Shell, cmd};

use xtask_inspect::target::Target;

use crate::run::exec::on_path;

/// The targets rustup has installed for the active toolchain; without
/// rustup (a distribution's or Nix's Rust, a bare toolchain in a build
/// root), the standard libraries the compiler's sysroot holds.
pub(crate) fn installed_targets(sh: &Shell) -> Result<Vec<String>> {
    if !on_path("rustup") {
        return sysroot_targets(sh);
    }
    let list = cmd!(sh, "rustup target list --installed").quiet().ignore_stderr().read().context(
        "cannot ask rustup which targets are installed; install rustup, or add the targets with `rustup target add`",
    )?;
    Ok(list
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect())
}

/// The targets whose standard library is in `rustc --print sysroot`.
fn sysroot_targets(sh: &Shell) -> Result<Vec<String>> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = cmd!(sh, "{rustc} --print sysroot")
        .quiet()
        .read()
        .with_context(|| {
            format!("asking `{rustc} --print sysroot` where the standard libraries are")
        })?;
    let rustlib = Path::new(sysroot.trim()).join("lib").join("rustlib");
    let entries = std::fs::read_dir(&rustlib)
        .with_context(|| format!("listing the standard libraries in {}", rustlib.display()))?;
    let mut targets: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("lib").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    targets.sort();
    Ok(targets)
}

/// `rustc -V` of the compiler cargo uses in `root` (`$RUSTC`, else the
/// toolchain rustup picks there), e.g. `rustc 1.95.0 (59807616e 2026-04-14)`.
pub(crate) fn rustc_version(sh: &Shell, root: &Path) -> Result<String> {
    let _dir = sh.push_dir(root);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = cmd!(sh, "{rustc} -V")
        .quiet()
        .read()
        .with_context(|| format!("asking `{rustc} -V` which compiler builds the release"))?;
    Ok(version.trim().to_owned())
}

/// The rustup toolchain of a stable compiler's `rustc -V`: `1.95.0` of
/// `rustc 1.95.0 (59807616e 2026-04-14)`. `None` for a beta, nightly or
/// local build, which no version number names.
pub(crate) fn stable_release(rustc_v: &str) -> Option<&str> {
    let version = rustc_v.strip_prefix("rustc ")?.split(' ').next()?;
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric.then_some(version)
}

/// Makes rustup's stable `version` the compiler of every later command of
/// `sh` (installed first, minimal: the targets follow as the build needs
/// them). For a rebuild with the release's compiler where the checkout
/// pins none.
pub(crate) fn use_release(sh: &Shell, version: &str) -> Result<()> {
    if !on_path("rustup") {
        bail!(
            "there is no rustup to install the release's compiler, Rust {version}, with: install it and run again"
        );
    }
    let _turn = rustup_turn()?;
    let args = [
        "toolchain",
        "install",
        version,
        "--profile",
        "minimal",
        "--no-self-update",
    ];
    if let Err(why) = rustup(sh, &args)? {
        bail!("`rustup toolchain install {version}` (the release's compiler) failed: {why}");
    }
    sh.set_var("RUSTUP_TOOLCHAIN", version);
    Ok(())
}

/// `rustup args`: `Err` with the gist of what it said when it failed.
fn rustup(sh: &Shell, args: &[&str]) -> Result<Result<(), String>> {
    let output = cmd!(sh, "rustup {args...}")
        .env("RUST_BACKTRACE", "0")
        .quiet()
        .ignore_status()
        .output()?;
    if output.status.success() {
        return Ok(Ok(()));
    }
    Ok(Err(summarize_rustup_error(&String::from_utf8_lossy(
        &output.stderr,
    ))))
}

/// Installs `target` with rustup unless it is in `installed` (from [`installed_targets`]).
pub(crate) fn ensure_target(sh: &Shell, target: &Target, installed: &[String]) -> Result<()> {
    let triple = target.triple;
    if installed.iter().any(|t| t == triple) {
        return Ok(());
    }
    // Two dists at once (parallel CI jobs, tests) must not both run rustup for
    // one target: the second fails with "detected conflict". Take turns.
    let _turn = rustup_turn()?;
    if installed_targets(sh)?.iter().any(|t| t == triple) {
        return Ok(()); // installed by whoever went first
    }
    if !on_path("rustup") {
        bail!(
            "this toolchain has no standard library for {triple} and there is no rustup to add it; \
             install it with the toolchain, or build the other targets with --target"
        );
    }
    eprintln!("    installing target {triple} (rustup target add {triple})");
    if let Err(why) = rustup(sh, &["target", "add", triple])? {
        bail!(
            "`rustup target add {triple}` failed: {why}; the toolchain's download mirror may not serve this target. \
             Run `rustup target add {triple}` by hand, or remove `{triple}` from [dist].targets"
        );
    }
    Ok(())
}

/// An exclusive lock on a per-machine file, held while rustup installs.
fn rustup_turn() -> Result<std::fs::File> {
    let path = std::env::temp_dir().join("xtask-rustup-target-add.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock()
        .with_context(|| format!("waiting for {}", path.display()))?;
    Ok(file)
}

/// rustup's error line and its innermost cause, without the backtrace.
fn summarize_rustup_error(stderr: &str) -> String {
    let error = stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::trim);
    let cause = stderr
        .lines()
        .skip_while(|l| !l.starts_with("Caused by:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Stack backtrace"))
        .last()
        .map(|l| {
            l.trim().split_once(": ").map_or(l.trim(), |(n, rest)| {
                if n.parse::<u32>().is_ok() {
                    rest
                } else {
                    l.trim()
                }
            })
        });
    match (error, cause) {
        (Some(e), Some(c)) => format!("{e} ({c})"),
        (Some(e), None) => e.to_owned(),
        _ => stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stable_compiler_is_named_by_its_version() {
        assert_eq!(
            stable_release("rustc 1.95.0 (59807616e 2026-04-14)"),
            Some("1.95.0")
        );
        assert_eq!(
            stable_release("rustc 1.96.0-nightly (0123abcd 2026-05-01)"),
            None
        );
        assert_eq!(
            stable_release("rustc 1.96.0-beta.3 (0123abcd 2026-05-01)"),
            None
        );
        assert_eq!(stable_release("rustc 1.95.0-dev"), None);
        assert_eq!(stable_release("clang 18"), None);
    }

    #[test]
    fn rustup_404_is_one_readable_line() {
        let stderr = "info: downloading component rust-std\ninfo: rolling back changes\n\
            error: component download failed for rust-std-armv7-unknown-linux-musleabihf\n\nCaused by:\n    \
            0: could not download file from 'https://x/y.tar.xz' to '/root/.rustup/downloads/z.partial'\n    \
            1: http request returned an unsuccessful status code: 404\n\nStack backtrace:\n   0: anyhow\n";
        assert_eq!(
            summarize_rustup_error(stderr),
            "component download failed for rust-std-armv7-unknown-linux-musleabihf \
             (http request returned an unsuccessful status code: 404)"
        );
        assert_eq!(summarize_rustup_error("something odd\n"), "something odd");
    }
}
