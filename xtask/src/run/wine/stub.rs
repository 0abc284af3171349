//! A DLL that holds nothing but forwarders (`ProcessPrng` →
//! `advapi32.SystemFunction036`), written byte by byte as the PE format
//! lays one out: no code, no C toolchain to build it. Pure.

/// Where the one section goes in the file and in memory.
const FILE_ALIGN: usize = 0x200;
const SECTION_RVA: u32 = 0x1000;

/// The PE32+ (x86_64) DLL `name` whose exports are `(export, "dll.function")`
/// forwarders, which the loader follows to the named DLL.
pub(crate) fn forwarding_dll(name: &str, exports: &[(&str, &str)]) -> Vec<u8> {
    let mut sorted: Vec<&(&str, &str)> = exports.iter().collect();
    // The loader finds names by binary search.
    sorted.sort_by_key(|(export, _)| *export);
    let n = sorted.len() as u32;
    // The export section: directory, address table, name pointers,
    // ordinals, then the strings.
    let functions = 40u32;
    let names = functions + 4 * n;
    let ordinals = names + 4 * n;
    let mut strings = Vec::new();
    let strings_at = ordinals + 2 * n;
    let mut string = |s: &str| {
        let rva = SECTION_RVA + strings_at + strings.len() as u32;
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        rva
    };
    let name_rva = string(name);
    let mut name_rvas = Vec::new();
    let mut forward_rvas = Vec::new();
    for (export, target) in &sorted {
        name_rvas.push(string(export));
        forward_rvas.push(string(target));
    }
    let mut edata = Vec::new();
    for word in [0, 0, 0, name_rva, 1, n, n] {
        edata.extend_from_slice(&word.to_le_bytes());
    }
    for offset in [functions, names, ordinals] {
        edata.extend_from_slice(&(SECTION_RVA + offset).to_le_bytes());
    }
    // Each address inside the export section: a forwarder, not code.
    for rva in forward_rvas.iter().chain(&name_rvas) {
        edata.extend_from_slice(&rva.to_le_bytes());
    }
    for i in 0..n as u16 {
        edata.extend_from_slice(&i.to_le_bytes());
    }
    edata.extend_from_slice(&strings);
    let edata_len = edata.len() as u32;
    let raw_len = edata.len().next_multiple_of(FILE_ALIGN);
    let image_len = SECTION_RVA + (edata.len() as u32).next_multiple_of(0x1000);

    let mut pe = vec![0u8; 0x40];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    pe.extend_from_slice(b"PE\0\0");
    // COFF header: x86_64, one section, a 240-byte optional header, an
    // executable image that is a DLL and handles addresses above 2 GiB.
    put16(&mut pe, 0x8664);
    put16(&mut pe, 1);
    pe.extend_from_slice(&[0; 12]);
    put16(&mut pe, 0xf0);
    put16(&mut pe, 0x2022);
    // Optional header (PE32+).
    put16(&mut pe, 0x20b);
    pe.extend_from_slice(&[0, 0]);
    for word in [0, FILE_ALIGN as u32, 0, 0, SECTION_RVA] {
        put32(&mut pe, word);
    }
    pe.extend_from_slice(&0x1_8000_0000u64.to_le_bytes());
    put32(&mut pe, 0x1000);
    put32(&mut pe, FILE_ALIGN as u32);
    for version in [6, 0, 0, 0, 6, 0] {
        put16(&mut pe, version);
    }
    for word in [0, image_len, FILE_ALIGN as u32, 0] {
        put32(&mut pe, word);
    }
    put16(&mut pe, 3); // console subsystem
    put16(&mut pe, 0x0100); // NX compatible
    for size in [0x10_0000u64, 0x1000, 0x10_0000, 0x1000] {
        pe.extend_from_slice(&size.to_le_bytes());
    }
    put32(&mut pe, 0);
    put32(&mut pe, 16);
    put32(&mut pe, SECTION_RVA);
    put32(&mut pe, edata_len);
    pe.extend_from_slice(&[0; 15 * 8]);
    // The section: initialised, read-only data.
    pe.extend_from_slice(b".edata\0\0");
    for word in [
        edata_len,
        SECTION_RVA,
        raw_len as u32,
        FILE_ALIGN as u32,
        0,
        0,
    ] {
        put32(&mut pe, word);
    }
    put32(&mut pe, 0);
    put32(&mut pe, 0x4000_0040);
    pe.resize(FILE_ALIGN, 0);
    pe.extend_from_slice(&edata);
    pe.resize(FILE_ALIGN + raw_len, 0);
    pe
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::read::pe::{ExportTarget, PeFile64};

    #[test]
    fn an_independent_reader_sees_a_dll_of_forwarders_only() {
        let dll = forwarding_dll(
            "bcryptprimitives.dll",
            &[
                ("ProcessPrng", "advapi32.SystemFunction036"),
                ("A", "kernel32.B"),
            ],
        );
        let pe = PeFile64::parse(&*dll).expect("a PE32+ file");
        let header = &pe.nt_headers().file_header;
        assert_eq!(header.machine.get(object::LittleEndian).0, 0x8664);
        assert_ne!(
            header.characteristics.get(object::LittleEndian).0 & object::pe::IMAGE_FILE_DLL.0,
            0
        );
        let table = pe.export_table().unwrap().expect("an export table");
        let name = table.directory().name.get(object::LittleEndian);
        assert_eq!(
            table.name_from_pointer(name).unwrap(),
            b"bcryptprimitives.dll"
        );
        let mut found: Vec<(String, String)> = table
            .exports()
            .unwrap()
            .into_iter()
            .map(|e| {
                let name = String::from_utf8_lossy(e.name.unwrap()).into_owned();
                let ExportTarget::ForwardByName(dll, function) = e.target else {
                    panic!("{name} is not a forwarder: {:?}", e.target);
                };
                let target = format!(
                    "{}.{}",
                    String::from_utf8_lossy(dll),
                    String::from_utf8_lossy(function)
                );
                (name, target)
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("A".to_owned(), "kernel32.B".to_owned()),
                (
                    "ProcessPrng".to_owned(),
                    "advapi32.SystemFunction036".to_owned()
                )
            ]
        );
        assert_eq!(dll.len() % FILE_ALIGN, 0);
    }
}
