//! Which targets a release may name: the supported ones, the defaults, and
//! for a real triple this template does not release — a glibc one, or one
//! not supported yet — why, and what to release instead.

use anyhow::{Result, bail};
use xtask_inspect::suggest::did_you_mean;
use xtask_inspect::target::Target;

/// Released when `dist-workspace.toml` names no targets.
const DEFAULTS: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

/// Real triples we do not release for yet; naming one is a clear error, not a typo.
const NOT_YET: &[&str] = &["arm-unknown-linux-musleabihf"];

/// Real musl triples rustup ships no standard library for, on any host:
/// no release can be built for them without building std itself.
const NO_STD: &[&str] = &["s390x-unknown-linux-musl"];

/// Glibc triples: real, but exactly what this template exists to avoid.
const GNU: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "i686-unknown-linux-gnu",
    "armv7-unknown-linux-gnueabihf",
    "riscv64gc-unknown-linux-gnu",
];

/// A target a release may have: a supported triple, else why not.
pub(crate) fn parse(triple: &str) -> Result<Target> {
    if let Ok(target) = Target::parse(triple) {
        return Ok(target);
    }
    let supported = Target::supported_list();
    if NOT_YET.contains(&triple) {
        bail!("target `{triple}` is not supported yet (supported: {supported})");
    }
    if NO_STD.contains(&triple) {
        bail!(
            "target `{triple}`: rustup ships no standard library for it, so no release can be built for it \
             (supported: {supported})"
        );
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
    let known = Target::supported()
        .iter()
        .map(|t| t.triple)
        .chain(NOT_YET.iter().copied());
    bail!(
        "unknown target `{triple}`{} (supported: {supported})",
        did_you_mean(triple, known)
    )
}

/// The targets released when `dist-workspace.toml` names none.
pub(crate) fn defaults() -> Vec<Target> {
    DEFAULTS
        .iter()
        .map(|d| Target::parse(d).expect("defaults are supported"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xtask_inspect::target::Os;

    #[test]
    fn parses_supported_and_explains_the_rest() {
        assert_eq!(parse("aarch64-apple-darwin").unwrap().os, Os::Macos);
        let err = parse("x86_64-unknown-linux-mus").unwrap_err().to_string();
        assert!(
            err.contains("did you mean `x86_64-unknown-linux-musl`"),
            "{err}"
        );
        let err = parse("x86_64-unknown-linux-gnu").unwrap_err().to_string();
        assert!(
            err.contains("release `x86_64-unknown-linux-musl` instead"),
            "{err}"
        );
        assert_eq!(parse("aarch64-pc-windows-msvc").unwrap().os, Os::Windows);
        let err = parse("arm-unknown-linux-musleabihf")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not supported yet"), "{err}");
        let err = parse("s390x-unknown-linux-musl").unwrap_err().to_string();
        assert!(
            err.contains("rustup ships no standard library for it"),
            "{err}"
        );
        // A refused triple is never one the inspector supports.
        for triple in NOT_YET.iter().chain(NO_STD).chain(GNU) {
            assert!(Target::parse(triple).is_err(), "{triple}");
        }
    }

    #[test]
    fn defaults_are_the_five_platforms() {
        let d: Vec<&str> = defaults().iter().map(|t| t.triple).collect();
        assert_eq!(d, DEFAULTS);
    }
}
