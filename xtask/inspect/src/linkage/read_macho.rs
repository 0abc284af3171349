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
