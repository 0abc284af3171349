//! The release directory: archives packed from their inputs (in parallel,
//! reused when unchanged), and `SHA256SUMS` and `dist-manifest.json`, both
//! derived from one [`Release`] value.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::unpack::{self, MemberKind};

use crate::archive::atomic;
use crate::archive::checksum;
use crate::archive::index;
use crate::archive::manifest::{self, Listed, Manifest, ManifestArtifact, Toolchain};
use crate::archive::package::{self, ArchiveFile};
use crate::archive::sbom;
use crate::archive::{deb, rpm, syspkg};
use crate::model::config::PackageFormat;
use crate::model::deps::Crates;
use crate::model::package::{self as package_model, PackagesPlan};

/// One archive to pack: its files, and what the release says about them.
#[derive(Debug, Clone)]
pub(crate) struct ArchiveInput {
    pub(crate) triple: String,
    pub(crate) format: ArchiveFormat,
    /// `<package>-<version>-<target>`: the file name without extension and
    /// the archive's top directory.
    pub(crate) stem: String,
    pub(crate) files: Vec<ArchiveFile>,
    /// Paths of the executables inside the archive (`stem/exe`).
    pub(crate) binaries: Vec<String>,
    /// The linkage verdict given when the binaries were built.
    pub(crate) linkage: String,
    pub(crate) toolchain: Toolchain,
    /// What its SBOM is made of; `None` when the input was read back from
    /// an archive (`bench`).
    pub(crate) sbom: Option<SbomInput>,
    /// The .deb and .rpm made of it.
    pub(crate) packages: Option<PackagesPlan>,
}

/// The crates an archive's binaries were built from, and the repository
/// that names the workspace's own crates in package URLs.
#[derive(Debug, Clone)]
pub(crate) struct SbomInput {
    pub(crate) crates: Crates,
    pub(crate) repository: Option<String>,
}

impl ArchiveInput {
    pub(crate) fn file_name(&self) -> String {
        format!("{}{}", self.stem, self.format.extension())
    }

    /// The input a released archive was packed from, read back out of its
    /// bytes: its regular files under the top directory, with their
    /// executable bits. No SBOM: its crates are not in the archive.
    pub(crate) fn read_back(artifact: &ManifestArtifact, bytes: &[u8]) -> Result<ArchiveInput> {
        let name = &artifact.name;
        let format = ArchiveFormat::of_file(name)
            .with_context(|| format!("{name} is not an archive this tool reads"))?;
        let stem = name.strip_suffix(format.extension()).unwrap_or(name);
        let members = unpack::read(format, bytes, Default::default())
            .with_context(|| format!("reading {name}"))?
            .members;
        let top = format!("{stem}/");
        let files = members
            .into_iter()
            .filter(|m| m.kind == MemberKind::File)
            .filter_map(|m| {
                Some(ArchiveFile {
                    path: m.path.strip_prefix(&top)?.to_owned(),
                    executable: m.mode & 0o111 != 0,
                    data: m.data,
                })
            })
            .collect();
        Ok(ArchiveInput {
            triple: artifact.target.clone(),
            format,
            stem: stem.to_owned(),
            files,
            binaries: artifact.binaries.clone(),
            linkage: artifact.linkage.clone(),
            toolchain: artifact.toolchain.clone(),
            sbom: None,
            packages: None,
        })
    }
}

/// What a release directory publishes, each file with its SHA-256. The
/// manifest is its serialised form; `SHA256SUMS` lists the same files.
pub(crate) type Release = Manifest;

/// `SHA256SUMS` and `dist-manifest.json` for everything in `release`.
pub(crate) fn write_index(dir: &Path, release: &Release) -> Result<()> {
    write_index_with(dir, release, &[])
}

/// `write_index`, with `SHA256SUMS` also listing `beside` (`(sha256,
/// name)`): files of the release that the manifest does not describe.
pub(crate) fn write_index_with(
    dir: &Path,
    release: &Release,
    beside: &[(String, String)],
) -> Result<()> {
    let mut sums = index::sums(release);
    sums.extend(beside.iter().cloned());
    atomic::write(
        &dir.join(checksum::SUMS_FILE),
        checksum::format_sums(&sums).as_bytes(),
    )?;
    atomic::write(&dir.join(manifest::FILE_NAME), release.to_json().as_bytes())
}

/// Packs every archive into `dir`, one thread per archive up to the number
/// of cores: cargo already uses every core, compressing one file cannot.
pub(crate) fn pack_all(
    inputs: &[ArchiveInput],
    mtime: u64,
    dir: &Path,
) -> Result<Vec<ManifestArtifact>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(inputs.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Result<ManifestArtifact>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else {
                            break done;
                        };
                        done.push((i, pack_one(input, mtime, dir)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("packaging thread panicked"))
            .collect()
    });
    let mut ordered: Vec<(usize, Result<ManifestArtifact>)> =
        results.into_iter().flatten().collect();
    ordered.sort_by_key(|(i, _)| *i);
    ordered.into_iter().map(|(_, r)| r).collect()
}

fn pack_one(input: &ArchiveInput, mtime: u64, dir: &Path) -> Result<ManifestArtifact> {
    let name = input.file_name();
    let key = package::input_key(input.format, &input.stem, &input.files, mtime);
    let record = dir.join(format!(".{name}.inputs"));
    let (bytes, sha256) = match reusable(&dir.join(&name), &record, &key) {
        Some(reused) => {
            eprintln!("    {name}: inputs unchanged, archive reused");
            reused
        }
        None => {
            let raw: usize = input.files.iter().map(|f| f.data.len()).sum();
            eprintln!("    packaging {name} ({})", human_size(raw as u64));
            let bytes = package::write_archive(input.format, &input.stem, &input.files, mtime)
                .with_context(|| format!("packaging {name}"))?;
            let sha256 = checksum::sha256_hex(&bytes);
            atomic::write(&dir.join(&name), &bytes)?;
            // Written last: a run killed before this line compresses again next time.
            atomic::write(&record, format!("{key} {sha256}\n").as_bytes())?;
            eprintln!("    wrote {name} ({})", human_size(bytes.len() as u64));
            (bytes, sha256)
        }
    };
    checksum::write_sidecar(dir, &name, &sha256)?;
    let sbom = match &input.sbom {
        None => None,
        Some(s) => {
            let subject = sbom::Subject {
                archive: &name,
                sha256: &sha256,
                triple: &input.triple,
                source_date_epoch: mtime,
            };
            let text = sbom::document(&subject, &s.crates, s.repository.as_deref());
            let file = sbom::file_name(&name);
            let sha256 = checksum::sha256_hex(text.as_bytes());
            atomic::write(&dir.join(&file), text.as_bytes())?;
            checksum::write_sidecar(dir, &file, &sha256)?;
            Some(Listed {
                name: file,
                size: text.len() as u64,
                sha256,
            })
        }
    };
    let packages = match &input.packages {
        None => Vec::new(),
        Some(plan) => write_packages(input, plan, &key, dir)?,
    };
    Ok(ManifestArtifact {
        name,
        target: input.triple.clone(),
        size: bytes.len() as u64,
        sha256,
        binaries: input.binaries.clone(),
        linkage: input.linkage.clone(),
        toolchain: input.toolchain.clone(),
        sbom,
        packages,
    })
}

/// The archive's .deb and .rpm, from its very files, each with its sidecar;
/// reused like the archive when nothing they are made of changed.
fn write_packages(
    input: &ArchiveInput,
    plan: &PackagesPlan,
    archive_key: &str,
    dir: &Path,
) -> Result<Vec<Listed>> {
    let target = xtask_inspect::target::Target::parse(&input.triple)?;
    let bins = syspkg::bin_names(&input.binaries, &input.stem);
    let mut listed = Vec::new();
    let mut payload = None;
    for format in &plan.formats {
        let Some(arch) = package_model::arch(*format, &target) else {
            continue;
        };
        let name = package_model::file_name(*format, &plan.meta, arch);
        let key = checksum::sha256_hex(
            format!(
                "xtask-package {} {archive_key} {arch} {:?}",
                writers_digest(),
                plan.meta
            )
            .as_bytes(),
        );
        let record = dir.join(format!(".{name}.inputs"));
        let (size, sha256) = match reusable(&dir.join(&name), &record, &key) {
            Some((bytes, sha256)) => (bytes.len(), sha256),
            None => {
                if payload.is_none() {
                    payload = Some(
                        syspkg::payload(&input.files, &bins, &plan.meta.name)
                            .with_context(|| format!("packaging {name}"))?,
                    );
                }
                let files = payload.as_deref().unwrap_or_default();
                let bytes = match format {
                    PackageFormat::Deb => deb::write(&plan.meta, arch, files),
                    PackageFormat::Rpm => rpm::write(&plan.meta, arch, files),
                }
                .with_context(|| format!("packaging {name}"))?;
                let sha256 = checksum::sha256_hex(&bytes);
                atomic::write(&dir.join(&name), &bytes)?;
                atomic::write(&record, format!("{key} {sha256}\n").as_bytes())?;
                eprintln!("    wrote {name} ({})", human_size(bytes.len() as u64));
                (bytes.len(), sha256)
            }
        };
        checksum::write_sidecar(dir, &name, &sha256)?;
        listed.push(Listed {
            name,
            size: size as u64,
            sha256,
        });
    }
    Ok(listed)
}

/// A digest of the code that writes packages, so a package an older xtask
/// made is never reused when the writers changed.
fn writers_digest() -> &'static str {
    static DIGEST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIGEST.get_or_init(|| {
        let sources = [
            include_str!("deb.rs"),
            include_str!("rpm.rs"),
            include_str!("cpio.rs"),
            include_str!("syspkg.rs"),
            include_str!("../model/package.rs"),
            include_str!("../model/install.rs"),
        ];
        checksum::sha256_hex(sources.concat().as_bytes())
    })
}

/// The archive and its SHA-256, if `record` says it was made from inputs
/// with this `key` and the archive on disk is still the one it made.
fn reusable(archive: &Path, record: &Path, key: &str) -> Option<(Vec<u8>, String)> {
    let text = fs::read_to_string(record).ok()?;
    let (recorded_key, recorded_sha) = text.trim().split_once(' ')?;
    if recorded_key != key {
        return None;
    }
    let bytes = fs::read(archive).ok()?;
    let sha256 = checksum::sha256_hex(&bytes);
    (sha256 == recorded_sha).then_some((bytes, sha256))
}

/// Removes archives, checksums and half-written files not named in `keep`
/// (the file names this run produces), so an earlier version's artifacts
/// never reach the new SHA256SUMS.
pub(crate) fn remove_stale(dir: &Path, keep: &[String]) -> Result<()> {
    let keep: Vec<String> = keep
        .iter()
        .flat_map(|name| {
            let files = index::files_of_archive(name);
            files.into_iter().chain([format!(".{name}.inputs")])
        })
        .collect();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = atomic::is_partial(&name)
            || ArchiveFormat::of_file(&name).is_some()
            || name.ends_with(".sha256")
            || name.ends_with(sbom::SUFFIX)
            || name.ends_with(".deb")
            || name.ends_with(".rpm")
            || (name.starts_with('.') && name.ends_with(".inputs"));
        if ours && !keep.contains(&name) && entry.file_type()?.is_file() {
            eprintln!("    removing stale {name}");
            fs::remove_file(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Files `dist` keeps in its output directory that are not published.
pub(crate) fn is_bookkeeping(name: &str) -> bool {
    name == ".cargo-lock"
        || name == LOCK_FILE
        || (name.starts_with('.') && name.ends_with(".inputs"))
}

/// The lock a `dist` run holds on its output directory.
const LOCK_FILE: &str = ".dist.lock";

/// Takes the output directory for this run: two `dist` runs at once would
/// remove and rewrite each other's files.
pub(crate) fn lock(dir: &Path) -> Result<fs::File> {
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    if let Err(fs::TryLockError::WouldBlock) = file.try_lock() {
        eprintln!(
            "    waiting for another `cargo xtask dist` writing {}",
            dir.display()
        );
        file.lock()
            .with_context(|| format!("waiting for {}", path.display()))?;
    }
    Ok(file)
}

pub(crate) fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_waits_for_the_first_to_finish_with_the_output_directory() {
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let first = lock(&dir).unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let second = std::thread::spawn({
            let (dir, done) = (dir.clone(), done.clone());
            move || {
                let _held = lock(&dir).unwrap();
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        // However slow the machine, the second cannot get the lock while the first holds it.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!done.load(std::sync::atomic::Ordering::SeqCst));
        drop(first);
        second.join().unwrap();
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_archive_read_back_is_the_input_it_was_packed_from() {
        let files = vec![
            ArchiveFile {
                path: "tool".into(),
                data: b"\x7fELF".to_vec(),
                executable: true,
            },
            ArchiveFile {
                path: "doc/README.md".into(),
                data: b"read me".to_vec(),
                executable: false,
            },
        ];
        let stem = "tool-1.0.0-x86_64-unknown-linux-musl";
        for format in xtask_inspect::format::ALL_FORMATS {
            let bytes = package::write_archive(format, stem, &files, 7).unwrap();
            let artifact = ManifestArtifact {
                name: format!("{stem}{}", format.extension()),
                target: "x86_64-unknown-linux-musl".into(),
                size: bytes.len() as u64,
                sha256: checksum::sha256_hex(&bytes),
                binaries: vec![format!("{stem}/tool")],
                linkage: "static".into(),
                toolchain: Default::default(),
                sbom: None,
                packages: vec![],
            };
            let input = ArchiveInput::read_back(&artifact, &bytes).unwrap();
            assert_eq!((input.stem.as_str(), input.format), (stem, format));
            let mut got: Vec<(String, Vec<u8>, bool)> = input
                .files
                .into_iter()
                .map(|f| (f.path, f.data, f.executable))
                .collect();
            got.sort();
            let mut want: Vec<(String, Vec<u8>, bool)> = files
                .iter()
                .map(|f| (f.path.clone(), f.data.clone(), f.executable))
                .collect();
            want.sort();
            assert_eq!(got, want, "{format:?}");
            // Packed again with the release's date, it is the same archive.
            let again = package::write_archive(format, stem, &input_files(&got), 7).unwrap();
            assert_eq!(again, bytes, "{format:?}");
        }
        let mut not_archive = ManifestArtifact {
            name: "tool.exe".into(),
            target: "x86_64-pc-windows-gnu".into(),
            size: 0,
            sha256: String::new(),
            binaries: vec![],
            linkage: String::new(),
            toolchain: Default::default(),
            sbom: None,
            packages: vec![],
        };
        let err = ArchiveInput::read_back(&not_archive, b"").unwrap_err();
        assert!(
            err.to_string().contains("tool.exe is not an archive"),
            "{err}"
        );
        not_archive.name = format!("{stem}.tar.xz");
        assert!(ArchiveInput::read_back(&not_archive, b"garbage").is_err());
    }

    fn input_files(files: &[(String, Vec<u8>, bool)]) -> Vec<ArchiveFile> {
        files
            .iter()
            .map(|(path, data, executable)| ArchiveFile {
                path: path.clone(),
                data: data.clone(),
                executable: *executable,
            })
            .collect()
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 + 300_000), "5.3 MiB");
    }
}
