//! Running a binary nobody vouches for: in new user, mount, PID, network,
//! IPC and UTS namespaces, as an unprivileged uid with no capabilities, in
//! an empty root (a small tmpfs holding only the binary, and a static qemu
//! for another CPU), with limits on CPU time, memory, processes, file size
//! and open files. When its first process ends, or at the timeout, the
//! kernel kills every process it started. Where unprivileged user
//! namespaces are forbidden (GitHub's Ubuntu runners), `sudo -n` creates
//! the namespaces, and the binary still runs as `nobody` in them (runs the
//! binary, through this xtask's hidden `sandbox-exec` command).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::exec::{self, Captured, Stopped};

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

/// Runs `binary` as `/<exe_name> args…` (under `qemu`, a static qemu-user,
/// for another CPU) in the sandbox.
pub(crate) fn run(binary: &[u8], exe_name: &str, args: &[String], qemu: Option<&Path>) -> Outcome {
    let mode = match mode() {
        Ok(mode) => mode,
        Err(why) => return Outcome::Unavailable(why),
    };
    let scratch = match Scratch::with(binary, qemu) {
        Ok(s) => s,
        Err(e) => return Outcome::Unavailable(format!("cannot prepare the sandbox's files: {e}")),
    };
    let mut command = helper(mode);
    command.arg(&scratch.path).arg(exe_name);
    if qemu.is_some() {
        command.arg("--qemu");
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
    if crate::toolchain::on_path("sudo") && works(Mode::Sudo).is_ok() {
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
/// `TAG DIR EXE [--qemu] -- ARGS`. Runs in a process of its own,
/// single-threaded, so it may fork.
pub(crate) fn helper_main(args: &[String]) -> std::process::ExitCode {
    let Some((tag, args)) = args.split_first() else {
        eprintln!("usage: sandbox-exec TAG (--probe | DIR EXE [--qemu] -- ARGS)");
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
mod linux {
    use std::ffi::CString;
    use std::path::Path;
    use std::process::ExitCode;

    use super::{NOT_STARTED, SETUP_FAILED, STARTING};

    /// Prints one of the helper's own, tagged, messages.
    type Say<'a> = &'a dyn Fn(&str);

    /// The uid and gid the binary has inside; outside it is ours, or
    /// `nobody` when we are root.
    const INSIDE: u32 = 1000;
    const NOBODY: u32 = 65534;

    pub(super) fn main(args: &[String], say: Say) -> ExitCode {
        match run(args, say) {
            Ok(code) => ExitCode::from(code),
            Err(why) => {
                say(&why);
                ExitCode::from(SETUP_FAILED as u8)
            }
        }
    }

    fn check(what: &str, result: libc::c_int) -> Result<(), String> {
        if result == -1 {
            Err(format!("{what}: {}", std::io::Error::last_os_error()))
        } else {
            Ok(())
        }
    }

    fn cstr(s: &str) -> Result<CString, String> {
        CString::new(s).map_err(|_| format!("`{s}` holds a NUL byte"))
    }

    /// What the helper was asked to do. `dir` holds `prog` (and `qemu`);
    /// without it, only whether a sandbox can be made is tried.
    struct Request {
        dir: Option<String>,
        exe: String,
        qemu: bool,
        args: Vec<String>,
    }

    impl Request {
        fn parse(args: &[String]) -> Result<Request, String> {
            if args.first().map(String::as_str) == Some("--probe") {
                return Ok(Request {
                    dir: None,
                    exe: String::new(),
                    qemu: false,
                    args: Vec::new(),
                });
            }
            let usage = "usage: sandbox-exec TAG DIR EXE [--qemu] -- ARGS";
            let dir = args.first().ok_or(usage)?.clone();
            let exe = args.get(1).ok_or(usage)?.clone();
            if exe.is_empty() || exe.contains('/') {
                return Err(format!("`{exe}` is not a plain file name"));
            }
            let rest = &args[2..];
            let after = rest
                .iter()
                .position(|a| a == "--")
                .map_or(rest.len(), |p| p + 1);
            Ok(Request {
                dir: Some(dir),
                exe,
                qemu: rest.first().map(String::as_str) == Some("--qemu"),
                args: rest[after..].to_vec(),
            })
        }

        fn probe(&self) -> bool {
            self.dir.is_none()
        }
    }

    fn run(args: &[String], say: Say) -> Result<u8, String> {
        let request = Request::parse(args)?;
        // SAFETY: plain libc calls on this single-threaded process; every
        // result is checked.
        unsafe {
            // Dies with whoever started it (exec::run's timeout kills that one).
            check(
                "prctl(PDEATHSIG)",
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL),
            )?;
            let (uid, gid) = (libc::getuid(), libc::getgid());
            let (outer_uid, outer_gid) = if uid == 0 {
                (NOBODY, NOBODY)
            } else {
                (uid, gid)
            };
            if uid == 0 {
                // Root's supplementary groups would follow the binary in.
                check(
                    "dropping supplementary groups",
                    libc::setgroups(0, std::ptr::null()),
                )?;
            }
            // The child makes the namespaces; this process, still outside them,
            // maps the child's ids: only from outside may root map another uid
            // (`nobody`), so the binary runs as no one who matters.
            let (unshared_r, unshared_w) = pipe()?;
            let (mapped_r, mapped_w) = pipe()?;
            let child = libc::fork();
            check("fork", child)?;
            if child == 0 {
                libc::close(unshared_r);
                libc::close(mapped_w);
                let code = match namespaces(unshared_w, mapped_r, &request, say) {
                    Ok(code) => code,
                    Err(why) => {
                        say(&why);
                        SETUP_FAILED as u8
                    }
                };
                libc::_exit(i32::from(code));
            }
            libc::close(unshared_w);
            libc::close(mapped_r);
            let mut byte = [0u8];
            if libc::read(unshared_r, byte.as_mut_ptr().cast(), 1) != 1 {
                wait(child)?;
                return Err("the namespaces could not be made (see above)".into());
            }
            let proc = format!("/proc/{child}");
            std::fs::write(format!("{proc}/setgroups"), "deny")
                .map_err(|e| format!("setgroups: {e}"))?;
            std::fs::write(
                format!("{proc}/uid_map"),
                format!("{INSIDE} {outer_uid} 1\n"),
            )
            .map_err(|e| format!("uid_map: {e}"))?;
            std::fs::write(
                format!("{proc}/gid_map"),
                format!("{INSIDE} {outer_gid} 1\n"),
            )
            .map_err(|e| format!("gid_map: {e}"))?;
            libc::write(mapped_w, byte.as_ptr().cast(), 1);
            libc::close(mapped_w);
            wait(child)
        }
    }

    fn pipe() -> Result<(libc::c_int, libc::c_int), String> {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors.
        check("pipe", unsafe {
            libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC)
        })?;
        Ok((fds[0], fds[1]))
    }

    /// Waits for `pid` and turns its end into an exit code, as a shell does.
    fn wait(pid: libc::pid_t) -> Result<u8, String> {
        let mut status = 0;
        loop {
            // SAFETY: a child of this process.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == pid {
                break;
            }
            if r == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
            }
        }
        if libc::WIFEXITED(status) {
            Ok(libc::WEXITSTATUS(status) as u8)
        } else {
            Ok(128u8.wrapping_add(libc::WTERMSIG(status) as u8))
        }
    }

    /// In the child: the namespaces; then, once the ids are mapped, their
    /// init process, which runs the binary.
    unsafe fn namespaces(
        unshared: libc::c_int,
        mapped: libc::c_int,
        request: &Request,
        say: Say,
    ) -> Result<u8, String> {
        // SAFETY: the caller's contract; this runs in a freshly forked child.
        unsafe {
            check(
                "prctl(PDEATHSIG)",
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL),
            )?;
            let flags = libc::CLONE_NEWUSER
                | libc::CLONE_NEWNS
                | libc::CLONE_NEWPID
                | libc::CLONE_NEWNET
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWUTS;
            check(
                "unshare (user, mount, PID, network, IPC, UTS namespaces)",
                libc::unshare(flags),
            )?;
            let byte = [1u8];
            libc::write(unshared, byte.as_ptr().cast(), 1);
            libc::close(unshared);
            let mut got = [0u8];
            if libc::read(mapped, got.as_mut_ptr().cast(), 1) != 1 {
                return Err("the user namespace's ids were not mapped".into());
            }
            libc::close(mapped);
            // The first process forked now is the new PID namespace's init:
            // when it ends, the kernel kills whatever it left behind.
            let (alive_r, alive_w) = pipe()?;
            let pid = libc::fork();
            check("fork", pid)?;
            if pid == 0 {
                libc::close(alive_w);
                let code = match inside(alive_r, request, say) {
                    Ok(never) => match never {},
                    Err(why) => {
                        say(&why);
                        SETUP_FAILED
                    }
                };
                libc::_exit(code);
            }
            libc::close(alive_r);
            let code = wait(pid);
            libc::close(alive_w);
            code
        }
    }

    enum Never {}

    /// In the new namespaces, as their init: an empty root, limits, no way
    /// back to privileges, then the binary.
    unsafe fn inside(alive: libc::c_int, request: &Request, say: Say) -> Result<Never, String> {
        let Request {
            dir,
            exe,
            qemu,
            args,
        } = request;
        let (exe, qemu, probe) = (exe.as_str(), *qemu, request.probe());
        // SAFETY: the caller's contract; this runs in a freshly forked child.
        unsafe {
            check("setresgid", libc::setresgid(INSIDE, INSIDE, INSIDE))?;
            check("setresuid", libc::setresuid(INSIDE, INSIDE, INSIDE))?;
            // After the id change, which clears it: this init, and with it the
            // whole namespace, dies with the process that made it.
            check(
                "prctl(PDEATHSIG)",
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL),
            )?;
            // If the parent died before that, nothing would kill us at the
            // timeout: its end of this pipe then reads as closed.
            let mut probe_byte = [0u8];
            let flags = libc::fcntl(alive, libc::F_GETFL);
            libc::fcntl(alive, libc::F_SETFL, flags | libc::O_NONBLOCK);
            if libc::read(alive, probe_byte.as_mut_ptr().cast(), 1) == 0 {
                return Err("the process that made the sandbox ended before it started".into());
            }
            libc::close(alive);
            let none = std::ptr::null::<libc::c_char>();
            let root_slash = cstr("/")?;
            check(
                "making mounts private",
                libc::mount(
                    none,
                    root_slash.as_ptr(),
                    none,
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ),
            )?;
            // The probe mounts over the temporary directory: in this private
            // mount namespace that hides nothing, and leaves nothing behind.
            let base = dir.clone().unwrap_or_default();
            let new_root = match dir {
                Some(dir) => format!("{dir}/root"),
                None => std::env::temp_dir().to_string_lossy().into_owned(),
            };
            let tmpfs = cstr("tmpfs")?;
            let new_root_c = cstr(&new_root)?;
            let options = cstr("size=64m,nr_inodes=1024,mode=0755")?;
            check(
                "mounting the empty root (tmpfs)",
                libc::mount(
                    tmpfs.as_ptr(),
                    new_root_c.as_ptr(),
                    tmpfs.as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    options.as_ptr().cast(),
                ),
            )?;
            if !probe {
                copy(&format!("{base}/prog"), &format!("{new_root}/{exe}"))?;
                if qemu {
                    copy(&format!("{base}/qemu"), &format!("{new_root}/qemu"))?;
                }
            }
            std::fs::create_dir(format!("{new_root}/.old"))
                .map_err(|e| format!("creating .old: {e}"))?;
            let old = cstr(&format!("{new_root}/.old"))?;
            check(
                "pivot_root",
                libc::syscall(libc::SYS_pivot_root, new_root_c.as_ptr(), old.as_ptr())
                    as libc::c_int,
            )?;
            check("chdir /", libc::chdir(root_slash.as_ptr()))?;
            let old_inside = cstr("/.old")?;
            check(
                "detaching the old root",
                libc::umount2(old_inside.as_ptr(), libc::MNT_DETACH),
            )?;
            let _ = std::fs::remove_dir("/.old");
            if probe {
                libc::_exit(0);
            }
            limits(qemu)?;
            check(
                "no_new_privs",
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            )?;
            let program = if qemu {
                "/qemu".to_owned()
            } else {
                format!("/{exe}")
            };
            let mut argv: Vec<CString> = Vec::new();
            argv.push(cstr(if qemu { "qemu" } else { exe })?);
            if qemu {
                argv.push(cstr(&format!("/{exe}"))?);
            }
            for a in args {
                argv.push(cstr(a)?);
            }
            let envp: Vec<CString> = ["PATH=/", "HOME=/", "LC_ALL=C", "TERM=dumb"]
                .into_iter()
                .map(cstr)
                .collect::<Result<_, _>>()?;
            let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
            argv_ptrs.push(std::ptr::null());
            let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
            envp_ptrs.push(std::ptr::null());
            let program = cstr(&program)?;
            libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr());
            // Not a failure of the sandbox: a binary whose loader is missing
            // ends here (ENOENT), as it would on NixOS.
            say(&format!("{STARTING}{}", std::io::Error::last_os_error()));
            libc::_exit(NOT_STARTED)
        }
    }

    fn copy(from: &str, to: &str) -> Result<(), String> {
        std::fs::copy(from, to).map_err(|e| {
            format!(
                "copying {} into the sandbox: {e}",
                Path::new(from).display()
            )
        })?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o555))
            .map_err(|e| format!("chmod: {e}"))
    }

    /// CPU seconds, memory, processes, file size, open files; no core dumps.
    unsafe fn limits(qemu: bool) -> Result<(), String> {
        // qemu reserves address space for the whole guest up front.
        let address_space: u64 = if qemu { 8 << 30 } else { 2 << 30 };
        let limits = [
            (libc::RLIMIT_CPU, 30, "CPU time"),
            (libc::RLIMIT_AS, address_space, "address space"),
            (libc::RLIMIT_NPROC, 64, "processes"),
            (libc::RLIMIT_FSIZE, 16 << 20, "file size"),
            (libc::RLIMIT_NOFILE, 256, "open files"),
            (libc::RLIMIT_CORE, 0, "core dumps"),
        ];
        for (resource, value, what) in limits {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            // SAFETY: a valid rlimit for a valid resource.
            check(&format!("limiting {what}"), unsafe {
                libc::setrlimit(resource, &limit)
            })?;
        }
        Ok(())
    }
}
