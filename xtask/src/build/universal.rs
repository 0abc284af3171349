//! A universal (fat) macOS binary made from one Mach-O per CPU, as Apple's
//! `lipo -create` makes it, on any machine: a big-endian header, one
//! `fat_arch` record per slice, then each slice whole at an aligned offset.
//! A universal target's archive input joined from its slices' builds. Pure:
//! bytes in, bytes out.

use anyhow::{Result, bail};
use object::FileKind;
use object::macho;
use object::read::macho::MachHeader;

use crate::archive::package::ArchiveFile;
use crate::archive::release::{ArchiveInput, SbomInput};
use crate::model::deps::Crates;

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

/// The archive input of universal target `triple` named `stem`, from one
/// input per slice (each built for its own CPU): every binary a universal
/// Mach-O of its slices; every other file (includes, `[dist.docs]`) the
/// same in all slices, taken once; the SBOM's crates those of every slice
/// (`Crates::union`), as verify reads the binary's (`DepList::union`).
pub(crate) fn join(triple: &str, stem: &str, slices: Vec<ArchiveInput>) -> Result<ArchiveInput> {
    let Some(first) = slices.first() else {
        bail!("{triple} has no slices to join");
    };
    let exe_path = |input: &ArchiveInput, path: &str| {
        input.binaries.contains(&format!("{}/{path}", input.stem))
    };
    fn paths(input: &ArchiveInput) -> Vec<&str> {
        let mut p: Vec<&str> = input.files.iter().map(|f| f.path.as_str()).collect();
        p.sort_unstable();
        p
    }
    for other in &slices[1..] {
        if paths(first) != paths(other) {
            bail!(
                "the {} and {} builds of {triple} hold different files: a universal binary needs the same binaries, includes and [dist.docs] files from each CPU's build",
                first.triple,
                other.triple
            );
        }
    }
    let mut files = Vec::new();
    for file in &first.files {
        let each: Vec<(&ArchiveInput, &ArchiveFile)> = slices
            .iter()
            .filter_map(|s| Some((s, s.files.iter().find(|f| f.path == file.path)?)))
            .collect();
        if exe_path(first, &file.path) {
            let named: Vec<(String, Vec<u8>)> = each
                .iter()
                .map(|(s, f)| (format!("{} for {}", f.path, s.triple), f.data.clone()))
                .collect();
            files.push(ArchiveFile {
                path: file.path.clone(),
                data: fat_macho(&named)?,
                executable: true,
            });
        } else if let Some((other, _)) = each.iter().find(|(_, f)| f.data != file.data) {
            bail!(
                "{} differs between the {} and {} builds of {triple}: a universal archive holds it once; make it the same on every CPU",
                file.path,
                first.triple,
                other.triple
            );
        } else {
            files.push(file.clone());
        }
    }
    let binaries = first
        .binaries
        .iter()
        .map(|b| {
            let exe = b.strip_prefix(&format!("{}/", first.stem)).unwrap_or(b);
            format!("{stem}/{exe}")
        })
        .collect();
    // Each slice carries its own CPU's crates; the SBOM lists them all.
    let crates: Vec<&Crates> = slices
        .iter()
        .filter_map(|s| s.sbom.as_ref().map(|s| &s.crates))
        .collect();
    let union = (crates.len() == slices.len()).then(|| Crates::union(&crates));
    let ArchiveInput {
        format,
        linkage,
        toolchain,
        sbom,
        packages,
        ..
    } = slices.into_iter().next().expect("checked above");
    let sbom = sbom
        .zip(union)
        .map(|(sbom, crates)| SbomInput { crates, ..sbom });
    Ok(ArchiveInput {
        triple: triple.to_owned(),
        format,
        stem: stem.to_owned(),
        files,
        binaries,
        linkage: format!("{linkage} (each slice)"),
        toolchain,
        sbom,
        packages,
    })
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

    /// One CPU's build of `toolbox` with a README, as `compile` gives it.
    fn slice_input(triple: &str, cputype: u32, crates: &[&str]) -> ArchiveInput {
        use crate::archive::manifest::Toolchain;
        use crate::model::deps::Crate;
        let stem = format!("toolbox-1.0.0-{triple}");
        let file = |path: &str, data: Vec<u8>, executable| ArchiveFile {
            path: path.into(),
            data,
            executable,
        };
        let list = crates
            .iter()
            .map(|name| Crate {
                name: (*name).into(),
                version: "1.0.0".into(),
                source: None,
                build_only: false,
                dependencies: Vec::new(),
                root: *name == "toolbox",
                license: None,
                manifest_path: None,
            })
            .collect();
        ArchiveInput {
            triple: triple.into(),
            format: xtask_inspect::format::ArchiveFormat::TarXz,
            files: vec![
                file("toolbox", thin(cputype, 7), true),
                file("README.md", b"hello".to_vec(), false),
            ],
            binaries: vec![format!("{stem}/toolbox")],
            stem,
            linkage: "system libraries only".into(),
            toolchain: Toolchain {
                rustc: "rustc 1.95.0".into(),
                c_compiler: None,
            },
            sbom: Some(SbomInput {
                crates: Crates { list },
                repository: None,
            }),
            packages: None,
        }
    }

    /// The x86_64 and arm64 builds of the same sources.
    fn both_macs() -> (ArchiveInput, ArchiveInput) {
        let x86 = slice_input(
            "x86_64-apple-darwin",
            macho::CPU_TYPE_X86_64.0,
            &["toolbox"],
        );
        let arm = slice_input(
            "aarch64-apple-darwin",
            macho::CPU_TYPE_ARM64.0,
            &["toolbox"],
        );
        (x86, arm)
    }

    #[test]
    fn a_universal_archive_holds_each_binary_fat_and_every_other_file_once() {
        let (x86, arm) = both_macs();
        let stem = "toolbox-1.0.0-universal2-apple-darwin";
        let joined = join(
            "universal2-apple-darwin",
            stem,
            vec![x86.clone(), arm.clone()],
        )
        .unwrap();
        assert_eq!(joined.triple, "universal2-apple-darwin");
        assert_eq!(joined.binaries, [format!("{stem}/toolbox")]);
        let paths: Vec<&str> = joined.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["toolbox", "README.md"]);
        let slices = xtask_inspect::linkage::fat_slices(&joined.files[0].data)
            .unwrap()
            .unwrap();
        assert_eq!(slices, [&x86.files[0].data[..], &arm.files[0].data[..]]);
        assert!(joined.files[0].executable);
        assert_eq!(joined.files[1].data, b"hello");
        assert_eq!(joined.sbom.unwrap().crates, x86.sbom.unwrap().crates);
    }

    #[test]
    fn slices_whose_other_files_differ_are_refused_by_name() {
        let (x86, arm) = both_macs();
        let err = |a: &ArchiveInput, b: &ArchiveInput| {
            join("universal2-apple-darwin", "u", vec![a.clone(), b.clone()])
                .unwrap_err()
                .to_string()
        };
        let mut other_readme = arm.clone();
        other_readme.files[1].data = b"bonjour".to_vec();
        assert!(
            err(&x86, &other_readme).starts_with(
                "README.md differs between the x86_64-apple-darwin and aarch64-apple-darwin builds"
            ),
            "{}",
            err(&x86, &other_readme)
        );
        let mut more_files = arm.clone();
        more_files.files.push(more_files.files[1].clone());
        more_files.files[2].path = "extra.txt".into();
        assert!(err(&x86, &more_files).contains("hold different files"));
    }

    #[test]
    fn a_crate_only_one_cpu_uses_is_in_the_universal_archive_s_sbom() {
        let (x86, _) = both_macs();
        let arm = slice_input(
            "aarch64-apple-darwin",
            macho::CPU_TYPE_ARM64.0,
            &["toolbox", "only-arm"],
        );
        let joined = join("universal2-apple-darwin", "u", vec![x86, arm]).unwrap();
        let crates = joined.sbom.unwrap().crates;
        let names: Vec<&str> = crates.list.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["only-arm", "toolbox"]);
        assert_eq!(crates.list.iter().filter(|c| c.root).count(), 1);
    }

    #[test]
    fn verify_reads_a_universal_binary_s_crates_as_the_union_its_sbom_lists() {
        // Each slice carries its own CPU's list, linked in as dist links it.
        let (x86, _) = both_macs();
        let arm = slice_input(
            "aarch64-apple-darwin",
            macho::CPU_TYPE_ARM64.0,
            &["toolbox", "only-arm"],
        );
        let slice = |input: &ArchiveInput| {
            let target = xtask_inspect::target::Target::parse(&input.triple).unwrap();
            let crates = &input.sbom.as_ref().unwrap().crates;
            let section = crates.dep_list().to_section();
            let object = crate::build::audit::object_file(&target, &section).unwrap();
            (input.triple.clone(), object)
        };
        let fat = fat_macho(&[slice(&x86), slice(&arm)]).unwrap();
        let carried = xtask_inspect::audit::read(&fat).unwrap().unwrap();
        let joined = join("universal2-apple-darwin", "u", vec![x86, arm]).unwrap();
        let listed = joined.sbom.unwrap().crates.dep_list();
        let names = |l: &xtask_inspect::audit::DepList| {
            let mut n: Vec<String> = l.packages.iter().map(|p| p.name.clone()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&carried), ["only-arm", "toolbox"]);
        assert_eq!(names(&carried), names(&listed));
        // One slice with data and one without is not a binary dist made.
        let bare = fat_macho(&[
            slice(&slice_input(
                "x86_64-apple-darwin",
                macho::CPU_TYPE_X86_64.0,
                &["toolbox"],
            )),
            ("arm".into(), thin(macho::CPU_TYPE_ARM64.0, 1)),
        ])
        .unwrap();
        let err = xtask_inspect::audit::read(&bare).unwrap_err().to_string();
        assert!(err.contains("some slices"), "{err}");
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
