//! The sandbox helper itself: namespaces, the empty root, the unprivileged
//! uid, the limits, then exec (Linux system calls through libc).

use std::ffi::CString;
use std::path::Path;
use std::process::ExitCode;

use super::fs::{copy, system_read_only};
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

pub(super) fn check(what: &str, result: libc::c_int) -> Result<(), String> {
    if result == -1 {
        Err(format!("{what}: {}", std::io::Error::last_os_error()))
    } else {
        Ok(())
    }
}

pub(super) fn cstr(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("`{s}` holds a NUL byte"))
}

/// What the helper was asked to do. `dir` holds `prog` (and `qemu`);
/// without it, only whether a sandbox can be made is tried.
struct Request {
    dir: Option<String>,
    exe: String,
    qemu: bool,
    /// Wine's program, under `/usr`: the root gets `/usr` read-only.
    wine: Option<String>,
    args: Vec<String>,
}

impl Request {
    fn parse(args: &[String]) -> Result<Request, String> {
        if args.first().map(String::as_str) == Some("--probe") {
            return Ok(Request {
                dir: None,
                exe: String::new(),
                qemu: false,
                wine: None,
                args: Vec::new(),
            });
        }
        let usage = "usage: sandbox-exec TAG DIR EXE [--qemu | --wine PROGRAM] -- ARGS";
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
        let wine = match rest {
            [flag, program, ..] if flag == "--wine" => {
                if !program.starts_with("/usr/") || program.contains("/../") {
                    return Err(format!("wine's program `{program}` is not under /usr"));
                }
                Some(program.clone())
            }
            _ => None,
        };
        Ok(Request {
            dir: Some(dir),
            exe,
            qemu: rest.first().map(String::as_str) == Some("--qemu"),
            wine,
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
        wine,
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
        let options = cstr("size=64m,nr_inodes=4096,mode=0755")?;
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
            let extra = Path::new(&base).join(super::EXTRA);
            if extra.is_dir() {
                super::root::install(&extra, Path::new(&new_root))?;
            }
            if wine.is_some() {
                system_read_only(&new_root)?;
            }
        }
        std::fs::create_dir(format!("{new_root}/.old"))
            .map_err(|e| format!("creating .old: {e}"))?;
        let old = cstr(&format!("{new_root}/.old"))?;
        check(
            "pivot_root",
            libc::syscall(libc::SYS_pivot_root, new_root_c.as_ptr(), old.as_ptr()) as libc::c_int,
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
        limits(qemu || wine.is_some())?;
        check(
            "no_new_privs",
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
        )?;
        let (program, argv0) = match (qemu, wine) {
            (true, _) => ("/qemu".to_owned(), "qemu"),
            (false, Some(wine)) => (wine.clone(), "wine64"),
            (false, None) => (format!("/{exe}"), exe),
        };
        let mut argv: Vec<CString> = vec![cstr(argv0)?];
        if qemu || wine.is_some() {
            argv.push(cstr(&format!("/{exe}"))?);
        }
        for a in args {
            argv.push(cstr(a)?);
        }
        let mut env = vec![
            "PATH=/".to_owned(),
            "HOME=/".to_owned(),
            "LC_ALL=C".to_owned(),
            "TERM=dumb".to_owned(),
        ];
        if wine.is_some() {
            // The staged prefix; no debug chatter, no Gecko or Mono to offer.
            env.extend([
                format!("WINEPREFIX=/{}", crate::run::wine::PREFIX_INSIDE),
                "WINEDEBUG=-all".to_owned(),
                "WINEDLLOVERRIDES=mscoree,mshtml,winemenubuilder.exe=".to_owned(),
                "USER=wine".to_owned(),
            ]);
        }
        let envp: Vec<CString> = env.iter().map(|e| cstr(e)).collect::<Result<_, _>>()?;
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
