//! Mach-O (macOS) binaries: which dylibs they load.

use anyhow::{Context, Result};
use object::read::macho::LoadCommandVariant;

use super::*;

pub(super) fn is_macos_system_dylib(path: &str) -> bool {
    (path.starts_with("/usr/lib/") || path.starts_with("/System/Library/"))
        && !path.contains("/../")
}

pub(super) fn inspect_macho<Mach: object::read::macho::MachHeader<Endian = object::Endianness>>(
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

/// More slices than any universal binary has (Apple ships two).
const MAX_SLICES: usize = 8;

/// The slices of a universal (fat) Mach-O, each a whole Mach-O of one CPU;
/// `None` for any other file. Slices outside the file, overlapping or
/// themselves universal are errors.
pub fn fat_slices(data: &[u8]) -> Result<Option<Vec<&[u8]>>> {
    use object::read::macho::{FatArch, FatArch32, FatArch64, MachOFatFile};
    fn ranges<Fat: FatArch>(data: &[u8]) -> Result<Vec<(u64, u64)>> {
        let fat = MachOFatFile::<Fat>::parse(data).context("malformed universal header")?;
        Ok(fat.arches().iter().map(FatArch::file_range).collect())
    }
    let ranges = match FileKind::parse(data) {
        Ok(FileKind::MachOFat32) => ranges::<FatArch32>(data)?,
        Ok(FileKind::MachOFat64) => ranges::<FatArch64>(data)?,
        _ => return Ok(None),
    };
    if ranges.is_empty() || ranges.len() > MAX_SLICES {
        anyhow::bail!(
            "a universal Mach-O with {} slices (1 to {MAX_SLICES} expected)",
            ranges.len()
        );
    }
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0].0 + w[0].1 > w[1].0) {
        anyhow::bail!("a universal Mach-O whose slices overlap");
    }
    ranges
        .iter()
        .map(|&(offset, size)| {
            let slice = usize::try_from(offset)
                .ok()
                .zip(usize::try_from(offset.saturating_add(size)).ok())
                .and_then(|(start, end)| data.get(start..end))
                .context("a universal Mach-O slice lies outside the file")?;
            match FileKind::parse(slice) {
                Ok(FileKind::MachO64 | FileKind::MachO32) => Ok(slice),
                _ => anyhow::bail!("a universal Mach-O slice that is not a Mach-O binary"),
            }
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
