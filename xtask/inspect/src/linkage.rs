//! What a binary needs from the machine it runs on, read with `object`, and
//! whether that is acceptable: the `readelf -d` / `file` / `strings` of the
//! seed story, answered in plain words.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionTable};
use object::read::macho::LoadCommandVariant;
use object::{FileKind, elf, macho, pe};

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
        let m = self.machine;
        match self.format {
            Format::Elf => match (m, self.bits) {
                (m, 64) if m == u32::from(elf::EM_X86_64.0) => Some(Arch::X86_64),
                (m, 64) if m == u32::from(elf::EM_AARCH64.0) => Some(Arch::Aarch64),
                (m, 32) if m == u32::from(elf::EM_386.0) => Some(Arch::I686),
                (m, 32) if m == u32::from(elf::EM_ARM.0) => Some(Arch::Armv7),
                (m, 64) if m == u32::from(elf::EM_RISCV.0) => Some(Arch::Riscv64),
                _ => None,
            },
            Format::Pe => match m {
                m if m == u32::from(pe::IMAGE_FILE_MACHINE_AMD64.0) => Some(Arch::X86_64),
                m if m == u32::from(pe::IMAGE_FILE_MACHINE_ARM64.0) => Some(Arch::Aarch64),
                m if m == u32::from(pe::IMAGE_FILE_MACHINE_I386.0) => Some(Arch::I686),
                _ => None,
            },
            Format::MachO => match m {
                m if m == macho::CPU_TYPE_X86_64.0 => Some(Arch::X86_64),
                m if m == macho::CPU_TYPE_ARM64.0 => Some(Arch::Aarch64),
                _ => None,
            },
        }
    }

    pub fn os(&self) -> Os {
        match self.format {
            Format::Elf => Os::Linux,
            Format::Pe => Os::Windows,
            Format::MachO => Os::Macos,
        }
    }

    fn machine_name(&self) -> String {
        match (self.format, self.arch()) {
            (Format::Elf, Some(Arch::X86_64)) => "x86-64".into(),
            (Format::Elf, Some(Arch::Aarch64)) => "ARM aarch64".into(),
            (Format::Elf, Some(Arch::I686)) => "Intel 80386".into(),
            (Format::Elf, Some(Arch::Armv7)) => "ARM".into(),
            (Format::Elf, Some(Arch::Riscv64)) => "RISC-V".into(),
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

/// What a binary of `target` must look like, in the words `describe_format` uses.
fn expected_format(target: &Target) -> String {
    let (kind, machine) = match (target.os, target.arch) {
        (Os::Linux, Arch::X86_64) => ("ELF", "x86-64"),
        (Os::Linux, Arch::Aarch64) => ("ELF", "ARM aarch64"),
        (Os::Linux, Arch::I686) => ("ELF", "Intel 80386"),
        (Os::Linux, Arch::Armv7) => ("ELF", "ARM"),
        (Os::Linux, Arch::Riscv64) => ("ELF", "RISC-V"),
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
            bail!("a universal (fat) Mach-O binary; verify one architecture's binary at a time")
        }
        Ok(kind) => bail!("not an executable but a {kind:?} file"),
        Err(_) if data.len() < 16 => bail!("not an executable: only {} bytes long", data.len()),
        Err(_) => bail!("not an executable (no ELF, PE or Mach-O header)"),
    }
}

/// DLLs every Windows installation has. Anything else must ship next to the
/// .exe, which a single-file release does not do.
const WINDOWS_SYSTEM_DLLS: &[&str] = &[
    "advapi32.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    "comctl32.dll",
    "comdlg32.dll",
    "crypt32.dll",
    "dbghelp.dll",
    "dnsapi.dll",
    "gdi32.dll",
    "imm32.dll",
    "iphlpapi.dll",
    "kernel32.dll",
    "kernelbase.dll",
    "mpr.dll",
    "msvcrt.dll",
    "ncrypt.dll",
    "netapi32.dll",
    "normaliz.dll",
    "ntdll.dll",
    "ole32.dll",
    "oleaut32.dll",
    "powrprof.dll",
    "psapi.dll",
    "rpcrt4.dll",
    "secur32.dll",
    "setupapi.dll",
    "shell32.dll",
    "shlwapi.dll",
    "synchronization.dll",
    "user32.dll",
    "userenv.dll",
    "uxtheme.dll",
    "version.dll",
    "winhttp.dll",
    "wininet.dll",
    "winmm.dll",
    "ws2_32.dll",
    "wsock32.dll",
    "ucrtbase.dll",
];

/// C and C++ runtimes: present only where a redistributable was installed.
fn is_windows_runtime_dll(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("api-ms-win-crt-")
        || n.starts_with("vcruntime")
        || n.starts_with("msvcp")
        || n.starts_with("libgcc_s")
        || n.starts_with("libwinpthread")
        || n.starts_with("libstdc++")
}

fn is_windows_system_dll(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    WINDOWS_SYSTEM_DLLS.contains(&n.as_str())
        || n.starts_with("api-ms-win-core-")
        || n.starts_with("ext-ms-")
}

fn is_macos_system_dylib(path: &str) -> bool {
    (path.starts_with("/usr/lib/") || path.starts_with("/System/Library/"))
        && !path.contains("/../")
}

fn inspect_pe<Pe: object::read::pe::ImageNtHeaders>(data: &[u8], bits: u8) -> Result<Report> {
    let file = object::read::pe::PeFile::<Pe>::parse(data).context("malformed PE file")?;
    let machine = u32::from(
        file.nt_headers()
            .file_header()
            .machine
            .get(object::LittleEndian)
            .0,
    );
    let mut needed = Vec::new();
    if let Some(table) = file.import_table().context("malformed PE import table")? {
        let mut descriptors = table.descriptors().context("malformed PE import table")?;
        while let Some(d) = descriptors
            .next()
            .context("malformed PE import descriptor")?
        {
            let name = table
                .name(d.name.get(object::LittleEndian))
                .context("malformed PE import name")?;
            needed.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    if let Some(table) = file
        .delay_load_import_table()
        .context("malformed PE delay-load import table")?
    {
        let mut descriptors = table
            .descriptors()
            .context("malformed PE delay-load import table")?;
        while let Some(d) = descriptors
            .next()
            .context("malformed PE delay-load descriptor")?
        {
            let name = table
                .name(d.dll_name_rva.get(object::LittleEndian))
                .context("malformed PE import name")?;
            needed.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    let linking = if needed.iter().all(|n| is_windows_system_dll(n)) {
        Linking::SystemLibraries
    } else {
        Linking::Dynamic
    };
    Ok(Report {
        format: Format::Pe,
        bits,
        machine,
        linking,
        interpreter: None,
        needed,
        rpath: vec![],
        glibc: None,
        hardening: None,
    })
}

fn inspect_macho<Mach: object::read::macho::MachHeader<Endian = object::Endianness>>(
    data: &[u8],
    bits: u8,
) -> Result<Report> {
    let header = Mach::parse(data, 0).context("malformed Mach-O header")?;
    let endian = header.endian().context("malformed Mach-O header")?;
    let mut commands = header
        .load_commands(endian, data, 0)
        .context("malformed Mach-O load commands")?;
    let (mut needed, mut rpath) = (Vec::new(), Vec::new());
    while let Some(command) = commands.next().context("malformed Mach-O load command")? {
        match command.variant().context("malformed Mach-O load command")? {
            LoadCommandVariant::Dylib(d) => {
                let name = command
                    .string(endian, d.dylib.name)
                    .context("malformed dylib name")?;
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
            LoadCommandVariant::Rpath(r) => {
                let path = command
                    .string(endian, r.path)
                    .context("malformed LC_RPATH")?;
                rpath.push(("LC_RPATH", String::from_utf8_lossy(path).into_owned()));
            }
            _ => {}
        }
    }
    let linking = if header.filetype(endian) != macho::MH_EXECUTE {
        Linking::NotExecutable
    } else if needed.iter().all(|n| is_macos_system_dylib(n)) {
        Linking::SystemLibraries
    } else {
        Linking::Dynamic
    };
    let machine = header.cputype(endian).0;
    Ok(Report {
        format: Format::MachO,
        bits,
        machine,
        linking,
        interpreter: None,
        needed,
        rpath,
        glibc: None,
        hardening: None,
    })
}

fn inspect_elf<Elf: FileHeader<Endian = object::Endianness>>(data: &[u8]) -> Result<Report> {
    let header = Elf::parse(data).context("malformed ELF header")?;
    let endian = header.endian().context("malformed ELF header")?;
    let segments = header
        .program_headers(endian, data)
        .context("malformed ELF program headers")?;

    let mut interpreter = None;
    let mut dynamic: &[Elf::Dyn] = &[];
    let mut relro_segment = false;
    let mut nx_stack = None;
    for segment in segments {
        match segment.p_type(endian) {
            elf::PT_GNU_RELRO => relro_segment = true,
            elf::PT_GNU_STACK => nx_stack = Some(segment.p_flags(endian).0 & elf::PF_X.0 == 0),
            _ => {}
        }
        if let Some(interp) = segment
            .interpreter(endian, data)
            .context("malformed PT_INTERP segment")?
        {
            interpreter = Some(String::from_utf8_lossy(interp).into_owned());
        }
        if let Some(entries) = segment
            .dynamic(endian, data)
            .context("malformed PT_DYNAMIC segment")?
        {
            dynamic = entries;
        }
    }

    // Read the dynamic table the way the loader does, through the segments,
    // so a binary with its section headers stripped is judged the same.
    let mut strtab = None;
    let mut strsz = None;
    let mut pie = false;
    let mut soname = false;
    let mut bind_now = false;
    for d in dynamic {
        let tag = d.d_tag(endian);
        let val: u64 = d.d_val(endian).into();
        match tag {
            elf::DT_NULL => break,
            elf::DT_STRTAB => strtab = Some(val),
            elf::DT_STRSZ => strsz = Some(val),
            elf::DT_BIND_NOW => bind_now = true,
            elf::DT_FLAGS => bind_now |= val & elf::DF_BIND_NOW.0 != 0,
            elf::DT_FLAGS_1 => {
                pie = val & elf::DF_1_PIE.0 != 0;
                bind_now |= val & elf::DF_1_NOW.0 != 0;
            }
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
        let table =
            strings.context("dynamic string table missing or outside every PT_LOAD segment")?;
        let start = usize::try_from(val)
            .ok()
            .filter(|&v| v < table.len())
            .context("dynamic string offset out of range")?;
        let bytes = &table[start..];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
    };
    let (mut needed, mut rpath) = (Vec::new(), Vec::new());
    for d in dynamic {
        let tag = d.d_tag(endian);
        let val: u64 = d.d_val(endian).into();
        match tag {
            elf::DT_NULL => break,
            elf::DT_NEEDED => needed.push(string(val)?),
            elf::DT_RPATH => rpath.push(("RPATH", string(val)?)),
            elf::DT_RUNPATH => rpath.push(("RUNPATH", string(val)?)),
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
        if pie || (!soname && entry != 0 && needed.is_empty()) {
            Linking::StaticPie
        } else {
            Linking::SharedLibrary
        }
    } else {
        Linking::NotExecutable
    };

    let glibc = header
        .sections(endian, data)
        .ok()
        .and_then(|sections| highest_glibc(&sections, endian, data).ok().flatten());

    // Without a dynamic section nothing is bound lazily: RELRO is all of it.
    let relro = match (relro_segment, bind_now || dynamic.is_empty()) {
        (false, _) => Relro::None,
        (true, false) => Relro::Partial,
        (true, true) => Relro::Full,
    };
    let hardening = Hardening {
        pie: file_type == elf::ET_DYN && matches!(linking, Linking::StaticPie | Linking::Dynamic),
        relro,
        nx_stack,
    };
    Ok(Report {
        format: Format::Elf,
        bits: if header.is_class_64() { 64 } else { 32 },
        machine: u32::from(header.e_machine(endian).0),
        linking,
        interpreter,
        needed,
        rpath,
        glibc,
        hardening: Some(hardening),
    })
}

/// The newest `GLIBC_x.y[.z]` among the versions the binary asks for.
fn highest_glibc<Elf: FileHeader<Endian = object::Endianness>>(
    sections: &SectionTable<'_, Elf>,
    endian: object::Endianness,
    data: &[u8],
) -> Result<Option<String>> {
    let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, data, link)?;
    let mut best: Option<Vec<u32>> = None;
    // Bounded: a malformed table must not keep us here.
    for _ in 0..1024 {
        let Some((_, mut aux)) = needs.next()? else {
            break;
        };
        for _ in 0..1024 {
            let Some(vernaux) = aux.next()? else { break };
            let name = vernaux.name(endian, strings)?;
            let Some(version) = name.strip_prefix(b"GLIBC_") else {
                continue;
            };
            let parsed: Option<Vec<u32>> = std::str::from_utf8(version)
                .ok()
                .and_then(|v| v.split('.').map(|p| p.parse().ok()).collect());
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
        if let Some(target) = &self.target {
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
fn portable_triple(report: &Report) -> Option<&'static str> {
    if report.format != Format::Elf {
        return None;
    }
    match report.arch()? {
        Arch::X86_64 => Some("x86_64-unknown-linux-musl"),
        Arch::Aarch64 => Some("aarch64-unknown-linux-musl"),
        Arch::I686 => Some("i686-unknown-linux-musl"),
        Arch::Armv7 => Some("armv7-unknown-linux-musleabihf"),
        Arch::Riscv64 => Some("riscv64gc-unknown-linux-musl"),
    }
}

/// The human report: facts first, then the verdict and what to do about it.
/// PIE, RELRO and NX stack in plain words. In a static binary no loader
/// applies RELRO: only its C library's start-up code could, and musl's
/// does not, so that is said rather than implied.
fn describe_hardening(h: &Hardening, is_static: bool) -> String {
    let pie = if h.pie {
        "PIE (loaded at a random address)"
    } else {
        "not PIE (loaded at a fixed address: no ASLR for the program)"
    };
    let relro = match (h.relro, is_static) {
        (Relro::None, _) => "no RELRO",
        (Relro::Partial, false) => "partial RELRO",
        (Relro::Full, false) => "full RELRO",
        (_, true) => {
            "RELRO asked for, but a static binary has no loader to apply it (glibc's start-up code does, musl's does not)"
        }
    };
    let nx = match h.nx_stack {
        Some(true) => "non-executable stack",
        Some(false) => "EXECUTABLE stack",
        None => "stack not marked (no PT_GNU_STACK)",
    };
    format!("{pie}; {relro}; {nx}")
}

/// The report of one binary, every name in it escaped for the terminal.
pub fn render(label: &str, report: &Report, verdict: &Verdict) -> String {
    render_raw(label, report, verdict)
        .lines()
        .map(|l| format!("{}\n", crate::report::escape(l)))
        .collect()
}

fn render_raw(label: &str, report: &Report, verdict: &Verdict) -> String {
    let mut out = String::new();
    let none = "none".to_owned();
    let list = |v: &[String]| {
        if v.is_empty() {
            none.clone()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "{label}");
    let _ = writeln!(out, "  format:      {}", report.describe_format());
    let _ = writeln!(out, "  linking:     {}", report.linking.describe());
    if report.format == Format::Elf {
        let _ = writeln!(
            out,
            "  interpreter: {}",
            report.interpreter.as_ref().unwrap_or(&none)
        );
    }
    let _ = writeln!(out, "  needs:       {}", list(&report.needed));
    if report.format != Format::Pe {
        let rpaths: Vec<String> = report
            .rpath
            .iter()
            .map(|(kind, path)| format!("{path} ({kind})"))
            .collect();
        let _ = writeln!(out, "  rpath:       {}", list(&rpaths));
    }
    if report.format == Format::Elf {
        let glibc = report.glibc.as_ref().map(|g| format!("{g} or newer"));
        let _ = writeln!(out, "  glibc:       {}", glibc.unwrap_or(none.clone()));
    }
    if let Some(h) = &report.hardening {
        let _ = writeln!(
            out,
            "  hardening:   {}",
            describe_hardening(h, report.interpreter.is_none())
        );
    }
    let os = match report.format {
        Format::Elf => "Linux",
        Format::Pe => "Windows",
        Format::MachO => "macOS",
    };
    match verdict {
        Verdict::Pass if report.format == Format::Elf => {
            let _ = writeln!(
                out,
                "  verdict:     OK: static, starts on any Linux kernel for its CPU with nothing else installed"
            );
        }
        Verdict::Pass => {
            let _ = writeln!(
                out,
                "  verdict:     OK: needs only libraries that every {os} installation has"
            );
        }
        Verdict::Fail(reasons) => {
            let _ = writeln!(
                out,
                "  verdict:     REJECTED: will not run on every {os} machine"
            );
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
