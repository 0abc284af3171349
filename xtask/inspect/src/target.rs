//! Target triples: which ones we release for, where they can be built, and
//! what their binaries must look like.

use anyhow::{Result, bail};

use crate::suggest::did_you_mean;

/// CPU architecture of a target, as far as linkage checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    I686,
    Armv7,
    Riscv64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::I686 => "i686",
            Arch::Armv7 => "armv7",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// The architecture this xtask runs on, if it is one we know.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            "x86" => Some(Arch::I686),
            "arm" => Some(Arch::Armv7),
            "riscv64" => Some(Arch::Riscv64),
            _ => None,
        }
    }

    /// Whether a binary of this architecture runs natively on `host`.
    pub fn runs_on(self, host: Arch) -> bool {
        self == host || (self == Arch::I686 && host == Arch::X86_64)
    }

    /// The qemu-user emulator that runs this architecture's Linux binaries.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-x86_64",
            Arch::Aarch64 => "qemu-aarch64",
            Arch::I686 => "qemu-i386",
            Arch::Armv7 => "qemu-arm",
            Arch::Riscv64 => "qemu-riscv64",
        }
    }

    /// The static build of that emulator (Debian's qemu-user-static), which
    /// runs in an empty root: what verify's sandbox holds.
    pub fn qemu_static(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-x86_64-static",
            Arch::Aarch64 => "qemu-aarch64-static",
            Arch::I686 => "qemu-i386-static",
            Arch::Armv7 => "qemu-arm-static",
            Arch::Riscv64 => "qemu-riscv64-static",
        }
    }

    pub fn is_64_bit(self) -> bool {
        !matches!(self, Arch::I686 | Arch::Armv7)
    }
}

/// The operating system a target's binaries run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
    Macos,
}

impl Os {
    pub fn host() -> Option<Os> {
        match std::env::consts::OS {
            "linux" => Some(Os::Linux),
            "windows" => Some(Os::Windows),
            "macos" => Some(Os::Macos),
            _ => None,
        }
    }

    /// The GitHub Actions runner family for this OS.
    pub fn runner(self) -> &'static str {
        match self {
            Os::Linux => "ubuntu",
            Os::Windows => "windows",
            Os::Macos => "macos",
        }
    }
}

/// A release target: a rustc triple we know how to build and check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub triple: &'static str,
    pub arch: Arch,
    pub os: Os,
}

const fn t(triple: &'static str, arch: Arch, os: Os) -> Target {
    Target { triple, arch, os }
}

/// Targets `cargo xtask dist` can release.
const SUPPORTED: &[Target] = &[
    t("x86_64-unknown-linux-musl", Arch::X86_64, Os::Linux),
    t("aarch64-unknown-linux-musl", Arch::Aarch64, Os::Linux),
    t("i686-unknown-linux-musl", Arch::I686, Os::Linux),
    t("armv7-unknown-linux-musleabihf", Arch::Armv7, Os::Linux),
    t("riscv64gc-unknown-linux-musl", Arch::Riscv64, Os::Linux),
    t("x86_64-pc-windows-msvc", Arch::X86_64, Os::Windows),
    t("x86_64-pc-windows-gnu", Arch::X86_64, Os::Windows),
    t("x86_64-apple-darwin", Arch::X86_64, Os::Macos),
    t("aarch64-apple-darwin", Arch::Aarch64, Os::Macos),
];

/// Released when `dist-workspace.toml` names no targets.
const DEFAULTS: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

/// Real triples we do not release for yet; naming one is a clear error, not a typo.
const NOT_YET: &[&str] = &[
    "arm-unknown-linux-musleabihf",
    "powerpc64le-unknown-linux-musl",
    "aarch64-pc-windows-msvc",
];

/// Glibc triples: real, but exactly what this template exists to avoid.
const GNU: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "i686-unknown-linux-gnu",
    "armv7-unknown-linux-gnueabihf",
    "riscv64gc-unknown-linux-gnu",
];

impl Target {
    pub fn parse(triple: &str) -> Result<Target> {
        if let Some(t) = SUPPORTED.iter().find(|t| t.triple == triple) {
            return Ok(t.clone());
        }
        let supported = SUPPORTED
            .iter()
            .map(|t| t.triple)
            .collect::<Vec<_>>()
            .join(", ");
        if NOT_YET.contains(&triple) {
            bail!("target `{triple}` is not supported yet (supported: {supported})");
        }
        if GNU.contains(&triple) {
            let musl = triple
                .replace("gnueabihf", "musleabihf")
                .replace("gnu", "musl");
            bail!(
                "target `{triple}` links against the build machine's glibc and will not start on \
                 systems without it (NixOS, Alpine); release `{musl}` instead"
            );
        }
        let known = SUPPORTED
            .iter()
            .map(|t| t.triple)
            .chain(NOT_YET.iter().copied());
        bail!(
            "unknown target `{triple}`{} (supported: {supported})",
            did_you_mean(triple, known)
        )
    }

    pub fn is_musl(&self) -> bool {
        self.triple.contains("-linux-musl")
    }

    /// Whether Rust links this target's release binaries as static-pie (a
    /// random load address). Only x86_64 musl's target spec allows it: the
    /// others are linked at a fixed address, which reports say.
    pub fn static_pie(&self) -> bool {
        self.is_musl() && self.arch == Arch::X86_64
    }

    /// The file name of binary `bin` on this target.
    pub fn exe_name(&self, bin: &str) -> String {
        if self.os == Os::Windows {
            format!("{bin}.exe")
        } else {
            bin.to_owned()
        }
    }

    /// The GitHub-hosted runner that builds and checks this target. Each OS
    /// builds its own, and each macOS CPU gets its own runner, so `verify`
    /// runs every binary natively (Linux foreign CPUs under qemu). windows-gnu
    /// is cross-linked with MinGW on Linux, as it is on a developer's machine.
    pub fn github_runner(&self) -> &'static str {
        match (self.os, self.arch) {
            (Os::Linux, _) => "ubuntu-latest",
            (Os::Windows, _) if self.triple.ends_with("-gnu") => "ubuntu-latest",
            (Os::Windows, _) => "windows-latest",
            (Os::Macos, Arch::X86_64) => "macos-15-intel",
            (Os::Macos, _) => "macos-latest",
        }
    }
}

/// The targets released when `dist-workspace.toml` names none.
pub fn default_targets() -> Vec<Target> {
    DEFAULTS
        .iter()
        .map(|d| Target::parse(d).expect("defaults are supported"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_and_explains_the_rest() {
        assert_eq!(
            Target::parse("x86_64-unknown-linux-musl").unwrap().arch,
            Arch::X86_64
        );
        assert_eq!(Target::parse("aarch64-apple-darwin").unwrap().os, Os::Macos);
        let err = Target::parse("x86_64-unknown-linux-mus")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did you mean `x86_64-unknown-linux-musl`"),
            "{err}"
        );
        let err = Target::parse("x86_64-unknown-linux-gnu")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("release `x86_64-unknown-linux-musl` instead"),
            "{err}"
        );
        let err = Target::parse("aarch64-pc-windows-msvc")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not supported yet"), "{err}");
    }

    #[test]
    fn i686_runs_on_x86_64_but_not_the_reverse() {
        assert!(Arch::I686.runs_on(Arch::X86_64));
        assert!(!Arch::X86_64.runs_on(Arch::I686));
        assert!(!Arch::Aarch64.runs_on(Arch::X86_64));
    }

    #[test]
    fn windows_executables_end_in_exe() {
        let t = |s| Target::parse(s).unwrap();
        assert_eq!(
            t("x86_64-pc-windows-msvc").exe_name("toolbox"),
            "toolbox.exe"
        );
        assert_eq!(
            t("x86_64-unknown-linux-musl").exe_name("toolbox"),
            "toolbox"
        );
    }

    #[test]
    fn every_target_has_a_runner_of_its_own_os() {
        for target in SUPPORTED {
            let runner = target.github_runner();
            let family = if target.triple.ends_with("windows-gnu") {
                Os::Linux
            } else {
                target.os
            };
            assert!(
                runner.starts_with(family.runner()),
                "{} -> {runner}",
                target.triple
            );
        }
        assert_eq!(
            Target::parse("x86_64-apple-darwin")
                .unwrap()
                .github_runner(),
            "macos-15-intel"
        );
    }

    #[test]
    fn defaults_are_the_five_platforms() {
        let d: Vec<&str> = default_targets().iter().map(|t| t.triple).collect();
        assert_eq!(d, DEFAULTS);
    }
}
