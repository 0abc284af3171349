//! ELF (Linux) binaries: interpreter, needed libraries, glibc symbol
//! versions, and hardening, from the program headers and dynamic section.

use anyhow::{Context, Result};
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionTable};

use super::*;

pub(super) fn inspect_elf<Elf: FileHeader<Endian = object::Endianness>>(
    data: &[u8],
) -> Result<Report> {
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
        machine: u32::from(header.e_machine(endian).0)
            | if endian == object::Endianness::Big {
                super::BIG_ENDIAN
            } else {
                0
            },
        linking,
        interpreter,
        needed,
        rpath,
        glibc,
        hardening: Some(hardening),
    })
}

/// The newest `GLIBC_x.y[.z]` among the versions the binary asks for.
pub(super) fn highest_glibc<Elf: FileHeader<Endian = object::Endianness>>(
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
