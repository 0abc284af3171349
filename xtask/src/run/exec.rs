//! Running a program whose output we keep: with a time limit, and with its
//! output read while it runs and capped, so a chatty program can neither
//! fill a pipe and stall nor fill our memory (runs the process).

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a finished program left.
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Why a run did not finish normally.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// It could not be started; holds why.
    NotStarted(String),
    /// Still running after the time limit; it was killed.
    TimedOut(Duration),
    /// It wrote more than the limit on stdout or stderr; it was killed.
    TooMuchOutput(usize),
    /// It ended, but a process it started outside its group held its output open.
    Lingered,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::NotStarted(why) => write!(f, "it could not be started: {why}"),
            Stopped::TimedOut(limit) => write!(f, "it did not finish within {} s", limit.as_secs()),
            Stopped::TooMuchOutput(limit) => {
                write!(f, "it wrote more than {limit} bytes of output")
            }
            Stopped::Lingered => {
                write!(
                    f,
                    "a process it started kept running and held its output open"
                )
            }
        }
    }
}

/// Runs `command` with no input; kills it after `timeout`, or as soon as it
/// has written more than `limit` bytes to either stream. Processes it
/// started are killed with it (its process group), and the output of one
/// that escaped the group is not waited for.
pub(crate) fn run(
    mut command: Command,
    timeout: Duration,
    limit: usize,
) -> Result<Captured, Stopped> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Stopped::NotStarted(format!("{:?}: {e}", command.get_program())))?;
    let overflow = Arc::new(AtomicBool::new(false));
    let stdout = reader(child.stdout.take().expect("piped"), limit, &overflow);
    let stderr = reader(child.stderr.take().expect("piped"), limit, &overflow);
    let started = Instant::now();
    let stopped = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if overflow.load(Ordering::Relaxed) => {
                break Err(Stopped::TooMuchOutput(limit));
            }
            Ok(None) if started.elapsed() > timeout => break Err(Stopped::TimedOut(timeout)),
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => break Err(Stopped::NotStarted(format!("waiting for it: {e}"))),
        }
    };
    // What it left behind goes with it.
    kill_group(&mut child);
    let (stdout, stderr) = match (collect(stdout), collect(stderr)) {
        (Some(out), Some(err)) => (out, err),
        _ => return Err(Stopped::Lingered),
    };
    let status = stopped?;
    if overflow.load(Ordering::Relaxed) {
        return Err(Stopped::TooMuchOutput(limit));
    }
    Ok(Captured {
        status,
        stdout,
        stderr,
    })
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(group) = libc::pid_t::try_from(child.id()) {
        // The group has the child's pid as its id (process_group(0) above).
        // A syscall, not `kill(1)`: procps is not on every machine (a
        // minimal Debian has no `kill` program).
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A reader's output, if its pipe closed soon: a process that left the
/// group may hold it open for as long as it likes.
fn collect(reader: std::thread::JoinHandle<Vec<u8>>) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !reader.is_finished() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Some(reader.join().expect("output reader"))
}

/// Reads `stream` to its end, keeping at most `limit` bytes, and raises
/// `overflow` when there is more.
fn reader(
    mut stream: impl Read + Send + 'static,
    limit: usize,
    overflow: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u8>> {
    let overflow = Arc::clone(overflow);
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return kept,
                Ok(n) if kept.len() + n > limit => {
                    overflow.store(true, Ordering::Relaxed);
                    return kept;
                }
                Ok(n) => kept.extend_from_slice(&buf[..n]),
            }
        }
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn output_larger_than_a_pipe_buffer_is_read_whole() {
        let out = run(
            sh("head -c 300000 /dev/zero"),
            Duration::from_secs(20),
            1 << 20,
        )
        .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 300_000);
    }

    #[test]
    fn too_much_output_and_too_much_time_are_told_apart() {
        let err = run(sh("yes"), Duration::from_secs(20), 100_000).unwrap_err();
        assert_eq!(err, Stopped::TooMuchOutput(100_000));
        let err = run(sh("exec sleep 5"), Duration::from_millis(200), 1000).unwrap_err();
        assert_eq!(err, Stopped::TimedOut(Duration::from_millis(200)));
        let err = run(Command::new("/no/such/program"), Duration::from_secs(1), 10).unwrap_err();
        assert!(matches!(err, Stopped::NotStarted(_)), "{err:?}");
    }

    #[test]
    fn what_it_leaves_behind_is_killed_or_not_waited_for() {
        // A child in the background holding stdout: killed with the group.
        let started = Instant::now();
        let out = run(sh("sleep 60 & echo done"), Duration::from_secs(20), 1000).unwrap();
        assert_eq!(out.stdout, b"done\n");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        // One that left the group: not waited for. The script waits until it
        // has left (its pid written after setsid): on a loaded machine the
        // script could otherwise end, and its group be killed, first. It
        // would hold the output for a minute; `run` gives up after 2 s, and
        // the bound below leaves a loaded machine room.
        let marker = std::env::temp_dir().join(format!("xtask-exec-left-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!(
            "setsid sh -c 'echo $$ > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"; exec sleep 60' '{m}' & while [ ! -e '{m}' ]; do sleep 0.01; done; echo done",
            m = marker.display()
        );
        let started = Instant::now();
        let err = run(sh(&script), Duration::from_secs(90), 1000).unwrap_err();
        let took = started.elapsed();
        if let Some(pid) = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|p| p.trim().parse::<libc::pid_t>().ok())
        {
            // SAFETY: kill(2) of the process this test started and left.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = std::fs::remove_file(&marker);
        assert_eq!(err, Stopped::Lingered);
        assert!(took < Duration::from_secs(30), "{took:?}");
    }
}

/// Whether `tool` is an executable file in a directory on PATH.
pub(crate) fn on_path(tool: &str) -> bool {
    find_on_path(tool).is_some()
}

/// Where `tool` is on PATH.
pub(crate) fn find_on_path(tool: &str) -> Option<std::path::PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// The xtask's cache on this machine, shared by every project: the pinned
/// zig, wine's prefix. `$XDG_CACHE_HOME/cargo-xtask`, else `~/.cache/cargo-xtask`.
pub(crate) fn user_cache() -> Option<std::path::PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))?;
    Some(cache.join("cargo-xtask"))
}

/// Runs `command` with the standard streams it was given (files, not
/// pipes: a daemon it leaves behind holds nothing this waits on) in a
/// process group of its own, killed whole after `timeout`; its exit status.
pub(crate) fn wait_detached(
    mut command: Command,
    timeout: Duration,
) -> Result<std::process::ExitStatus, Stopped> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| Stopped::NotStarted(format!("{:?}: {e}", command.get_program())))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if started.elapsed() > timeout => {
                kill_group(&mut child);
                return Err(Stopped::TimedOut(timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Stopped::NotStarted(format!("waiting for it: {e}"))),
        }
    }
}
