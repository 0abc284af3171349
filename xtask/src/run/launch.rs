//! The launch policy: how a binary built for a target runs on this machine
//! — natively, under which qemu-user emulator, under wine (an x86_64
//! Windows program, in the sandbox), or not here and why. `docs`
//! (running the built binary for its completions), `smoke` (verify's runs)
//! and `setup` (what to install) all ask here; nothing else decides it.

use std::path::PathBuf;

use xtask_inspect::target::{Arch, Os};

use crate::run::exec::find_on_path;
use crate::run::wine::Wine;

/// How a target's binary would run on a host, whatever is installed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The host's own CPU (or one it runs natively: i686 on x86_64; Apple
    /// silicon runs x86_64 Macs' programs through Rosetta, Windows on Arm
    /// through its own emulation).
    Native,
    /// A Linux binary of another CPU: it runs under qemu-user.
    Qemu(Arch),
    /// An x86_64 Windows program on an x86_64 Linux: it runs under wine,
    /// where wine is installed, in the sandbox only (its prefix is staged
    /// there); its own runner runs it too.
    Wine,
    /// Another OS's binary: it runs only on that OS (its release runner).
    Elsewhere(Os),
    /// This OS's binary for a CPU the host neither is nor emulates (an
    /// arm64 Windows or macOS program on an x86_64 machine).
    ForeignCpu(Os, Arch),
    /// A Linux binary for a CPU this tool does not know: no emulator to pick.
    UnknownCpu,
}

/// The route of a binary for `os` and `arch` on a host of `host_os` and
/// `host_arch` (`None`: one this tool does not know). Pure, so the rules
/// are testable for runners this machine is not.
pub(crate) fn route(
    os: Os,
    arch: Option<Arch>,
    host_os: Option<Os>,
    host_arch: Option<Arch>,
) -> Route {
    if (os, arch, host_os, host_arch)
        == (
            Os::Windows,
            Some(Arch::X86_64),
            Some(Os::Linux),
            Some(Arch::X86_64),
        )
    {
        return Route::Wine;
    }
    if host_os != Some(os) {
        return Route::Elsewhere(os);
    }
    match (arch, host_arch) {
        (Some(arch), Some(host)) if arch.runs_on(host) => Route::Native,
        (Some(arch), Some(host)) if os != Os::Linux && emulates(os, host, arch) => Route::Native,
        (Some(arch), Some(_)) if os != Os::Linux => Route::ForeignCpu(os, arch),
        _ if os != Os::Linux => Route::Native,
        (Some(arch), _) => Route::Qemu(arch),
        (None, _) => Route::UnknownCpu,
    }
}

/// Whether `os` on a `host` CPU runs `arch`'s programs by emulation of its
/// own: Rosetta on Apple silicon, Windows 11's x86 and x64 emulation on Arm.
fn emulates(os: Os, host: Arch, arch: Arch) -> bool {
    match os {
        Os::Macos => host == Arch::Aarch64 && arch == Arch::X86_64,
        Os::Windows => host == Arch::Aarch64 && matches!(arch, Arch::X86_64 | Arch::I686),
        Os::Linux => false,
    }
}

/// The route on this machine.
fn route_here(os: Os, arch: Option<Arch>) -> Route {
    route(os, arch, Os::host(), Arch::host())
}

/// Which emulator a binary of another CPU may run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Emulator {
    /// In verify's sandbox: only the static qemu (Debian's
    /// qemu-user-static), which it copies into its empty root where a
    /// dynamic one cannot start; and wine, whose prefix it stages there.
    StaticOnly,
    /// Outside a sandbox: the static qemu, else the usual one; no wine.
    Any,
}

/// How this machine starts a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Launch {
    Native,
    /// Under this qemu-user emulator.
    Qemu(PathBuf),
    /// Under this wine, in the sandbox.
    Wine(Wine),
}

/// Why a binary does not start on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotHere {
    /// Another OS's binary.
    Elsewhere(Os),
    /// This OS's binary for another CPU, which only its own runner runs.
    ForeignCpu(Os, Arch),
    /// A Linux binary for a CPU this tool does not know.
    UnknownCpu,
    /// A Linux binary of another CPU, and its qemu-user is not installed.
    NoEmulator(Arch),
    /// A Windows program, and no wine the sandbox can run is installed.
    NoWine,
}

impl std::fmt::Display for NotHere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotHere::Elsewhere(os) => write!(f, "a {os:?} binary does not run on this machine"),
            NotHere::ForeignCpu(os, arch) => write!(
                f,
                "a {os:?} {} binary does not run on this machine's CPU",
                arch.name()
            ),
            NotHere::UnknownCpu => f.write_str("an ELF for an unknown CPU"),
            NotHere::NoWine => write!(
                f,
                "a Windows binary runs here only under wine, and none is installed ({})",
                Wine::INSTALL
            ),
            NotHere::NoEmulator(arch) => write!(
                f,
                "{} binaries need `{}` to run here (apt-get install qemu-user-static)",
                arch.name(),
                arch.qemu_static()
            ),
        }
    }
}

/// How a binary for `os` and `arch` starts here, or why it cannot.
pub(crate) fn launch(os: Os, arch: Option<Arch>, emulator: Emulator) -> Result<Launch, NotHere> {
    match route_here(os, arch) {
        Route::Native => Ok(Launch::Native),
        Route::Elsewhere(os) => Err(NotHere::Elsewhere(os)),
        Route::ForeignCpu(os, arch) => Err(NotHere::ForeignCpu(os, arch)),
        Route::UnknownCpu => Err(NotHere::UnknownCpu),
        Route::Qemu(arch) => qemu(arch, emulator)
            .map(Launch::Qemu)
            .ok_or(NotHere::NoEmulator(arch)),
        // Wine needs the prefix the sandbox stages: outside it (`docs`), the
        // program is another OS's, as before.
        Route::Wine => match emulator {
            Emulator::StaticOnly => Wine::find().map(Launch::Wine).ok_or(NotHere::NoWine),
            Emulator::Any => Err(NotHere::Elsewhere(os)),
        },
    }
}

/// The qemu-user emulator installed here for `arch`'s Linux binaries.
fn qemu(arch: Arch, emulator: Emulator) -> Option<PathBuf> {
    find_on_path(arch.qemu_static()).or_else(|| match emulator {
        Emulator::Any => find_on_path(arch.qemu()),
        Emulator::StaticOnly => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_runs_natively_under_qemu_or_on_its_own_os() {
        use Arch::*;
        let linux = Some(Os::Linux);
        assert_eq!(
            route(Os::Linux, Some(X86_64), linux, Some(X86_64)),
            Route::Native
        );
        assert_eq!(
            route(Os::Linux, Some(I686), linux, Some(X86_64)),
            Route::Native
        );
        assert_eq!(
            route(Os::Linux, Some(Aarch64), linux, Some(X86_64)),
            Route::Qemu(Aarch64)
        );
        assert_eq!(
            route(Os::Linux, Some(X86_64), linux, None),
            Route::Qemu(X86_64),
            "an unknown host CPU runs nothing natively"
        );
        assert_eq!(
            route(Os::Macos, Some(X86_64), linux, Some(X86_64)),
            Route::Elsewhere(Os::Macos)
        );
        assert_eq!(
            route(Os::Macos, Some(X86_64), Some(Os::Macos), Some(Aarch64)),
            Route::Native,
            "Rosetta"
        );
        // x86_64 Windows programs run under wine on x86_64 Linux; nothing else does.
        assert_eq!(
            route(Os::Windows, Some(X86_64), linux, Some(X86_64)),
            Route::Wine
        );
        for (arch, host) in [(Aarch64, X86_64), (X86_64, Aarch64), (I686, X86_64)] {
            assert_eq!(
                route(Os::Windows, Some(arch), linux, Some(host)),
                Route::Elsewhere(Os::Windows),
                "{arch:?} on {host:?}"
            );
        }
        assert_eq!(
            route(Os::Windows, Some(X86_64), Some(Os::Windows), Some(Aarch64)),
            Route::Native,
            "Windows on Arm emulates x86_64 itself"
        );
        assert_eq!(
            route(Os::Linux, Some(X86_64), None, None),
            Route::Elsewhere(Os::Linux)
        );
        assert_eq!(
            route(Os::Linux, None, linux, Some(X86_64)),
            Route::UnknownCpu
        );
        assert_eq!(
            route(Os::Windows, None, Some(Os::Windows), Some(X86_64)),
            Route::Native
        );
        // No x86_64 machine runs arm64 Windows or macOS programs.
        assert_eq!(
            route(Os::Windows, Some(Aarch64), Some(Os::Windows), Some(X86_64)),
            Route::ForeignCpu(Os::Windows, Aarch64)
        );
        assert_eq!(
            route(Os::Windows, Some(Aarch64), Some(Os::Windows), Some(Aarch64)),
            Route::Native
        );
        assert_eq!(
            route(Os::Macos, Some(Aarch64), Some(Os::Macos), Some(X86_64)),
            Route::ForeignCpu(Os::Macos, Aarch64)
        );
    }

    #[test]
    fn wine_runs_programs_in_the_sandbox_only() {
        // Outside the sandbox (the docs) a Windows program is another OS's.
        if (Os::host(), Arch::host()) == (Some(Os::Linux), Some(Arch::X86_64)) {
            assert_eq!(
                launch(Os::Windows, Some(Arch::X86_64), Emulator::Any),
                Err(NotHere::Elsewhere(Os::Windows))
            );
        }
        assert!(
            NotHere::NoWine
                .to_string()
                .contains("apt-get install wine64"),
            "{}",
            NotHere::NoWine
        );
    }

    #[test]
    fn a_missing_emulator_says_what_to_install() {
        assert_eq!(
            NotHere::NoEmulator(Arch::Aarch64).to_string(),
            "aarch64 binaries need `qemu-aarch64-static` to run here (apt-get install qemu-user-static)"
        );
    }
}
