//! What a binary needs from the machine it runs on, read with `object`, and
//! whether that is acceptable: the `readelf -d` / `file` / `strings` of the
//! seed story, answered in plain words.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionTable};
use object::{FileKind, elf};

use crate::target::{Arch, Target};

/// How an ELF file gets its code into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Linking {
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
}

impl Linking {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Linking::Static => "static",
            Linking::StaticPie => "static-pie",
            Linking::Dynamic => "dynamic",
            Linking::SharedLibrary => "shared library",
            Linking::NotExecutable => "not an executable",
        }
    }
}

/// Everything about an ELF file that decides where it can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ElfReport {
    pub(crate) class64: bool,
    pub(crate) machine: u16,
    pub(crate) linking: Linking,
    pub(crate) interpreter: Option<String>,
    pub(crate) needed: Vec<String>,
    pub(crate) rpath: Vec<String>,
    pub(crate) runpath: Vec<String>,
    /// Highest `GLIBC_x.y` symbol version required, e.g. `2.34`.
    pub(crate) glibc: Option<String>,
}

impl ElfReport {
    pub(crate) fn arch(&self) -> Option<Arch> {
        match (self.machine, self.class64) {
            (m, true) if m == elf::EM_X86_64.0 => Some(Arch::X86_64),
            (m, true) if m == elf::EM_AARCH64.0 => Some(Arch::Aarch64),
            (m, false) if m == elf::EM_386.0 => Some(Arch::I686),
            _ => None,
        }
    }

    fn machine_name(&self) -> String {
        let name = match self.machine {
            m if m == elf::EM_X86_64.0 => "x86-64",
            m if m == elf::EM_AARCH64.0 => "ARM aarch64",
            m if m == elf::EM_386.0 => "Intel 80386",
            m if m == elf::EM_ARM.0 => "ARM",
            m if m == elf::EM_RISCV.0 => "RISC-V",
            m if m == elf::EM_PPC64.0 => "PowerPC64",
            m if m == elf::EM_S390.0 => "IBM S/390",
            m => return format!("machine {m:#x}"),
        };
        name.to_owned()
    }

    /// `ELF 64-bit, x86-64`, in the spirit of `file`.
    pub(crate) fn format(&self) -> String {
        format!("ELF {}-bit, {}", if self.class64 { 64 } else { 32 }, self.machine_name())
    }
}

/// Reads an ELF file; anything else is a clear error naming what it is.
pub(crate) fn inspect(data: &[u8]) -> Result<ElfReport> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => inspect_elf::<elf::FileHeader64<object::Endianness>>(data),
        Ok(FileKind::Elf32) => inspect_elf::<elf::FileHeader32<object::Endianness>>(data),
        Ok(FileKind::Pe32 | FileKind::Pe64) => {
            bail!("a Windows PE executable; verify checks Linux (ELF) binaries today")
        }
        Ok(FileKind::MachO32 | FileKind::MachO64 | FileKind::MachOFat32 | FileKind::MachOFat64) => {
            bail!("a macOS Mach-O binary; verify checks Linux (ELF) binaries today")
        }
        Ok(kind) => bail!("not an executable but a {kind:?} file"),
        Err(_) if data.len() < 16 => bail!("not an executable: only {} bytes long", data.len()),
        Err(_) => bail!("not an executable (no ELF, PE or Mach-O header)"),
    }
}

fn inspect_elf<Elf: FileHeader<Endian = object::Endianness>>(data: &[u8]) -> Result<ElfReport> {
    let header = Elf::parse(data).context("malformed ELF header")?;
    let endian = header.endian().context("malformed ELF header")?;
    let segments = header.program_headers(endian, data).context("malformed ELF program headers")?;

    let mut interpreter = None;
    let mut dynamic: &[Elf::Dyn] = &[];
    for segment in segments {
        if let Some(interp) = segment.interpreter(endian, data).context("malformed PT_INTERP segment")? {
            interpreter = Some(String::from_utf8_lossy(interp).into_owned());
        }
        if let Some(entries) = segment.dynamic(endian, data).context("malformed PT_DYNAMIC segment")? {
            dynamic = entries;
        }
    }

    // Read the dynamic table the way the loader does, through the segments,
    // so a binary with its section headers stripped is judged the same.
    let mut strtab = None;
    let mut strsz = None;
    let mut pie = false;
    let mut soname = false;
    for d in dynamic {
        let tag = d.d_tag(endian);
        let val: u64 = d.d_val(endian).into();
        match tag {
            elf::DT_NULL => break,
            elf::DT_STRTAB => strtab = Some(val),
            elf::DT_STRSZ => strsz = Some(val),
            elf::DT_FLAGS_1 => pie = val & elf::DF_1_PIE.0 != 0,
            elf::DT_SONAME => soname = true,
            _ => {}
        }
    }
    let strings = match (strtab, strsz) {
        (Some(addr), Some(size)) => segments
            .iter()
            .filter(|s| s.p_type(endian) == elf::PT_LOAD)
            .find_map(|s| s.data_range(endian, data, addr, size).ok().flatten()),
        _ => None,
    };
    let string = |val: u64| -> Result<String> {
        let table = strings.context("dynamic string table missing or outside every PT_LOAD segment")?;
        let start =
            usize::try_from(val).ok().filter(|&v| v < table.len()).context("dynamic string offset out of range")?;
        let bytes = &table[start..];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
    };
    let (mut needed, mut rpath, mut runpath) = (Vec::new(), Vec::new(), Vec::new());
    for d in dynamic {
        let tag = d.d_tag(endian);
        let val: u64 = d.d_val(endian).into();
        match tag {
            elf::DT_NULL => break,
            elf::DT_NEEDED => needed.push(string(val)?),
            elf::DT_RPATH => rpath.push(string(val)?),
            elf::DT_RUNPATH => runpath.push(string(val)?),
            _ => {}
        }
    }

    let file_type = header.e_type(endian);
    let linking = if interpreter.is_some() {
        Linking::Dynamic
    } else if file_type == elf::ET_EXEC {
        Linking::Static
    } else if file_type == elf::ET_DYN {
        // Linkers mark position-independent executables with DF_1_PIE; a
        // library has no such flag, usually a SONAME and no entry point.
        let entry: u64 = header.e_entry(endian).into();
        if pie || (!soname && entry != 0 && needed.is_empty()) { Linking::StaticPie } else { Linking::SharedLibrary }
    } else {
        Linking::NotExecutable
    };

    let glibc =
        header.sections(endian, data).ok().and_then(|sections| highest_glibc(&sections, endian, data).ok().flatten());

    Ok(ElfReport {
        class64: header.is_class_64(),
        machine: header.e_machine(endian).0,
        linking,
        interpreter,
        needed,
        rpath,
        runpath,
        glibc,
    })
}

/// The newest `GLIBC_x.y[.z]` among the versions the binary asks for.
fn highest_glibc<Elf: FileHeader<Endian = object::Endianness>>(
    sections: &SectionTable<'_, Elf>,
    endian: object::Endianness,
    data: &[u8],
) -> Result<Option<String>> {
    let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? else { return Ok(None) };
    let strings = sections.strings(endian, data, link)?;
    let mut best: Option<Vec<u32>> = None;
    // Bounded: a malformed table must not keep us here.
    for _ in 0..1024 {
        let Some((_, mut aux)) = needs.next()? else { break };
        for _ in 0..1024 {
            let Some(vernaux) = aux.next()? else { break };
            let name = vernaux.name(endian, strings)?;
            let Some(version) = name.strip_prefix(b"GLIBC_") else { continue };
            let parsed: Option<Vec<u32>> =
                std::str::from_utf8(version).ok().and_then(|v| v.split('.').map(|p| p.parse().ok()).collect());
            if let Some(v) = parsed
                && best.as_ref().is_none_or(|b| v > *b)
            {
                best = Some(v);
            }
        }
    }
    Ok(best.map(|v| v.iter().map(u32::to_string).collect::<Vec<_>>().join(".")))
}

/// What a release binary must be. `target: None` means "some static Linux
/// executable", for binaries checked without an archive that names a target.
#[derive(Debug, Clone)]
pub(crate) struct LinkagePolicy {
    pub(crate) target: Option<Target>,
}

/// The outcome of checking a binary against a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail(Vec<String>),
}

impl Verdict {
    pub(crate) fn passed(&self) -> bool {
        *self == Verdict::Pass
    }
}

impl LinkagePolicy {
    pub(crate) fn judge(&self, report: &ElfReport) -> Verdict {
        let mut reasons = Vec::new();
        if let Some(target) = &self.target {
            let want = (target.arch, target.arch != Arch::I686);
            if report.arch() != Some(want.0) || report.class64 != want.1 {
                reasons.push(format!(
                    "it is a {} binary, but {} needs {}",
                    report.format(),
                    target.triple,
                    match target.arch {
                        Arch::X86_64 => "ELF 64-bit, x86-64",
                        Arch::Aarch64 => "ELF 64-bit, ARM aarch64",
                        Arch::I686 => "ELF 32-bit, Intel 80386",
                    }
                ));
            }
        }
        match report.linking {
            Linking::SharedLibrary => {
                reasons.push("it is a shared library, not a program (ET_DYN without the PIE flag)".into())
            }
            Linking::NotExecutable => reasons.push("it is not an executable (neither ET_EXEC nor ET_DYN)".into()),
            Linking::Static | Linking::StaticPie | Linking::Dynamic => {}
        }
        if let Some(interp) = &report.interpreter {
            reasons.push(format!(
                "it must be started by the dynamic loader `{interp}`: where that file does not exist \
                 (NixOS, Alpine, distroless images) it fails with `cannot execute: required file not found`"
            ));
        }
        if !report.needed.is_empty() {
            reasons.push(format!("it loads shared libraries at run time: {}", report.needed.join(", ")));
        }
        if let Some(glibc) = &report.glibc {
            reasons.push(format!("it requires glibc {glibc} or newer; older systems refuse to run it"));
        }
        for (kind, paths) in [("RPATH", &report.rpath), ("RUNPATH", &report.runpath)] {
            for path in paths.iter() {
                reasons
                    .push(format!("it looks for libraries in {kind} `{path}`, a path from the machine that built it"));
            }
        }
        if reasons.is_empty() { Verdict::Pass } else { Verdict::Fail(reasons) }
    }
}

/// The triple to build instead, for the architecture of `report`.
fn portable_triple(report: &ElfReport) -> Option<&'static str> {
    match report.arch()? {
        Arch::X86_64 => Some("x86_64-unknown-linux-musl"),
        Arch::Aarch64 => Some("aarch64-unknown-linux-musl"),
        Arch::I686 => Some("i686-unknown-linux-musl"),
    }
}

/// The human report: facts first, then the verdict and what to do about it.
pub(crate) fn render(label: &str, report: &ElfReport, verdict: &Verdict) -> String {
    let mut out = String::new();
    let none = "none".to_owned();
    let list = |v: &[String]| if v.is_empty() { none.clone() } else { v.join(", ") };
    let _ = writeln!(out, "{label}");
    let _ = writeln!(out, "  format:      {}", report.format());
    let _ = writeln!(out, "  linking:     {}", report.linking.describe());
    let _ = writeln!(out, "  interpreter: {}", report.interpreter.as_ref().unwrap_or(&none));
    let _ = writeln!(out, "  needs:       {}", list(&report.needed));
    let _ = writeln!(out, "  rpath:       {}", list(&[report.rpath.clone(), report.runpath.clone()].concat()));
    let _ = writeln!(
        out,
        "  glibc:       {}",
        report.glibc.as_ref().map(|g| format!("{g} or newer")).unwrap_or(none.clone())
    );
    match verdict {
        Verdict::Pass => {
            let _ = writeln!(
                out,
                "  verdict:     OK: static, starts on any Linux kernel for its CPU with nothing else installed"
            );
        }
        Verdict::Fail(reasons) => {
            let _ = writeln!(out, "  verdict:     REJECTED: will not run on every Linux machine");
            for reason in reasons {
                let _ = writeln!(out, "    - {reason}");
            }
            if let Some(triple) = portable_triple(report) {
                let _ = writeln!(
                    out,
                    "  fix:         build for `{triple}` (static musl), which `cargo xtask dist` does by default"
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(linking: Linking) -> ElfReport {
        ElfReport {
            class64: true,
            machine: elf::EM_X86_64.0,
            linking,
            interpreter: None,
            needed: vec![],
            rpath: vec![],
            runpath: vec![],
            glibc: None,
        }
    }

    fn musl() -> LinkagePolicy {
        LinkagePolicy { target: Some(Target::parse("x86_64-unknown-linux-musl").unwrap()) }
    }

    #[test]
    fn static_and_static_pie_pass() {
        assert_eq!(musl().judge(&report(Linking::Static)), Verdict::Pass);
        assert_eq!(musl().judge(&report(Linking::StaticPie)), Verdict::Pass);
        assert_eq!(LinkagePolicy { target: None }.judge(&report(Linking::StaticPie)), Verdict::Pass);
    }

    #[test]
    fn the_seed_binary_is_rejected_with_its_reasons() {
        let gnu = ElfReport {
            interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
            needed: vec!["libgcc_s.so.1".into(), "libc.so.6".into()],
            runpath: vec!["/nix/store/abc-glibc/lib".into()],
            glibc: Some("2.34".into()),
            ..report(Linking::Dynamic)
        };
        let Verdict::Fail(reasons) = musl().judge(&gnu) else { panic!("dynamic binary passed") };
        let all = reasons.join("\n");
        for needle in
            ["/lib64/ld-linux-x86-64.so.2", "libc.so.6", "RUNPATH `/nix/store/abc-glibc/lib`", "glibc 2.34", "NixOS"]
        {
            assert!(all.contains(needle), "missing {needle}: {all}");
        }
        let text = render("mycli", &gnu, &Verdict::Fail(reasons));
        assert!(text.contains("x86_64-unknown-linux-musl"), "{text}");
    }

    #[test]
    fn wrong_machine_and_libraries_are_rejected() {
        let arm = ElfReport { machine: elf::EM_AARCH64.0, ..report(Linking::Static) };
        let Verdict::Fail(reasons) = musl().judge(&arm) else { panic!() };
        assert!(reasons[0].contains("ARM aarch64") && reasons[0].contains("x86_64-unknown-linux-musl"), "{reasons:?}");
        assert!(!musl().judge(&report(Linking::SharedLibrary)).passed());
        assert!(!musl().judge(&report(Linking::NotExecutable)).passed());
        let i686 = ElfReport { class64: false, machine: elf::EM_386.0, ..report(Linking::Static) };
        assert!(!musl().judge(&i686).passed());
        assert!(LinkagePolicy { target: None }.judge(&i686).passed());
    }

    #[test]
    fn garbage_is_a_clear_error_not_a_panic() {
        for data in [
            &b""[..],
            b"\x7fELF",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0",
            b"#!/bin/sh\necho hi\n",
            &[0u8; 4096],
        ] {
            let err = inspect(data).unwrap_err();
            assert!(!format!("{err:#}").is_empty());
        }
        let mut elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        elf.truncate(200);
        assert!(inspect(&elf).is_err(), "a truncated ELF must be an error");
    }

    #[test]
    fn reads_this_test_binary() {
        // The test harness itself is a real ELF of the host: it must parse.
        let data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        if cfg!(target_os = "linux") {
            let report = inspect(&data).unwrap();
            assert_eq!(report.arch(), Arch::host());
            assert_ne!(report.linking, Linking::NotExecutable);
        }
    }
}
