//! Running a binary nobody vouches for: in new user, mount, PID, network,
//! IPC and UTS namespaces, as an unprivileged uid with no capabilities, in
//! an empty root (a small tmpfs holding only the binary, a static qemu for
//! another CPU, and what `[dist].smoke-root` names), with limits on CPU time, memory, processes, file size
//! and open files. When its first process ends, or at the timeout, the
//! kernel kills every process it started. Where unprivileged user
//! namespaces are forbidden (GitHub's Ubuntu runners), `sudo -n` creates
//! the namespaces, and the binary still runs as `nobody` in them (runs the
//! binary, through this xtask's hidden `sandbox-exec` command).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::model::config::RootItem;
use crate::run::exec::{self, Captured, Stopped};
use crate::run::wine::Wine;

mod root;

/// The tree in the scratch directory the helper copies into the root.
const EXTRA: &str = "extra";

/// How long a sandboxed run may take (`XTASK_SMOKE_TIMEOUT_SECS` changes
/// it), and how much it may print.
pub(crate) fn timeout() -> Duration {
    let secs = std::env::var("XTASK_SMOKE_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    Duration::from_secs(secs.unwrap_or(30))
}
const OUTPUT_LIMIT: usize = 16 << 20;
/// The helper's exit code for "the sandbox could not be set up".
const SETUP_FAILED: i32 = 125;

/// What running in the sandbox gave.
#[derive(Debug)]
pub(crate) enum Outcome {
    Ran(Captured),
    /// The sandbox was made, but the binary could not be started in it
    /// (its loader is missing there, say); holds the system's words.
    NotStarted(String),
    /// It was started and stopped: timed out, or too much output.
    Stopped(Stopped),
    /// No sandbox can be made here; holds why. Nothing was run.
    Unavailable(String),
}

/// Whether the namespaces are made by this process or through `sudo -n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Direct,
    Sudo,
}

/// What starts the binary in the sandbox.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Under<'a> {
    /// Nothing: it is this machine's own kind of program.
    Itself,
    /// A static qemu-user, copied into the root: a Linux binary of another CPU.
    Qemu(&'a Path),
    /// Wine, from `/usr`, which the root then gets read-only (wine's
    /// libraries, the C library and loader it links, its Windows DLLs),
    /// with a prefix of its own staged from the registry `wineboot` made.
    Wine(&'a Wine, &'a Path),
}

/// Runs `binary` as `/<exe_name> args…`, started as `under` says, in the
/// sandbox. `root` names what the root holds besides (`[dist].smoke-root`).
pub(crate) fn run(
    binary: &[u8],
    exe_name: &str,
    args: &[String],
    under: Under<'_>,
    root: &[RootItem],
) -> Outcome {
    let mode = match mode() {
        Ok(mode) => mode,
        Err(why) => return Outcome::Unavailable(why),
    };
    let qemu = match under {
        Under::Qemu(qemu) => Some(qemu),
        Under::Itself | Under::Wine(..) => None,
    };
    let scratch = match Scratch::with(binary, qemu) {
        Ok(s) => s,
        Err(e) => return Outcome::Unavailable(format!("cannot prepare the sandbox's files: {e}")),
    };
    if !root.is_empty()
        && let Err(why) = root::stage(root, &scratch.path.join(EXTRA))
    {
        return Outcome::Unavailable(why);
    }
    if let Under::Wine(wine, registry) = under
        && let Err(why) = wine.stage(registry, &scratch.path.join(EXTRA))
    {
        return Outcome::Unavailable(why);
    }
    let mut command = helper(mode);
    command.arg(&scratch.path).arg(exe_name);
    match under {
        Under::Itself => {}
        Under::Qemu(_) => {
            command.arg("--qemu");
        }
        Under::Wine(wine, _) => {
            command.arg("--wine").arg(&wine.program);
        }
    }
    command.arg("--").args(args);
    match exec::run(command, timeout(), OUTPUT_LIMIT) {
        Ok(out) => match helper_message(&out.stderr) {
            Some((code, why)) if out.status.code() == Some(code) && code == SETUP_FAILED => {
                Outcome::Unavailable(why)
            }
            Some((code, why)) if out.status.code() == Some(code) && code == NOT_STARTED => {
                Outcome::NotStarted(why)
            }
            _ => Outcome::Ran(out),
        },
        Err(Stopped::NotStarted(why)) => Outcome::Unavailable(why),
        Err(stopped) => Outcome::Stopped(stopped),
    }
}

/// This run's tag on the helper's own messages. The binary shares the
/// helper's stderr but never sees its command line, so it cannot print a
/// message that passes for the helper's ("no sandbox here") to turn its
/// failure into a skip.
fn tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        // RandomState is seeded from the OS's random source.
        let word = || {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        };
        format!("{:016x}{:016x}", word(), word())
    })
}

/// The helper's tagged message, with the exit code it goes with: why the
/// sandbox could not be made, or why the binary did not start in it.
fn helper_message(stderr: &[u8]) -> Option<(i32, String)> {
    let text = String::from_utf8_lossy(stderr);
    let prefix = format!("sandbox-exec[{}]: ", tag());
    let message = text.lines().find_map(|l| l.strip_prefix(prefix.as_str()))?;
    match message.strip_prefix(STARTING) {
        Some(why) => Some((NOT_STARTED, why.to_owned())),
        None => Some((SETUP_FAILED, message.to_owned())),
    }
}

/// The helper's exit code when execve failed, and the words before why.
const NOT_STARTED: i32 = 127;
const STARTING: &str = "starting the binary: ";

/// This xtask as the sandbox's helper, through sudo where needed.
fn helper(mode: Mode) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("xtask"));
    let mut command = match mode {
        Mode::Direct => Command::new(exe),
        Mode::Sudo => {
            let mut c = Command::new("sudo");
            c.arg("-n").arg(exe);
            c
        }
    };
    command.arg("sandbox-exec").arg(tag());
    command
}

/// Probed once per run: can a sandbox be made, and how?
fn mode() -> Result<Mode, String> {
    static MODE: OnceLock<Result<Mode, String>> = OnceLock::new();
    MODE.get_or_init(probe).clone()
}

fn probe() -> Result<Mode, String> {
    if !cfg!(target_os = "linux") {
        return Err("the sandbox needs Linux namespaces".into());
    }
    let works = |mode: Mode| {
        let mut command = helper(mode);
        command.arg("--probe");
        match exec::run(command, Duration::from_secs(20), 1 << 16) {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(helper_message(&out.stderr)
                .map(|(_, why)| why)
                .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_owned())),
            Err(e) => Err(e.to_string()),
        }
    };
    let direct = match works(Mode::Direct) {
        Ok(()) => return Ok(Mode::Direct),
        Err(why) => why,
    };
    if crate::run::exec::on_path("sudo") && works(Mode::Sudo).is_ok() {
        return Ok(Mode::Sudo);
    }
    Err(format!(
        "no sandbox can be made here ({direct}); it needs unprivileged user namespaces, root, or `sudo -n`"
    ))
}

/// The binary (and qemu) the helper copies into the sandbox's root.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn with(binary: &[u8], qemu: Option<&Path>) -> std::io::Result<Scratch> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        // Made here, never reused: a directory someone else put at the name
        // in the shared temporary directory could have the binary swapped.
        let path = loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("xtask-sandbox-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => break path,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        let scratch = Scratch { path };
        std::fs::create_dir(scratch.path.join("root"))?;
        std::fs::write(scratch.path.join("prog"), binary)?;
        if let Some(qemu) = qemu {
            std::fs::copy(qemu, scratch.path.join("qemu"))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Readable by the helper whatever uid sudo gives it.
            for (name, mode) in [("", 0o755), ("root", 0o755), ("prog", 0o755)] {
                std::fs::set_permissions(
                    scratch.path.join(name),
                    std::fs::Permissions::from_mode(mode),
                )?;
            }
        }
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The hidden `sandbox-exec` command: `TAG --probe`, or
/// `TAG DIR EXE [--qemu | --wine PROGRAM] -- ARGS`. Runs in a process of its own,
/// single-threaded, so it may fork.
pub(crate) fn helper_main(args: &[String]) -> std::process::ExitCode {
    let Some((tag, args)) = args.split_first() else {
        eprintln!("usage: sandbox-exec TAG (--probe | DIR EXE [--qemu | --wine PROGRAM] -- ARGS)");
        return std::process::ExitCode::from(SETUP_FAILED as u8);
    };
    let say = |why: &str| eprintln!("sandbox-exec[{tag}]: {why}");
    #[cfg(target_os = "linux")]
    {
        linux::main(args, &say)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        say("the sandbox needs Linux namespaces");
        std::process::ExitCode::from(SETUP_FAILED as u8)
    }
}

#[cfg(target_os = "linux")]
mod fs;
#[cfg(target_os = "linux")]
mod linux;
