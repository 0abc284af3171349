//! The proof that a release binary runs: its smoke commands, run where it
//! has nothing to lean on. Linux binaries run in `sandbox`: an empty root
//! that holds only the binary (and a static qemu-user for another CPU), no
//! network, an unprivileged uid — so a binary that needs a loader fails as
//! it would on NixOS, and one that misbehaves reaches nothing. Windows and
//! macOS builds of our own run natively on their own runners (runs the binary).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::model::config::RootItem;
use crate::model::github;
use crate::model::smoke::SmokeRequest;
use crate::run::exec;
use crate::run::launch::{self, Emulator, Launch, NotHere};
use crate::run::sandbox::{self, Outcome, Under};
use xtask_inspect::report::escape;
use xtask_inspect::target::{Arch, Os};

const OUTPUT_LIMIT: usize = 16 << 20;
/// How a run in the sandbox was made, as a passing run says it.
const SANDBOXED: &str = "sandboxed: an empty root, no network";

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
        root,
    } = request;
    let launch = match launch::launch(os, arch, Emulator::StaticOnly) {
        Ok(launch) => launch,
        Err(NotHere::NoWine) => {
            return SmokeOutcome::NotApplicable(format!(
                "{}; the release workflow runs it on a windows runner",
                NotHere::NoWine
            ));
        }
        Err(NotHere::Elsewhere(os)) => {
            return SmokeOutcome::NotApplicable(format!(
                "a {os:?} binary; the release workflow runs it on a {} runner",
                github::runner_family(os)
            ));
        }
        Err(NotHere::ForeignCpu(os, arch)) => {
            return SmokeOutcome::NotApplicable(format!(
                "a {os:?} {} binary; the release workflow runs it on a {} runner of that CPU",
                arch.name(),
                github::runner_family(os)
            ));
        }
        Err(why) => return SmokeOutcome::Skipped(why.to_string()),
    };
    let shown = format!(
        "`{exe_name}{}{}`",
        if args.is_empty() { "" } else { " " },
        args.join(" ")
    );
    // What the sandbox starts it with; a wine prefix is made once first.
    let registry;
    let (under, how) = match &launch {
        Launch::Native if os == Os::Linux => (Under::Itself, SANDBOXED.to_owned()),
        Launch::Native => (Under::Itself, "on its own system: our own build".to_owned()),
        Launch::Qemu(qemu) => (Under::Qemu(qemu), SANDBOXED.to_owned()),
        Launch::Wine(wine) => {
            registry = match wine.registry() {
                Ok(registry) => registry,
                Err(why) => {
                    return SmokeOutcome::Skipped(format!("wine could not make a prefix: {why}"));
                }
            };
            let how = format!(
                "under {}, not Windows itself, sandboxed: an empty root with /usr read-only, no network",
                wine.version()
            );
            (Under::Wine(wine, &registry), how)
        }
    };
    let out = match (os, &launch) {
        (Os::Linux, _) | (Os::Windows, Launch::Wine(_)) => {
            match sandbox::run(binary, exe_name, args, under, root) {
                Outcome::Ran(out) => out,
                Outcome::Stopped(stopped) => {
                    return SmokeOutcome::Failed(format!("{shown}: {stopped}"));
                }
                Outcome::Unavailable(why) => return SmokeOutcome::Skipped(why),
                Outcome::NotStarted(why) if os == Os::Windows => {
                    return SmokeOutcome::Skipped(format!(
                        "wine did not start in the sandbox: {}",
                        escape(&why)
                    ));
                }
                Outcome::NotStarted(why) => {
                    return SmokeOutcome::Failed(format!(
                        "it did not start in an empty root: {} (its ELF interpreter or libraries are missing there)",
                        escape(&why)
                    ));
                }
            }
        }
        (Os::Windows | Os::Macos, _) if provenance == Provenance::Ours => {
            // A universal binary runs as the slice asked for, not the one
            // macOS would pick: `arch` chooses (Rosetta runs x86_64's).
            let slice = match xtask_inspect::linkage::fat_slices(binary) {
                Ok(Some(_)) => arch.map(macos_arch_name),
                _ => None,
            };
            match native(binary, exe_name, args, slice) {
                Ok(out) => out,
                Err(why) => return SmokeOutcome::Failed(format!("{shown}: {why}")),
            }
        }
        (Os::Windows | Os::Macos, _) => {
            return SmokeOutcome::Skipped(format!(
                "there is no sandbox for {os:?} binaries here, and this one was not built by `cargo xtask dist`"
            ));
        }
    };
    let outcome = with_root_hint(judge(&shown, &out, expect.as_deref()), root);
    match outcome {
        SmokeOutcome::Passed(line) => SmokeOutcome::Passed(format!("{line} ({how})")),
        // A Mac on Apple silicon runs x86_64 programs only once Rosetta is in.
        SmokeOutcome::Failed(why) if os == Os::Macos && why.contains("Bad CPU type") => {
            let (first, rest) = why.split_once('\n').unwrap_or((&why, ""));
            SmokeOutcome::Failed(format!(
                "{first} (this Mac cannot run that CPU's programs: on Apple silicon, install Rosetta with \
                 `softwareupdate --install-rosetta --agree-to-license`)\n{rest}"
            ))
        }
        outcome => outcome,
    }
}

/// A failed run whose output speaks of certificates most likely wanted the
/// CA bundle every real Linux has and the empty root lacks: say how to
/// give it one, on the failure's first line.
fn with_root_hint(outcome: SmokeOutcome, root: &[RootItem]) -> SmokeOutcome {
    let SmokeOutcome::Failed(why) = outcome else {
        return outcome;
    };
    let item = RootItem::CaCertificates;
    if root.contains(&item) || !why.to_lowercase().contains("certificate") {
        return SmokeOutcome::Failed(why);
    }
    let (first, rest) = why
        .split_once('\n')
        .map_or((why.as_str(), ""), |(f, r)| (f, r));
    SmokeOutcome::Failed(format!(
        "{first} (its output speaks of certificates: the root is empty, with no CA bundle; if it makes HTTPS \
         requests, add `smoke-root = [\"{}\"]` to [dist] in dist-workspace.toml){}{rest}",
        item.name(),
        if rest.is_empty() { "" } else { "\n" }
    ))
}

/// How much of a failing run's output a report shows: enough to see why,
/// not a log to scroll past.
const SHOWN_LINES: usize = 20;
const SHOWN_LINE_CHARS: usize = 200;

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
            // The command and status first, then what it said, a line each.
            let said = if stderr.is_empty() {
                stdout.trim()
            } else {
                stderr
            };
            format!("{shown} exited with {}{}", out.status, output_lines(said))
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
            "{shown} printed `{first}`, which does not contain `{expect}`{}",
            output_lines(stdout.trim())
        ));
    }
    SmokeOutcome::Passed(format!("{shown}: {first}"))
}

/// `text` as lines to show under a report's first line: each escaped (a
/// binary's output must not steer the terminal), long ones cut, and no more
/// than [`SHOWN_LINES`], saying how many more there were.
fn output_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = String::new();
    for line in lines.iter().take(SHOWN_LINES) {
        let cut: String = line.chars().take(SHOWN_LINE_CHARS).collect();
        let more = if cut.len() < line.len() { " …" } else { "" };
        shown.push('\n');
        shown.push_str(&escape(&cut));
        shown.push_str(more);
    }
    if lines.len() > SHOWN_LINES {
        shown.push_str(&format!("\n… and {} more lines", lines.len() - SHOWN_LINES));
    }
    shown
}

/// What macOS's `arch` command calls a CPU.
fn macos_arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "arm64",
        Arch::X86_64 | Arch::I686 | Arch::Armv7 | Arch::Riscv64 | Arch::Powerpc64le => arch.name(),
    }
}

/// Our own Windows or macOS build, on its own OS: from a directory that
/// holds only the binary. `slice` is the CPU (as `arch -<cpu>` names it) a
/// universal binary runs as.
fn native(
    binary: &[u8],
    exe_name: &str,
    args: &[String],
    slice: Option<&str>,
) -> Result<exec::Captured, String> {
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
    let mut command = match slice {
        Some(cpu) => {
            let mut arch = Command::new("arch");
            arch.arg(format!("-{cpu}")).arg(&exe);
            arch
        }
        None => Command::new(&exe),
    };
    command.args(args).current_dir(&dir);
    let result = exec::run(command, sandbox::timeout(), OUTPUT_LIMIT).map_err(|s| s.to_string());
    let _ = fs::remove_dir_all(&dir);
    result
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn captured(code: i32, stdout: &str, stderr: &str) -> exec::Captured {
        exec::Captured {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_failing_run_shows_the_command_and_status_then_what_it_said_line_by_line() {
        let out = captured(
            1,
            "",
            "builder error\n\nCaused by:\n    unexpected error: \x1b[2Jgone\n",
        );
        let SmokeOutcome::Failed(why) = judge("`tool fetch`", &out, None) else {
            panic!("a failure");
        };
        assert_eq!(
            why,
            "`tool fetch` exited with exit status: 1\nbuilder error\n\nCaused by:\n    unexpected error: \\u{1b}[2Jgone"
        );
    }

    #[test]
    fn long_output_is_capped_and_says_how_much_more_there_was() {
        let many: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        let long = "x".repeat(500);
        let out = captured(2, &format!("{long}\n{many}"), "");
        let SmokeOutcome::Failed(why) = judge("`tool`", &out, None) else {
            panic!("a failure");
        };
        let lines: Vec<&str> = why.lines().collect();
        assert_eq!(lines[0], "`tool` exited with exit status: 2");
        assert_eq!(
            lines[1].chars().count(),
            SHOWN_LINE_CHARS + 2,
            "cut, with ` …`"
        );
        assert_eq!(lines.len(), 1 + SHOWN_LINES + 1);
        assert_eq!(lines[SHOWN_LINES + 1], "… and 31 more lines");
    }

    #[test]
    fn output_without_the_expected_text_is_shown_under_the_report() {
        let out = captured(0, "tool 0.9.0\nbuilt today\n", "");
        let SmokeOutcome::Failed(why) = judge("`tool --version`", &out, Some("1.0.0")) else {
            panic!("a failure");
        };
        assert_eq!(
            why,
            "`tool --version` printed `tool 0.9.0`, which does not contain `1.0.0`\ntool 0.9.0\nbuilt today"
        );
        assert_eq!(
            judge("`tool --version`", &out, Some("0.9.0")),
            SmokeOutcome::Passed("`tool --version`: tool 0.9.0".into())
        );
    }
}
