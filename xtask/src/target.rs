//! Target triples: which ones we release for, and what their binaries must look like.

use anyhow::{Result, bail};

use crate::suggest::did_you_mean;

/// CPU architecture of a target, as far as linkage checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arch {
    X86_64,
    Aarch64,
    I686,
}

impl Arch {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::I686 => "i686",
        }
    }

    /// The architecture this xtask runs on, if it is one we know.
    pub(crate) fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            "x86" => Some(Arch::I686),
            _ => None,
        }
    }

    /// Whether a binary of this architecture runs natively on `host`.
    pub(crate) fn runs_on(self, host: Arch) -> bool {
        self == host || (self == Arch::I686 && host == Arch::X86_64)
    }
}

/// A release target: a rustc triple we know how to build and check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) triple: &'static str,
    pub(crate) arch: Arch,
}

/// Targets `cargo xtask dist` builds today.
const SUPPORTED: &[Target] = &[Target { triple: "x86_64-unknown-linux-musl", arch: Arch::X86_64 }];

/// Real triples we do not release for yet; naming one is a clear error, not a typo.
const NOT_YET: &[&str] = &[
    "aarch64-unknown-linux-musl",
    "i686-unknown-linux-musl",
    "armv7-unknown-linux-musleabihf",
    "arm-unknown-linux-musleabihf",
    "riscv64gc-unknown-linux-musl",
    "powerpc64le-unknown-linux-musl",
    "x86_64-pc-windows-msvc",
    "x86_64-pc-windows-gnu",
    "aarch64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

/// Glibc triples: real, but exactly what this template exists to avoid.
const GNU: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "i686-unknown-linux-gnu",
    "armv7-unknown-linux-gnueabihf",
];

impl Target {
    pub(crate) fn parse(triple: &str) -> Result<Target> {
        if let Some(t) = SUPPORTED.iter().find(|t| t.triple == triple) {
            return Ok(t.clone());
        }
        let supported = SUPPORTED.iter().map(|t| t.triple).collect::<Vec<_>>().join(", ");
        if NOT_YET.contains(&triple) {
            bail!("target `{triple}` is not supported yet (supported: {supported})");
        }
        if GNU.contains(&triple) {
            let musl = triple.replace("gnueabihf", "musleabihf").replace("gnu", "musl");
            bail!(
                "target `{triple}` links against the build machine's glibc and will not start on \
                 systems without it (NixOS, Alpine); release `{musl}` instead"
            );
        }
        let known = SUPPORTED.iter().map(|t| t.triple).chain(NOT_YET.iter().copied());
        bail!("unknown target `{triple}`{} (supported: {supported})", did_you_mean(triple, known))
    }

    pub(crate) fn is_musl(&self) -> bool {
        self.triple.contains("-linux-musl")
    }

    /// The file name of binary `bin` on this target.
    pub(crate) fn exe_name(&self, bin: &str) -> String {
        bin.to_owned()
    }
}

/// The targets released when `dist-workspace.toml` names none.
pub(crate) fn default_targets() -> Vec<Target> {
    SUPPORTED.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_and_explains_the_rest() {
        assert_eq!(Target::parse("x86_64-unknown-linux-musl").unwrap().arch, Arch::X86_64);
        let err = Target::parse("x86_64-unknown-linux-mus").unwrap_err().to_string();
        assert!(err.contains("did you mean `x86_64-unknown-linux-musl`"), "{err}");
        let err = Target::parse("x86_64-unknown-linux-gnu").unwrap_err().to_string();
        assert!(err.contains("release `x86_64-unknown-linux-musl` instead"), "{err}");
        let err = Target::parse("aarch64-apple-darwin").unwrap_err().to_string();
        assert!(err.contains("not supported yet"), "{err}");
    }

    #[test]
    fn i686_runs_on_x86_64_but_not_the_reverse() {
        assert!(Arch::I686.runs_on(Arch::X86_64));
        assert!(!Arch::X86_64.runs_on(Arch::I686));
        assert!(!Arch::Aarch64.runs_on(Arch::X86_64));
    }
}
