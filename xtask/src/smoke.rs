//! The proof: run the binary with `--version` inside an empty root that holds
//! nothing but the binary, as on a system without the standard loader (NixOS).

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::exec;
use crate::target::{Arch, Os};
use crate::toolchain::on_path;

const TIMEOUT: Duration = Duration::from_secs(30);
const OUTPUT_LIMIT: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SmokeOutcome {
    /// It ran and printed the expected version; holds its first output line.
    Passed(String),
    /// It could not be tried here; holds why.
    Skipped(String),
    /// It was tried and did not work; holds what happened.
    Failed(String),
    /// Another OS's binary: its own release runner runs it, not this machine.
    NotApplicable(String),
}

/// Under CI a skipped smoke test is a hole, not a pass.
pub(crate) fn skips_fail() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// How we can get an empty root on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    Chroot,
    /// A user namespace: no privilege needed, where the kernel allows it.
    UnshareChroot,
    /// Passwordless sudo, as on GitHub's Ubuntu runners, whose AppArmor
    /// profile forbids unprivileged user namespaces.
    SudoChroot,
}

/// Probed once per run: each probe starts a process.
fn isolation() -> Result<Isolation, String> {
    static CHOSEN: OnceLock<Result<Isolation, String>> = OnceLock::new();
    CHOSEN.get_or_init(probe_isolation).clone()
}

fn probe_isolation() -> Result<Isolation, String> {
    if !on_path("chroot") {
        return Err("`chroot` is not installed".into());
    }
    if effective_uid() == Some(0) {
        return Ok(Isolation::Chroot);
    }
    let works = |program: &str, args: &[&str]| {
        on_path(program)
            && Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    };
    if works("unshare", &["-r", "true"]) {
        return Ok(Isolation::UnshareChroot);
    }
    if works("sudo", &["-n", "true"]) {
        return Ok(Isolation::SudoChroot);
    }
    Err("not root, user namespaces are not allowed (`unshare -r`), and `sudo -n` asks for a password; \
         run as root (e.g. `sudo`)"
        .into())
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Runs `binary` as `<exe_name> --version` where it would fail if it needed
/// anything the machine lacks, and passes when it exits 0 and prints `expect`:
/// Linux binaries in an empty root (chroot, or qemu-user with an empty
/// sysroot for foreign CPUs); Windows and macOS binaries directly on their own OS.
pub(crate) fn run(
    binary: &[u8],
    arch: Option<Arch>,
    os: Os,
    exe_name: &str,
    args: &[String],
    expect: Option<&str>,
) -> SmokeOutcome {
    let host_os = Os::host();
    if host_os != Some(os) {
        return SmokeOutcome::NotApplicable(format!(
            "a {os:?} binary; the release workflow runs it on a {} runner",
            os.runner()
        ));
    }
    let root = match EmptyRoot::with(binary, exe_name) {
        Ok(root) => root,
        Err(err) => return SmokeOutcome::Failed(format!("cannot prepare the empty root: {err}")),
    };
    let inside = format!("/{exe_name}");
    let command = match (os, arch, Arch::host()) {
        (Os::Windows | Os::Macos, _, _) => {
            let mut c = Command::new(root.path.join(exe_name));
            c.current_dir(&root.path);
            c
        }
        (Os::Linux, Some(arch), Some(host)) if arch.runs_on(host) => match isolation() {
            Ok(Isolation::Chroot) => {
                let mut c = Command::new("chroot");
                c.arg(&root.path).arg(&inside);
                c
            }
            Ok(Isolation::UnshareChroot) => {
                let mut c = Command::new("unshare");
                c.args(["-r", "chroot"]).arg(&root.path).arg(&inside);
                c
            }
            Ok(Isolation::SudoChroot) => {
                let mut c = Command::new("sudo");
                c.args(["-n", "chroot"]).arg(&root.path).arg(&inside);
                c
            }
            Err(why) => return SmokeOutcome::Skipped(format!("no empty root possible: {why}")),
        },
        (Os::Linux, Some(arch), _) => {
            let qemu = arch.qemu();
            if !on_path(qemu) {
                return SmokeOutcome::Skipped(format!(
                    "a {} binary needs `{qemu}` to run here (apt-get install qemu-user)",
                    arch.name()
                ));
            }
            // -L: the emulated loader and libraries are looked up in the empty root only.
            let mut c = Command::new(qemu);
            c.arg("-L").arg(&root.path).arg(root.path.join(exe_name));
            c
        }
        (Os::Linux, None, _) => return SmokeOutcome::Skipped("an ELF for an unknown CPU".into()),
    };
    let mut command = command;
    command.args(args);
    let shown = format!(
        "`{exe_name}{}{}`",
        if args.is_empty() { "" } else { " " },
        args.join(" ")
    );
    let out = match exec::run(command, TIMEOUT, OUTPUT_LIMIT) {
        Ok(out) => out,
        Err(stopped) => return SmokeOutcome::Failed(format!("{shown}: {stopped}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim();
    if stderr.starts_with("unshare:") || stderr.starts_with("chroot: cannot change root") {
        return SmokeOutcome::Skipped(format!("no empty root possible: {stderr}"));
    }
    if !out.status.success() {
        let missing =
            stderr.contains("No such file or directory") || stderr.contains("Could not open");
        let detail = if missing {
            format!(
                "it did not start in an empty root: `{stderr}` (its ELF interpreter or libraries are missing there)"
            )
        } else {
            format!(
                "{shown} exited with {} in an empty root: {stderr}",
                out.status
            )
        };
        return SmokeOutcome::Failed(detail);
    }
    let first = stdout
        .lines()
        .chain(stderr.lines())
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_owned();
    if let Some(expect) = expect
        && !stdout.contains(expect)
        && !stderr.contains(expect)
    {
        return SmokeOutcome::Failed(format!(
            "{shown} printed `{first}`, which does not contain `{expect}`"
        ));
    }
    SmokeOutcome::Passed(format!("{shown}: {first}"))
}

/// A temporary directory holding only the binary; removed on drop.
struct EmptyRoot {
    path: PathBuf,
}

impl EmptyRoot {
    fn with(binary: &[u8], exe_name: &str) -> std::io::Result<EmptyRoot> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("xtask-empty-root-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)?;
        let root = EmptyRoot { path };
        let exe = root.path.join(exe_name);
        fs::write(&exe, binary)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&exe, fs::Permissions::from_mode(0o755))?;
            // Read and execute for everyone, so a user namespace can enter it.
            fs::set_permissions(&root.path, fs::Permissions::from_mode(0o755))?;
        }
        Ok(root)
    }
}

impl Drop for EmptyRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
