//! The proof that a release binary runs: its smoke commands, run where it
//! has nothing to lean on. Linux binaries run in `sandbox`: an empty root
//! that holds only the binary (and a static qemu-user for another CPU), no
//! network, an unprivileged uid — so a binary that needs a loader fails as
//! it would on NixOS, and one that misbehaves reaches nothing. Windows and
//! macOS builds of our own run natively on their own runners (runs the binary).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::model::github;
use crate::model::smoke::SmokeRequest;
use crate::run::exec;
use crate::run::launch::{self, Emulator, Route};
use crate::run::sandbox::{self, Outcome};
use xtask_inspect::report::escape;
use xtask_inspect::target::{Arch, Os};

const OUTPUT_LIMIT: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SmokeOutcome {
    /// It ran and showed what was expected; holds the command and its first line.
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

/// Who built the binary: `Ours` (a `dist` output being checked) may run
/// natively on its own OS where no sandbox exists; `Untrusted` never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    Ours,
    Untrusted,
}

/// Runs `binary` as the request's `<exe> args` and passes when it exits 0
/// and prints what the request expects.
pub(crate) fn run(
    binary: &[u8],
    arch: Option<Arch>,
    os: Os,
    request: &SmokeRequest,
    provenance: Provenance,
) -> SmokeOutcome {
    let SmokeRequest {
        exe: exe_name,
        args,
        expect,
    } = request;
    let qemu = match launch::route_here(os, arch) {
        Route::Elsewhere(os) => {
            return SmokeOutcome::NotApplicable(format!(
                "a {os:?} binary; the release workflow runs it on a {} runner",
                github::runner_family(os)
            ));
        }
        Route::UnknownCpu => return SmokeOutcome::Skipped("an ELF for an unknown CPU".into()),
        Route::Native => None,
        Route::Qemu(arch) => match launch::qemu(arch, Emulator::StaticOnly) {
            Some(qemu) => Some(qemu),
            None => return SmokeOutcome::Skipped(launch::qemu_missing(arch)),
        },
    };
    let shown = format!(
        "`{exe_name}{}{}`",
        if args.is_empty() { "" } else { " " },
        args.join(" ")
    );
    let out = match os {
        Os::Linux => match sandbox::run(binary, exe_name, args, qemu.as_deref()) {
            Outcome::Ran(out) => out,
            Outcome::Stopped(stopped) => {
                return SmokeOutcome::Failed(format!("{shown}: {stopped}"));
            }
            Outcome::Unavailable(why) => return SmokeOutcome::Skipped(why),
            Outcome::NotStarted(why) => {
                return SmokeOutcome::Failed(format!(
                    "it did not start in an empty root: {} (its ELF interpreter or libraries are missing there)",
                    escape(&why)
                ));
            }
        },
        Os::Windows | Os::Macos if provenance == Provenance::Ours => {
            match native(binary, exe_name, args) {
                Ok(out) => out,
                Err(why) => return SmokeOutcome::Failed(format!("{shown}: {why}")),
            }
        }
        Os::Windows | Os::Macos => {
            return SmokeOutcome::Skipped(format!(
                "there is no sandbox for {os:?} binaries here, and this one was not built by `cargo xtask dist`"
            ));
        }
    };
    judge(&shown, &out, expect.as_deref())
}

/// Whether the run did what was asked of it.
fn judge(shown: &str, out: &exec::Captured, expect: Option<&str>) -> SmokeOutcome {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim();
    if !out.status.success() {
        // qemu's words when the guest's loader is missing.
        let detail = if stderr.contains("Could not open") {
            format!(
                "it did not start in an empty root: `{}` (its ELF interpreter or libraries are missing there)",
                escape(stderr)
            )
        } else {
            format!("{shown} exited with {}: {}", out.status, escape(stderr))
        };
        return SmokeOutcome::Failed(detail);
    }
    let first = stdout
        .lines()
        .chain(stderr.lines())
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let first = escape(first);
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

/// Our own Windows or macOS build, on its own OS: from a directory that
/// holds only the binary.
fn native(binary: &[u8], exe_name: &str, args: &[String]) -> Result<exec::Captured, String> {
    let dir = std::env::temp_dir().join(format!("xtask-smoke-{}-{exe_name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot prepare a directory to run it in: {e}"))?;
    let exe: PathBuf = dir.join(exe_name);
    fs::write(&exe, binary).map_err(|e| format!("cannot write the binary to run it: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    }
    let mut command = Command::new(&exe);
    command.args(args).current_dir(&dir);
    let result = exec::run(command, sandbox::timeout(), OUTPUT_LIMIT).map_err(|s| s.to_string());
    let _ = fs::remove_dir_all(&dir);
    result
}
