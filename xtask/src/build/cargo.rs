//! Running `cargo build`: its JSON messages read, its progress streamed to
//! the terminal as cargo wrote it, and the failures we can explain in one
//! line (a stale Cargo.lock, a missing C compiler, a program a build script
//! runs and this machine lacks, a library of the machine a static build
//! cannot use) explained (runs cargo).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::build::{ctool, syslib};
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
    let triple = what.rsplit(' ').next().unwrap_or(what).to_owned();
    if let Some(krate) = missing_compiler(held) {
        return Err(ctool::MissingCCompiler {
            krate,
            triple,
            log: log.to_owned(),
        }
        .into());
    }
    if let Some((krate, program)) = missing_program(held) {
        return Err(MissingProgram {
            krate,
            program,
            triple,
            log: log.to_owned(),
        }
        .into());
    }
    // Only a static musl build is told to build the library from source.
    let script = failing_build_script(held);
    if triple.contains("-musl")
        && let Some(found) = syslib::explain(
            script.as_deref(),
            held,
            &stderr.all,
            &triple,
            log.to_owned(),
        )
    {
        return Err(found.into());
    }
    eprint!("{}", stderr.held_raw);
    bail!("`cargo build` of {what} failed (cargo's messages are above)");
}

/// The crate whose build script failed: cargo's `failed to run custom build
/// command for `<crate>`` block.
fn failing_build_script(cargo_stderr: &str) -> Option<String> {
    let marker = "failed to run custom build command for `";
    let start = cargo_stderr.find(marker)? + marker.len();
    let name = &cargo_stderr[start..];
    Some(name[..name.find('`')?].to_owned())
}

/// The crate whose build script failed, when it failed for want of a C
/// compiler: the cc crate's "failed to find tool".
pub(crate) fn missing_compiler(cargo_stderr: &str) -> Option<String> {
    if !cargo_stderr.to_lowercase().contains("failed to find tool") {
        return None;
    }
    failing_build_script(cargo_stderr)
}

/// A build script ran a program this machine does not have: `make` (to
/// build jemalloc after its `configure`, as ripgrep's and fd's musl builds
/// do), `cmake`, `perl` (OpenSSL's own sources). The one line the user
/// sees instead of the build script's output.
#[derive(Debug)]
pub(crate) struct MissingProgram {
    /// The crate whose build script failed, with its version.
    pub(crate) krate: String,
    pub(crate) program: String,
    pub(crate) triple: String,
    /// Cargo's full output.
    pub(crate) log: PathBuf,
}

impl std::fmt::Display for MissingProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let program = &self.program;
        write!(
            f,
            "{} runs `{program}` to build for {}, and `{program}` is not installed here: install it \
             (on Debian or Ubuntu, `apt-get install {program}`) and run this again (cargo's full output: {})",
            self.krate,
            self.triple,
            self.log.display()
        )
    }
}

impl std::error::Error for MissingProgram {}

/// The crate and the program, when a build script failed because a program
/// it runs is not installed: the cmake crate's "is `cmake` not installed?",
/// or a "No such file or directory" right after the script printed the
/// command it was running (`running: cd "…" && VAR="…" "make"`, as Rust's
/// `Command` shows itself).
fn missing_program(cargo_stderr: &str) -> Option<(String, String)> {
    let krate = failing_build_script(cargo_stderr)?;
    if let Some(rest) = cargo_stderr.split("is `").nth(1)
        && let Some((program, tail)) = rest.split_once('`')
        && tail.starts_with(" not installed")
    {
        return Some((krate, program.to_owned()));
    }
    // Rust's words for ENOENT from spawning: a compiler's own "No such file
    // or directory" for a missing header has no "os error".
    let not_found = cargo_stderr.find("No such file or directory (os error 2)")?;
    let command = cargo_stderr[..not_found]
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("running: "))?;
    let last = command.rsplit("&&").next()?;
    let program = shell_words(last)
        .into_iter()
        .find(|word| !is_assignment(word))?;
    let name = program.rsplit('/').next()?.to_owned();
    (!name.is_empty()).then_some((krate, name))
}

/// `text` split into words as a shell would, double quotes removed.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// `NAME=value`: an environment variable set for the command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_compiler_is_recognised_and_the_crate_named() {
        let stderr = "   Compiling zstd-sys v2.0.16+zstd.1.5.7\nerror: failed to run custom build command for `zstd-sys v2.0.16+zstd.1.5.7`\n\nCaused by:\n  process didn't exit successfully\n  --- stderr\n\n  error occurred in cc-rs: failed to find tool \"x86_64-linux-musl-gcc\": No such file or directory (os error 2)\n";
        assert_eq!(
            missing_compiler(stderr).as_deref(),
            Some("zstd-sys v2.0.16+zstd.1.5.7")
        );
        assert_eq!(missing_compiler("error[E0308]: mismatched types"), None);
    }

    /// ripgrep's musl build in a root without make: jemalloc's configure
    /// ran (with the pinned zig), then `make` was not there.
    #[test]
    fn a_program_a_build_script_runs_and_the_machine_lacks_is_named() {
        let jemalloc = "error: failed to run custom build command for `tikv-jemalloc-sys v0.6.1+5.3.0`\n\
            \nCaused by:\n  process didn't exit successfully\n  --- stdout\n\
            running: cd \"/p/out/build\" && CC=\"/w/zig-cc\" \"sh\" \"/p/configure\"\n\
            running: cd \"/p/out/build\" && MAKEFLAGS=\"-j --jobserver-fds=8,9 --jobserver-auth=8,9\" \"make\"\n\
            \n  --- stderr\n  thread 'main' panicked at build.rs:407:19:\n\
            failed to execute command: No such file or directory (os error 2)\n";
        assert_eq!(
            missing_program(jemalloc),
            Some(("tikv-jemalloc-sys v0.6.1+5.3.0".into(), "make".into()))
        );
        let cmake = "error: failed to run custom build command for `libz-ng-sys v1.1.16`\n\
            --- stderr\n\nfailed to execute command: No such file or directory (os error 2)\n\
            is `cmake` not installed?\n";
        assert_eq!(
            missing_program(cmake),
            Some(("libz-ng-sys v1.1.16".into(), "cmake".into()))
        );
        // A build script that failed otherwise is not given this line, nor
        // one whose compiler ran and missed a header.
        let other =
            "error: failed to run custom build command for `foo v1.0.0`\n--- stderr\nboom\n";
        assert_eq!(missing_program(other), None);
        let header = "error: failed to run custom build command for `openssl-sys v0.9.1`\n\
            running: \"cc\" \"-c\" \"x.c\"\nx.c:1:10: fatal error: openssl/ssl.h: No such file or directory\n";
        assert_eq!(missing_program(header), None);
        let text = MissingProgram {
            krate: "tikv-jemalloc-sys v0.6.1".into(),
            program: "make".into(),
            triple: "x86_64-unknown-linux-musl".into(),
            log: PathBuf::from("/t/cargo.log"),
        }
        .to_string();
        assert!(
            text.starts_with("tikv-jemalloc-sys v0.6.1 runs `make` to build for x86_64-unknown-linux-musl, and `make` is not installed here")
                && text.contains("apt-get install make")
                && text.contains("/t/cargo.log"),
            "{text}"
        );
    }
}
