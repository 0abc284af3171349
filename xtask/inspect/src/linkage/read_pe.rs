//! PE (Windows) binaries: which DLLs they import, and which of those every
//! Windows installation has.

use anyhow::{Context, Result};

use super::*;

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
pub(super) fn is_windows_runtime_dll(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("api-ms-win-crt-")
        || n.starts_with("vcruntime")
        || n.starts_with("msvcp")
        || n.starts_with("libgcc_s")
        || n.starts_with("libwinpthread")
        || n.starts_with("libstdc++")
}

pub(super) fn is_windows_system_dll(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    WINDOWS_SYSTEM_DLLS.contains(&n.as_str())
        || n.starts_with("api-ms-win-core-")
        || n.starts_with("ext-ms-")
}

pub(super) fn inspect_pe<Pe: object::read::pe::ImageNtHeaders>(
    data: &[u8],
    bits: u8,
) -> Result<Report> {
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
