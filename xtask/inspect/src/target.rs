//! Target triples the inspector knows, and facts about their CPUs and
//! systems: what their binaries must look like, and how they run. Release
//! policy (the default targets, refusals, CI runners) is the xtask's.

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
    Powerpc64le,
}

impl Arch {
    /// Every CPU. A new variant does not compile until `index` handles it,
    /// which points here; then every `match` on `Arch` points at the rest.
    pub const ALL: [Arch; 6] = [
        Arch::X86_64,
        Arch::Aarch64,
        Arch::I686,
        Arch::Armv7,
        Arch::Riscv64,
        Arch::Powerpc64le,
    ];

    /// Its place in [`Arch::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Arch::X86_64 => 0,
            Arch::Aarch64 => 1,
            Arch::I686 => 2,
            Arch::Armv7 => 3,
            Arch::Riscv64 => 4,
            Arch::Powerpc64le => 5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::I686 => "i686",
            Arch::Armv7 => "armv7",
            Arch::Riscv64 => "riscv64",
            Arch::Powerpc64le => "powerpc64le",
        }
    }

    /// Rust's name for it (`std::env::consts::ARCH`, `target_arch`).
    pub fn rust_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::I686 => "x86",
            Arch::Armv7 => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::Powerpc64le => "powerpc64",
        }
    }

    /// The architecture this xtask runs on, if it is one we know.
    pub fn host() -> Option<Arch> {
        // powerpc64 is big-endian Power too, which we do not release for.
        let little = cfg!(target_endian = "little");
        Arch::ALL.into_iter().find(|a| {
            a.rust_name() == std::env::consts::ARCH && (little || *a != Arch::Powerpc64le)
        })
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
            Arch::Powerpc64le => "qemu-ppc64le",
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
            Arch::Powerpc64le => "qemu-ppc64le-static",
        }
    }

    pub fn is_64_bit(self) -> bool {
        match self {
            Arch::X86_64 | Arch::Aarch64 | Arch::Riscv64 | Arch::Powerpc64le => true,
            Arch::I686 | Arch::Armv7 => false,
        }
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
    /// Every system, as [`Arch::ALL`] is every CPU.
    pub const ALL: [Os; 3] = [Os::Linux, Os::Windows, Os::Macos];

    /// Its place in [`Os::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Os::Linux => 0,
            Os::Windows => 1,
            Os::Macos => 2,
        }
    }

    pub fn host() -> Option<Os> {
        match std::env::consts::OS {
            "linux" => Some(Os::Linux),
            "windows" => Some(Os::Windows),
            "macos" => Some(Os::Macos),
            _ => None,
        }
    }
}

/// A release target: a rustc triple we know how to build and check, or a
/// universal macOS target made of several of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub triple: &'static str,
    /// The CPU its binaries are for. A universal target holds one slice per
    /// CPU of `slices`; its `arch` is the CPU of the machine that builds it
    /// (Apple silicon), where one CPU must be named.
    pub arch: Arch,
    pub os: Os,
    /// The CPUs of a universal binary's slices, each a target of its own;
    /// empty for every other target.
    pub slices: &'static [Arch],
}

const fn t(triple: &'static str, arch: Arch, os: Os) -> Target {
    Target {
        triple,
        arch,
        os,
        slices: &[],
    }
}

/// One macOS binary for both of Apple's CPUs (`lipo -create`'s output):
/// what Homebrew and Mac users who move between machines want.
pub const UNIVERSAL_MACOS: &str = "universal2-apple-darwin";

/// Targets the xtask can build and this crate can check.
const SUPPORTED: &[Target] = &[
    t("x86_64-unknown-linux-musl", Arch::X86_64, Os::Linux),
    t("aarch64-unknown-linux-musl", Arch::Aarch64, Os::Linux),
    t("i686-unknown-linux-musl", Arch::I686, Os::Linux),
    t("armv7-unknown-linux-musleabihf", Arch::Armv7, Os::Linux),
    t("riscv64gc-unknown-linux-musl", Arch::Riscv64, Os::Linux),
    t(
        "powerpc64le-unknown-linux-musl",
        Arch::Powerpc64le,
        Os::Linux,
    ),
    t("x86_64-pc-windows-msvc", Arch::X86_64, Os::Windows),
    t("aarch64-pc-windows-msvc", Arch::Aarch64, Os::Windows),
    t("x86_64-pc-windows-gnu", Arch::X86_64, Os::Windows),
    t("x86_64-apple-darwin", Arch::X86_64, Os::Macos),
    t("aarch64-apple-darwin", Arch::Aarch64, Os::Macos),
    Target {
        triple: UNIVERSAL_MACOS,
        arch: Arch::Aarch64,
        os: Os::Macos,
        slices: &[Arch::X86_64, Arch::Aarch64],
    },
];

impl Target {
    /// A supported triple; any other is an error naming the nearest and
    /// the supported ones.
    pub fn parse(triple: &str) -> Result<Target> {
        if let Some(t) = SUPPORTED.iter().find(|t| t.triple == triple) {
            return Ok(t.clone());
        }
        bail!(
            "unknown target `{triple}`{} (supported: {})",
            did_you_mean(triple, Target::supported().iter().map(|t| t.triple)),
            Target::supported_list()
        )
    }

    /// Every supported target.
    pub fn supported() -> &'static [Target] {
        SUPPORTED
    }

    /// The supported triples, comma-separated, for messages.
    pub fn supported_list() -> String {
        SUPPORTED
            .iter()
            .map(|t| t.triple)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether its binaries are universal: one slice per CPU of `slices`.
    pub fn is_universal(&self) -> bool {
        !self.slices.is_empty()
    }

    /// The targets a universal target's slices are built for, in its
    /// order; a thin target is its own one slice.
    pub fn slice_targets(&self) -> Vec<Target> {
        if !self.is_universal() {
            return vec![self.clone()];
        }
        self.slices
            .iter()
            .filter_map(|arch| {
                SUPPORTED
                    .iter()
                    .find(|t| t.os == self.os && t.arch == *arch && !t.is_universal())
                    .cloned()
            })
            .collect()
    }

    /// Whether its binaries run on `os` with `arch` natively: its own CPU,
    /// or one of a universal binary's slices.
    pub fn serves(&self, os: Os, arch: Arch) -> bool {
        self.os == os
            && if self.is_universal() {
                self.slices.contains(&arch)
            } else {
                self.arch == arch
            }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_and_names_the_nearest_for_the_rest() {
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
    }

    #[test]
    fn every_cpu_and_system_is_listed_once_in_its_place() {
        for (i, arch) in Arch::ALL.into_iter().enumerate() {
            assert_eq!(arch.index(), i, "{arch:?}");
        }
        for (i, os) in Os::ALL.into_iter().enumerate() {
            assert_eq!(os.index(), i, "{os:?}");
        }
        for target in Target::supported() {
            assert!(Arch::ALL.contains(&target.arch) && Os::ALL.contains(&target.os));
        }
        // This machine is one of them: the tests run on a CPU the xtask knows.
        let host = Arch::host().expect("a known CPU");
        assert_eq!(host.rust_name(), std::env::consts::ARCH);
    }

    #[test]
    fn a_universal_target_is_its_slices_targets() {
        let universal = Target::parse(UNIVERSAL_MACOS).unwrap();
        let slices: Vec<&str> = universal.slice_targets().iter().map(|t| t.triple).collect();
        assert_eq!(slices, ["x86_64-apple-darwin", "aarch64-apple-darwin"]);
        assert!(universal.serves(Os::Macos, Arch::X86_64));
        assert!(universal.serves(Os::Macos, Arch::Aarch64));
        assert!(!universal.serves(Os::Linux, Arch::X86_64));
        let thin = Target::parse("x86_64-apple-darwin").unwrap();
        assert_eq!(thin.slice_targets(), std::slice::from_ref(&thin));
        assert!(!thin.serves(Os::Macos, Arch::Aarch64));
        // Every universal target's slices are supported thin targets of its system.
        for target in Target::supported().iter().filter(|t| t.is_universal()) {
            assert_eq!(
                target.slice_targets().len(),
                target.slices.len(),
                "{target:?}"
            );
        }
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
}
