//! A universal (fat) macOS binary made from one Mach-O per CPU, as Apple's
//! `lipo -create` makes it, on any machine: a big-endian header, one
//! `fat_arch` record per slice, then each slice whole at an aligned offset.
//! Pure: bytes in, bytes out.

use anyhow::{Result, bail};
use object::FileKind;
use object::macho;
use object::read::macho::MachHeader;

/// One slice: its CPU as the fat header records it, and its bytes.
struct Slice<'a> {
    cputype: u32,
    cpusubtype: u32,
    data: &'a [u8],
}

/// The alignment (a power of two) a slice of `cputype` is placed at:
/// the page size of the CPU, as lipo does (16 KiB on Apple silicon).
fn align_of(cputype: u32) -> u32 {
    if cputype == macho::CPU_TYPE_ARM64.0 {
        14
    } else {
        12
    }
}

/// The CPU of a thin Mach-O, or why it is not one.
fn slice_of<'a>(name: &str, data: &'a [u8]) -> Result<Slice<'a>> {
    let (cputype, cpusubtype) = match FileKind::parse(data) {
        Ok(FileKind::MachO64) => {
            let h = macho::MachHeader64::<object::Endianness>::parse(data, 0)
                .map_err(|e| anyhow::anyhow!("{name}: malformed Mach-O header: {e}"))?;
            let endian = h.endian().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            (h.cputype(endian).0, h.cpusubtype(endian).0)
        }
        Ok(FileKind::MachOFat32 | FileKind::MachOFat64) => {
            bail!("{name} is universal already: give one Mach-O per CPU")
        }
        _ => bail!("{name} is not a 64-bit Mach-O binary (a macOS build of one CPU)"),
    };
    Ok(Slice {
        cputype,
        cpusubtype,
        data,
    })
}

/// The universal binary holding `slices` (name, bytes), one per CPU,
/// ordered by CPU type as lipo orders them (x86_64 before arm64).
pub(crate) fn fat_macho(slices: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    if slices.len() < 2 {
        bail!("a universal binary needs at least two slices (one Mach-O per CPU)");
    }
    let mut parsed = slices
        .iter()
        .map(|(name, data)| slice_of(name, data))
        .collect::<Result<Vec<_>>>()?;
    parsed.sort_by_key(|s| s.cputype);
    if let Some(w) = parsed.windows(2).find(|w| w[0].cputype == w[1].cputype) {
        bail!(
            "two slices for the same CPU (Mach-O cputype {:#x}): give one Mach-O per CPU",
            w[0].cputype
        );
    }
    let header_len = 8 + 20 * parsed.len();
    let mut records = Vec::with_capacity(header_len);
    records.extend_from_slice(&macho::FAT_MAGIC.to_be_bytes());
    records.extend_from_slice(&(parsed.len() as u32).to_be_bytes());
    let mut body: Vec<(usize, &[u8])> = Vec::new();
    let mut end = header_len;
    for slice in &parsed {
        let align = align_of(slice.cputype);
        let offset = end.next_multiple_of(1 << align);
        let size = u32::try_from(slice.data.len())
            .ok()
            .filter(|_| u32::try_from(offset + slice.data.len()).is_ok());
        let Some(size) = size else {
            bail!("the slices are too large for a 32-bit universal header (4 GiB)");
        };
        for word in [slice.cputype, slice.cpusubtype, offset as u32, size, align] {
            records.extend_from_slice(&word.to_be_bytes());
        }
        body.push((offset, slice.data));
        end = offset + slice.data.len();
    }
    let mut out = vec![0u8; end];
    out[..header_len].copy_from_slice(&records);
    for (offset, data) in body {
        out[offset..offset + data.len()].copy_from_slice(data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit Mach-O header of `cputype`, with a tail of `fill`.
    fn thin(cputype: u32, fill: u8) -> Vec<u8> {
        let mut data = Vec::new();
        for word in [
            macho::MH_MAGIC_64,
            cputype,
            3,
            macho::MH_EXECUTE.0,
            0,
            0,
            0,
            0,
        ] {
            data.extend_from_slice(&word.to_le_bytes());
        }
        data.extend(std::iter::repeat_n(fill, 100));
        data
    }

    #[test]
    fn slices_are_aligned_in_cpu_order_and_read_back_whole() {
        let arm = thin(macho::CPU_TYPE_ARM64.0, 0xaa);
        let x86 = thin(macho::CPU_TYPE_X86_64.0, 0x86);
        let fat = fat_macho(&[("arm".into(), arm.clone()), ("x86".into(), x86.clone())]).unwrap();
        assert_eq!(&fat[..4], &[0xca, 0xfe, 0xba, 0xbe]);
        assert_eq!(&fat[4..8], &2u32.to_be_bytes());
        // x86_64 first at 4 KiB, arm64 at the next 16 KiB boundary.
        let word = |i: usize| u32::from_be_bytes(fat[i..i + 4].try_into().unwrap());
        assert_eq!(
            (word(8), word(16), word(20), word(24)),
            (macho::CPU_TYPE_X86_64.0, 4096, x86.len() as u32, 12)
        );
        assert_eq!(
            (word(28), word(36), word(44)),
            (macho::CPU_TYPE_ARM64.0, 16384, 14)
        );
        let slices = xtask_inspect::linkage::fat_slices(&fat).unwrap().unwrap();
        assert_eq!(slices, [&x86[..], &arm[..]]);
    }

    #[test]
    fn anything_but_one_thin_mach_o_per_cpu_is_refused_by_name() {
        let arm = thin(macho::CPU_TYPE_ARM64.0, 1);
        let err = |slices: &[(String, Vec<u8>)]| fat_macho(slices).unwrap_err().to_string();
        assert!(err(&[("a".into(), arm.clone())]).contains("at least two slices"));
        assert!(
            err(&[("a".into(), arm.clone()), ("b".into(), arm.clone())])
                .contains("two slices for the same CPU")
        );
        assert_eq!(
            err(&[
                ("a".into(), arm.clone()),
                ("notes.txt".into(), b"hello".to_vec())
            ]),
            "notes.txt is not a 64-bit Mach-O binary (a macOS build of one CPU)"
        );
        let x86 = thin(macho::CPU_TYPE_X86_64.0, 2);
        let fat = fat_macho(&[("a".into(), arm.clone()), ("b".into(), x86)]).unwrap();
        assert!(
            err(&[("a".into(), arm), ("fat".into(), fat)]).contains("fat is universal already")
        );
    }
}
