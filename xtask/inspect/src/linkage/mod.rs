//! What a binary needs from the machine it runs on, read with `object`, and
//! whether that is acceptable: the `readelf -d` / `file` / `strings` of the
//! seed story, answered in plain words.

mod policy;
mod read_elf;
mod read_macho;
mod read_pe;
mod render;

pub use self::policy::{LinkagePolicy, Verdict};
pub use self::read_macho::fat_slices;
pub use self::render::render;

use anyhow::{Result, bail};
use object::{FileKind, elf, macho, pe};

use self::read_elf::inspect_elf;
use self::read_macho::inspect_macho;
use self::read_pe::inspect_pe;

use crate::target::{Arch, Os, Target};

/// How an ELF file gets its code into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linking {
    /// ET_EXEC with no interpreter: starts on any kernel of its architecture.
    Static,
    /// ET_DYN with no interpreter, marked PIE: relocates itself, equally portable.
    StaticPie,
    /// Has an interpreter: the dynamic loader must exist at that exact path.
    Dynamic,
    /// ET_DYN that is not a program at all (a `cdylib`, a `.so`).
    SharedLibrary,
    /// A relocatable object or core dump: nothing to run.
    NotExecutable,
    /// Windows or macOS program that loads only libraries the OS ships.
    SystemLibraries,
}

impl Linking {
    pub fn describe(self) -> &'static str {
        match self {
            Linking::Static => "static",
            Linking::StaticPie => "static-pie",
            Linking::Dynamic => "dynamic",
            Linking::SharedLibrary => "shared library",
            Linking::NotExecutable => "not an executable",
            Linking::SystemLibraries => "system libraries only",
        }
    }
}

/// The container format of a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Elf,
    Pe,
    MachO,
}

/// Everything about a binary that decides where it can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub format: Format,
    pub bits: u8,
    /// The format's own machine code: `e_machine`, PE `Machine`, Mach-O `cputype`.
    pub machine: u32,
    pub linking: Linking,
    pub interpreter: Option<String>,
    /// DT_NEEDED, imported DLLs (plain and delay-loaded), or LC_LOAD_*DYLIB.
    pub needed: Vec<String>,
    /// DT_RPATH, DT_RUNPATH or LC_RPATH entries, with their kind.
    pub rpath: Vec<(&'static str, String)>,
    /// Highest `GLIBC_x.y` symbol version required, e.g. `2.34`.
    pub glibc: Option<String>,
    /// ELF only: what the binary asks of the loader and kernel to make it
    /// harder to exploit.
    pub hardening: Option<Hardening>,
}

/// An ELF binary's hardening, as its headers declare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hardening {
    /// Position-independent: loaded at a random address (ASLR).
    pub pie: bool,
    pub relro: Relro,
    /// `PT_GNU_STACK`: `Some(true)` non-executable, `None` not marked.
    pub nx_stack: Option<bool>,
}

/// Read-only relocations: what `PT_GNU_RELRO` and immediate binding give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relro {
    None,
    /// Made read-only after relocation, but the lazy-binding GOT stays writable.
    Partial,
    /// Everything bound at start-up, then read-only.
    Full,
}

impl Report {
    pub fn arch(&self) -> Option<Arch> {
        let machine = |arch: Arch| match self.format {
            Format::Elf => Some(elf_machine(arch)),
            Format::Pe => pe_machine(arch).map(|m| (m, self.bits)),
            Format::MachO => macho_cpu(arch).map(|m| (m, self.bits)),
        };
        Arch::ALL
            .into_iter()
            .find(|&arch| machine(arch) == Some((self.machine, self.bits)))
    }

    pub fn os(&self) -> Os {
        match self.format {
            Format::Elf => Os::Linux,
            Format::Pe => Os::Windows,
            Format::MachO => Os::Macos,
        }
    }

    fn machine_name(&self) -> String {
        if self.format == Format::Elf && self.machine & BIG_ENDIAN != 0 {
            return format!("big-endian machine {:#x}", self.machine & !BIG_ENDIAN);
        }
        match (self.format, self.arch()) {
            (Format::Elf, Some(Arch::X86_64)) => "x86-64".into(),
            (Format::Elf, Some(Arch::Aarch64)) => "ARM aarch64".into(),
            (Format::Elf, Some(Arch::I686)) => "Intel 80386".into(),
            (Format::Elf, Some(Arch::Armv7)) => "ARM".into(),
            (Format::Elf, Some(Arch::Riscv64)) => "RISC-V".into(),
            (Format::Elf, Some(Arch::Powerpc64le)) => "64-bit PowerPC, little-endian".into(),
            (_, Some(arch)) => arch.name().into(),
            (_, None) => format!("machine {:#x}", self.machine),
        }
    }

    /// `ELF 64-bit, x86-64`, in the spirit of `file`.
    pub fn describe_format(&self) -> String {
        let kind = match self.format {
            Format::Elf => "ELF",
            Format::Pe => "PE",
            Format::MachO => "Mach-O",
        };
        format!("{kind} {}-bit, {}", self.bits, self.machine_name())
    }
}

/// Set in an ELF report's `machine` when the file is big-endian: every CPU
/// we release for is little-endian, so such a file matches none of them
/// (powerpc64 and powerpc64le share `EM_PPC64`).
pub(crate) const BIG_ENDIAN: u32 = 1 << 31;

/// The ELF machine and word size of `arch`'s binaries. Exhaustive, as are
/// the PE and Mach-O ones: a new CPU is not recognised until it is here.
fn elf_machine(arch: Arch) -> (u32, u8) {
    let machine = match arch {
        Arch::X86_64 => elf::EM_X86_64,
        Arch::Aarch64 => elf::EM_AARCH64,
        Arch::I686 => elf::EM_386,
        Arch::Armv7 => elf::EM_ARM,
        Arch::Riscv64 => elf::EM_RISCV,
        Arch::Powerpc64le => elf::EM_PPC64,
    };
    (u32::from(machine.0), if arch.is_64_bit() { 64 } else { 32 })
}

/// The PE machine of `arch`'s Windows binaries; `None`: no Windows target has it.
fn pe_machine(arch: Arch) -> Option<u32> {
    let machine = match arch {
        Arch::X86_64 => pe::IMAGE_FILE_MACHINE_AMD64,
        Arch::Aarch64 => pe::IMAGE_FILE_MACHINE_ARM64,
        Arch::I686 => pe::IMAGE_FILE_MACHINE_I386,
        Arch::Armv7 | Arch::Riscv64 | Arch::Powerpc64le => return None,
    };
    Some(u32::from(machine.0))
}

/// The Mach-O CPU type of `arch`'s macOS binaries; `None`: no Mac has it.
fn macho_cpu(arch: Arch) -> Option<u32> {
    match arch {
        Arch::X86_64 => Some(macho::CPU_TYPE_X86_64.0),
        Arch::Aarch64 => Some(macho::CPU_TYPE_ARM64.0),
        Arch::I686 | Arch::Armv7 | Arch::Riscv64 | Arch::Powerpc64le => None,
    }
}

/// What a binary of `target` must look like, in the words `describe_format` uses.
fn expected_format(target: &Target) -> String {
    let (kind, machine) = match (target.os, target.arch) {
        (Os::Linux, Arch::X86_64) => ("ELF", "x86-64"),
        (Os::Linux, Arch::Aarch64) => ("ELF", "ARM aarch64"),
        (Os::Linux, Arch::I686) => ("ELF", "Intel 80386"),
        (Os::Linux, Arch::Armv7) => ("ELF", "ARM"),
        (Os::Linux, Arch::Riscv64) => ("ELF", "RISC-V"),
        (Os::Linux, Arch::Powerpc64le) => ("ELF", "64-bit PowerPC, little-endian"),
        (Os::Windows, arch) => ("PE", arch.name()),
        (Os::Macos, arch) => ("Mach-O", arch.name()),
    };
    let bits = if target.arch.is_64_bit() { 64 } else { 32 };
    format!("{kind} {bits}-bit, {machine}")
}

/// Reads an ELF, PE or Mach-O file; anything else is a clear error naming what it is.
pub fn inspect(data: &[u8]) -> Result<Report> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => inspect_elf::<elf::FileHeader64<object::Endianness>>(data),
        Ok(FileKind::Elf32) => inspect_elf::<elf::FileHeader32<object::Endianness>>(data),
        Ok(FileKind::Pe64) => inspect_pe::<pe::ImageNtHeaders64>(data, 64),
        Ok(FileKind::Pe32) => inspect_pe::<pe::ImageNtHeaders32>(data, 32),
        Ok(FileKind::MachO64) => inspect_macho::<macho::MachHeader64<object::Endianness>>(data, 64),
        Ok(FileKind::MachO32) => inspect_macho::<macho::MachHeader32<object::Endianness>>(data, 32),
        Ok(FileKind::MachOFat32 | FileKind::MachOFat64) => {
            bail!("a universal (fat) Mach-O binary: inspect each of its slices (`fat_slices`)")
        }
        Ok(kind) => bail!("not an executable but a {kind:?} file"),
        Err(_) if data.len() < 16 => bail!("not an executable: only {} bytes long", data.len()),
        Err(_) => bail!("not an executable (no ELF, PE or Mach-O header)"),
    }
}

#[cfg(test)]
mod tests {
    use super::render::describe_hardening;
    use super::*;

    fn report(linking: Linking) -> Report {
        Report {
            format: Format::Elf,
            bits: 64,
            machine: u32::from(elf::EM_X86_64.0),
            linking,
            interpreter: None,
            needed: vec![],
            rpath: vec![],
            glibc: None,
            hardening: None,
        }
    }

    fn policy(triple: &str) -> LinkagePolicy {
        LinkagePolicy {
            target: Some(Target::parse(triple).unwrap()),
        }
    }

    fn musl() -> LinkagePolicy {
        policy("x86_64-unknown-linux-musl")
    }

    #[test]
    fn each_cpu_is_known_by_its_header_and_only_by_its_own() {
        let linking = Linking::Static;
        for arch in Arch::ALL {
            let (machine, bits) = elf_machine(arch);
            let elf = Report {
                machine,
                bits,
                ..report(linking)
            };
            assert_eq!(elf.arch(), Some(arch), "ELF");
            // The same machine with the other word size is no CPU we know.
            let other = Report {
                bits: 96 - bits,
                ..elf
            };
            assert_eq!(other.arch(), None, "{arch:?} with {} bits", 96 - bits);
            for (format, machine) in [
                (Format::Pe, pe_machine(arch)),
                (Format::MachO, macho_cpu(arch)),
            ] {
                if let Some(machine) = machine {
                    let bits = if arch.is_64_bit() { 64 } else { 32 };
                    let found = Report {
                        format,
                        machine,
                        bits,
                        ..report(linking)
                    };
                    assert_eq!(found.arch(), Some(arch), "{format:?}");
                }
            }
        }
    }

    #[test]
    fn static_and_static_pie_pass() {
        assert_eq!(musl().judge(&report(Linking::Static)), Verdict::Pass);
        assert_eq!(musl().judge(&report(Linking::StaticPie)), Verdict::Pass);
        assert_eq!(
            LinkagePolicy { target: None }.judge(&report(Linking::StaticPie)),
            Verdict::Pass
        );
    }

    #[test]
    fn the_seed_binary_is_rejected_with_its_reasons() {
        let gnu = Report {
            interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
            needed: vec!["libgcc_s.so.1".into(), "libc.so.6".into()],
            rpath: vec![("RUNPATH", "/nix/store/abc-glibc/lib".into())],
            glibc: Some("2.34".into()),
            ..report(Linking::Dynamic)
        };
        let Verdict::Fail(reasons) = musl().judge(&gnu) else {
            panic!("dynamic binary passed")
        };
        let all = reasons.join("\n");
        for needle in [
            "/lib64/ld-linux-x86-64.so.2",
            "libc.so.6",
            "RUNPATH `/nix/store/abc-glibc/lib`",
            "glibc 2.34",
            "NixOS",
        ] {
            assert!(all.contains(needle), "missing {needle}: {all}");
        }
        let text = render("toolbox", &gnu, &Verdict::Fail(reasons));
        assert!(text.contains("x86_64-unknown-linux-musl"), "{text}");
    }

    #[test]
    fn wrong_machine_and_libraries_are_rejected() {
        let arm = Report {
            machine: u32::from(elf::EM_AARCH64.0),
            ..report(Linking::Static)
        };
        let Verdict::Fail(reasons) = musl().judge(&arm) else {
            panic!()
        };
        assert!(
            reasons[0].contains("ARM aarch64") && reasons[0].contains("x86_64-unknown-linux-musl"),
            "{reasons:?}"
        );
        assert!(policy("aarch64-unknown-linux-musl").judge(&arm).passed());
        assert!(!musl().judge(&report(Linking::SharedLibrary)).passed());
        assert!(!musl().judge(&report(Linking::NotExecutable)).passed());
        let i686 = Report {
            bits: 32,
            machine: u32::from(elf::EM_386.0),
            ..report(Linking::Static)
        };
        assert!(!musl().judge(&i686).passed());
        assert!(policy("i686-unknown-linux-musl").judge(&i686).passed());
        assert!(LinkagePolicy { target: None }.judge(&i686).passed());
    }

    fn pe(needed: &[&str]) -> Report {
        Report {
            format: Format::Pe,
            machine: u32::from(pe::IMAGE_FILE_MACHINE_AMD64.0),
            needed: needed.iter().map(|s| s.to_string()).collect(),
            ..report(Linking::SystemLibraries)
        }
    }

    #[test]
    fn windows_needs_only_system_dlls() {
        let msvc = policy("x86_64-pc-windows-msvc");
        assert!(
            msvc.judge(&pe(&[
                "KERNEL32.dll",
                "ntdll.dll",
                "api-ms-win-core-synch-l1-2-0.dll"
            ]))
            .passed()
        );
        for runtime in [
            "libgcc_s_seh-1.dll",
            "libwinpthread-1.dll",
            "VCRUNTIME140.dll",
            "api-ms-win-crt-heap-l1-1-0.dll",
        ] {
            let Verdict::Fail(reasons) = msvc.judge(&pe(&["KERNEL32.dll", runtime])) else {
                panic!("{runtime}")
            };
            assert!(
                reasons[0].contains(runtime) && reasons[0].contains("+crt-static"),
                "{reasons:?}"
            );
        }
        assert!(!msvc.judge(&pe(&["openssl.dll"])).passed());
        assert!(
            !musl().judge(&pe(&["KERNEL32.dll"])).passed(),
            "a PE is not a Linux binary"
        );
    }

    #[test]
    fn macos_needs_only_system_dylibs() {
        let mac = |needed: &[&str]| Report {
            format: Format::MachO,
            machine: macho::CPU_TYPE_ARM64.0,
            needed: needed.iter().map(|s| s.to_string()).collect(),
            ..report(Linking::SystemLibraries)
        };
        let p = policy("aarch64-apple-darwin");
        assert!(
            p.judge(&mac(&[
                "/usr/lib/libSystem.B.dylib",
                "/System/Library/Frameworks/Security"
            ]))
            .passed()
        );
        let Verdict::Fail(reasons) = p.judge(&mac(&["@rpath/libfoo.dylib"])) else {
            panic!()
        };
        assert!(reasons[0].contains("@rpath/libfoo.dylib"), "{reasons:?}");
        assert!(!p.judge(&mac(&["/opt/homebrew/lib/libssl.dylib"])).passed());
        assert!(
            !policy("x86_64-apple-darwin").judge(&mac(&[])).passed(),
            "arm64 is not x86_64"
        );
    }

    #[test]
    fn garbage_is_a_clear_error_not_a_panic() {
        let cases: [&[u8]; 6] = [
            b"",
            b"\x7fELF",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0",
            b"#!/bin/sh\necho hi\n",
            &[0u8; 4096],
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0",
        ];
        for data in cases {
            let err = inspect(data).unwrap_err();
            assert!(!format!("{err:#}").is_empty());
        }
        let mut elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        elf.truncate(200);
        assert!(inspect(&elf).is_err(), "a truncated ELF must be an error");
    }

    #[test]
    fn reads_this_test_binary() {
        // The test harness itself is a real binary of the host: it must parse.
        let data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        if cfg!(target_os = "linux") {
            let report = inspect(&data).unwrap();
            assert_eq!(report.arch(), Arch::host());
            assert_ne!(report.linking, Linking::NotExecutable);
            // Rust links with -z relro -z now, as a PIE, with a non-executable stack.
            let hardening = report.hardening.unwrap();
            assert_eq!(
                hardening,
                Hardening {
                    pie: true,
                    relro: Relro::Full,
                    nx_stack: Some(true)
                }
            );
        }
    }

    /// Inputs the fuzzer (fuzz/, `cargo fuzz run inspect`) found interesting
    /// or crashing, replayed on every test run: rejected or reported, never a panic.
    #[test]
    fn fuzz_regressions_do_not_panic() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/inspect");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("tests/fixtures/fuzz/inspect exists") {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            // The fuzz target feeds the same bytes to the dependency reader.
            let _ = crate::audit::read(&data);
            if let Ok(report) = inspect(&data) {
                for triple in [
                    None,
                    Some("x86_64-unknown-linux-musl"),
                    Some("x86_64-pc-windows-msvc"),
                    Some("aarch64-apple-darwin"),
                ] {
                    let target = triple.map(|t| Target::parse(t).unwrap());
                    let verdict = LinkagePolicy { target }.judge(&report);
                    let _ = render("regression", &report, &verdict);
                }
            }
            count += 1;
        }
        assert!(count > 0, "no regression inputs in {}", dir.display());
    }

    #[test]
    fn hardening_is_said_plainly_and_names_are_escaped() {
        let h = Hardening {
            pie: false,
            relro: Relro::Partial,
            nx_stack: None,
        };
        let text = describe_hardening(&h, false);
        assert!(
            text.contains("not PIE")
                && text.contains("partial RELRO")
                && text.contains("not marked"),
            "{text}"
        );
        let full = Hardening {
            pie: true,
            relro: Relro::Full,
            nx_stack: Some(true),
        };
        assert!(describe_hardening(&full, true).contains("no loader to apply it"));
        let evil = Report {
            interpreter: Some("/lib/ld\r\u{1b}[2K-fine".into()),
            hardening: Some(full),
            ..report(Linking::Dynamic)
        };
        let text = render("x", &evil, &Verdict::Pass);
        assert!(text.contains("/lib/ld\\r\\u{1b}[2K-fine"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
