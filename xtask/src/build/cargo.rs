//! Running `cargo build`: its JSON messages read, its progress streamed to
//! the terminal as cargo wrote it, and the failures we can explain in one
//! line (a stale Cargo.lock, a missing C compiler) explained (runs cargo).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::build::ctool;
use crate::model::config::toml_string;
use crate::model::workspace::Workspace;

/// Where dist builds keep cargo's intermediates (`build.build-dir`), logs
/// and C wrappers, apart from what other cargo commands build.
pub(crate) fn build_dir(ws: &Workspace) -> PathBuf {
    ws.target_dir.join("dist-build")
}

/// `--config` for cargo's `build.build-dir`, [`build_dir`].
pub(crate) fn build_dir_config(ws: &Workspace) -> String {
    format!(
        "build.build-dir={}",
        toml_string(&build_dir(ws).to_string_lossy())
    )
}

/// What cargo says when `--locked` stops it from updating Cargo.lock.
pub(crate) const LOCKED_REFUSAL: &str = "--locked was passed";

/// The one line for a Cargo.lock that does not match the manifests.
pub(crate) const STALE_LOCK: &str = "Cargo.lock does not match the manifests, and a release is built only from the lock file \
     that is committed: run `cargo update --workspace` (or any cargo build), commit Cargo.lock, then run this again";

/// Cargo's stderr: everything, and the part held back from the terminal.
struct CargoStderr {
    /// Every line, colours removed.
    all: String,
    /// From the first failure we may say in one line on (a build script's
    /// failure, a stale Cargo.lock), colours removed: shown only if it is
    /// not one of those after all.
    held: Option<String>,
    /// `held` as cargo wrote it, colours kept, for showing it whole.
    held_raw: String,
}

/// The start of cargo's messages that `dist` may replace by one line.
fn starts_held_block(plain: &str) -> bool {
    plain.starts_with("error: failed to run custom build command for")
        || plain.starts_with("error: cannot update the lock file")
        || plain.contains("needs to be updated but --locked was passed")
}

/// The cc crate's warning that it found no compiler to ask for its family,
/// printed before it fails for want of that compiler (which we say in one
/// line, or answer by fetching zig) or when it needs none after all; only
/// the log keeps it.
fn is_missing_tool_warning(plain: &str) -> bool {
    plain.starts_with("warning: ")
        && plain.contains("Compiler family detection failed due to error: ToolNotFound")
}

/// `line` without ANSI escape sequences: cargo colours its messages when
/// told to (`CARGO_TERM_COLOR=always`, as many CI workflows set), and what
/// we look for must not depend on that.
pub(crate) fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates, then one final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC (hyperlinks): up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Runs cargo with JSON on stdout (for us) and its progress and diagnostics
/// streamed to our stderr as they come, so a compile error in the app reads
/// exactly as cargo wrote it, colours and all.
fn run_cargo(
    mut command: std::process::Command,
) -> Result<(std::process::ExitStatus, String, CargoStderr)> {
    use std::io::{BufRead, Read, Write};
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().context("starting `cargo build`")?;
    let stderr = child.stderr.take().expect("piped");
    let relay = std::thread::spawn(move || {
        let mut log = CargoStderr {
            all: String::new(),
            held: None,
            held_raw: String::new(),
        };
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let plain = strip_ansi(&line);
            log.all.push_str(&plain);
            log.all.push('\n');
            if is_missing_tool_warning(&plain) {
                continue;
            }
            if log.held.is_none() && starts_held_block(&plain) {
                log.held = Some(String::new());
            }
            match &mut log.held {
                Some(held) => {
                    held.push_str(&plain);
                    held.push('\n');
                    log.held_raw.push_str(&line);
                    log.held_raw.push('\n');
                }
                None => {
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            }
        }
        log
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .context("reading cargo's JSON messages")?;
    let status = child.wait().context("waiting for `cargo build`")?;
    let log = relay.join().expect("stderr relay thread panicked");
    Ok((status, stdout, log))
}

/// Runs a `cargo build` and returns its JSON messages; on failure, says in
/// one line what can be said in one line, else passes cargo's messages on.
pub(crate) fn run_checked(
    command: std::process::Command,
    log: &Path,
    what: &str,
) -> Result<String> {
    let (status, stdout, stderr) = run_cargo(command)?;
    if status.success() {
        return Ok(stdout);
    }
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(log, &stderr.all));
    }
    let held = stderr.held.as_deref().unwrap_or_default();
    if held.contains(LOCKED_REFUSAL) {
        bail!(STALE_LOCK);
    }
    if let Some(krate) = ctool::missing_compiler(held) {
        let triple = what.rsplit(' ').next().unwrap_or(what).to_owned();
        return Err(ctool::MissingCCompiler {
            krate,
            triple,
            log: log.to_owned(),
        }
        .into());
    }
    eprint!("{}", stderr.held_raw);
    bail!("`cargo build` of {what} failed (cargo's messages are above)");
}
