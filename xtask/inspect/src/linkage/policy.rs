//! The linkage policy: what a release binary of a target must be, and the
//! reasons, in plain words, when it is not.

use super::read_macho::is_macos_system_dylib;
use super::read_pe::{is_windows_runtime_dll, is_windows_system_dll};
use super::*;

/// What a release binary must be. `target: None` means "some static Linux
/// executable", for binaries checked without an archive that names a target.
#[derive(Debug, Clone)]
pub struct LinkagePolicy {
    pub target: Option<Target>,
}

/// The outcome of checking a binary against a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(Vec<String>),
}

impl Verdict {
    pub fn passed(&self) -> bool {
        *self == Verdict::Pass
    }
}

impl LinkagePolicy {
    pub fn judge(&self, report: &Report) -> Verdict {
        let mut reasons = Vec::new();
        if let Some(target) = self.target.as_ref().filter(|t| t.is_universal()) {
            // Slices are judged against their own CPU's target (`fat_slices`).
            let cpus: Vec<&str> = target.slices.iter().map(|a| a.name()).collect();
            reasons.push(format!(
                "it is a single {} binary, but {} needs a universal Mach-O with a slice for each of {}",
                report.describe_format(),
                target.triple,
                cpus.join(" and ")
            ));
        } else if let Some(target) = &self.target {
            let want = expected_format(target);
            if report.describe_format() != want {
                reasons.push(format!(
                    "it is a {} binary, but {} needs {want}",
                    report.describe_format(),
                    target.triple
                ));
            }
        }
        match report.linking {
            Linking::SharedLibrary => reasons
                .push("it is a shared library, not a program (ET_DYN without the PIE flag)".into()),
            Linking::NotExecutable => reasons.push("it is not an executable program".into()),
            Linking::Static | Linking::StaticPie | Linking::Dynamic | Linking::SystemLibraries => {}
        }
        match report.format {
            Format::Elf => elf_reasons(report, &mut reasons),
            Format::Pe => {
                let runtimes: Vec<&str> = report
                    .needed
                    .iter()
                    .filter(|n| is_windows_runtime_dll(n))
                    .map(String::as_str)
                    .collect();
                if !runtimes.is_empty() {
                    reasons.push(format!(
                        "it needs C runtime DLLs that Windows does not ship: {}; link the runtime statically \
                         with `-C target-feature=+crt-static`",
                        runtimes.join(", ")
                    ));
                }
                let others: Vec<&str> = report
                    .needed
                    .iter()
                    .filter(|n| !is_windows_runtime_dll(n) && !is_windows_system_dll(n))
                    .map(String::as_str)
                    .collect();
                if !others.is_empty() {
                    reasons.push(format!(
                        "it needs DLLs that are not part of Windows: {}",
                        others.join(", ")
                    ));
                }
            }
            Format::MachO => {
                for lib in report.needed.iter().filter(|n| !is_macos_system_dylib(n)) {
                    let why = if lib.starts_with('@') {
                        "is found relative to the binary or its rpath, so it must ship alongside it"
                    } else {
                        "is not part of macOS (only /usr/lib and /System/Library are)"
                    };
                    reasons.push(format!("it loads `{lib}`, which {why}"));
                }
            }
        }
        if reasons.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(reasons)
        }
    }
}

fn elf_reasons(report: &Report, reasons: &mut Vec<String>) {
    if let Some(interp) = &report.interpreter {
        reasons.push(format!(
            "it must be started by the dynamic loader `{interp}`: where that file does not exist \
             (NixOS, Alpine, distroless images) it fails with `cannot execute: required file not found`"
        ));
    }
    if !report.needed.is_empty() {
        reasons.push(format!(
            "it loads shared libraries at run time: {}",
            report.needed.join(", ")
        ));
    }
    if let Some(glibc) = &report.glibc {
        reasons.push(format!(
            "it requires glibc {glibc} or newer; older systems refuse to run it"
        ));
    }
    for (kind, path) in &report.rpath {
        reasons.push(format!(
            "it looks for libraries in {kind} `{path}`, a path from the machine that built it"
        ));
    }
}

/// The triple to build instead, for the architecture of `report`.
pub(super) fn portable_triple(report: &Report) -> Option<&'static str> {
    if report.format != Format::Elf {
        return None;
    }
    match report.arch()? {
        Arch::X86_64 => Some("x86_64-unknown-linux-musl"),
        Arch::Aarch64 => Some("aarch64-unknown-linux-musl"),
        Arch::I686 => Some("i686-unknown-linux-musl"),
        Arch::Armv7 => Some("armv7-unknown-linux-musleabihf"),
        Arch::Riscv64 => Some("riscv64gc-unknown-linux-musl"),
        Arch::Powerpc64le => Some("powerpc64le-unknown-linux-musl"),
    }
}
