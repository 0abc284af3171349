//! The dependency data every release binary carries (cargo-auditable's
//! `.dep-v0` section): the crates of one target's build, from `cargo
//! metadata`, written as an object file the linker adds to each binary, as
//! `cargo auditable` does — without a rustc wrapper or another tool to
//! install. The list is kept per target, keyed by what it is made of, so a
//! no-op `dist` does not ask cargo again (runs cargo metadata).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use object::write::{Object, StandardSegment, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use xshell::Shell;
use xtask_inspect::audit::{SECTION, SYMBOL};
use xtask_inspect::target::{Arch, Os, Target};

use crate::archive::atomic;
use crate::build::cargo;
use crate::model::deps::{self, Crate, Crates};
use crate::model::workspace::{Package, Workspace};

/// Bumped when what is derived from the same inputs changes.
const CACHE_FORMAT: &str = "deps-1";

/// One target's dependency data, ready to link.
pub(crate) struct Prepared {
    pub(crate) crates: Crates,
    /// The object file holding the section.
    pub(crate) object: PathBuf,
    /// The section's SHA-256: a binary linked with other data must be linked again.
    pub(crate) digest: String,
}

/// The crates `app` is built from for `target` with `features` (cargo
/// arguments), and the object file that carries them into its binaries.
pub(crate) fn prepare(
    sh: &Shell,
    ws: &Workspace,
    app: &Package,
    target: &Target,
    features: &[String],
) -> Result<Prepared> {
    let dir = cargo::build_dir(ws).join("audit");
    let cache = dir.join(format!("{}.json", target.triple));
    let crates = match cached(&cache, ws, target, features) {
        Some(crates) => crates,
        None => {
            let json = crate::project::workspace::resolve(sh, ws, app, target.triple, features)
                .map_err(|e| match format!("{e:#}").contains(cargo::LOCKED_REFUSAL) {
                    true => anyhow::anyhow!(cargo::STALE_LOCK),
                    false => e,
                })?;
            let crates = deps::from_metadata(&json, &app.name).with_context(|| {
                format!(
                    "reading the dependencies of {} for {}",
                    app.name, target.triple
                )
            })?;
            let manifests = local_manifests(&crates, ws);
            let key = cache_key(ws, &manifests, target, features);
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            atomic::write(&cache, to_cache(&key, &manifests, &crates).as_bytes())?;
            crates
        }
    };
    let section = crates.dep_list().to_section();
    let bytes = object_file(target, &section)?;
    let object = dir.join(format!("{}.o", target.triple));
    if fs::read(&object).ok().as_deref() != Some(&bytes[..]) {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        atomic::write(&object, &bytes)?;
    }
    Ok(Prepared {
        crates,
        object,
        digest: crate::archive::checksum::sha256_hex(&section),
    })
}

/// The rustc flags that link `object` into every binary of `target` and
/// keep its symbol, as cargo-auditable passes them. ELF needs no symbol
/// kept: the section is not loaded, and linkers collect only loaded ones.
pub(crate) fn link_args(target: &Target, object: &Path) -> Vec<String> {
    let mut args = vec!["-C".to_owned(), format!("link-arg={}", object.display())];
    let keep = match (target.os, target.triple.ends_with("-msvc")) {
        (Os::Linux, _) => None,
        (Os::Windows, true) if target.arch == Arch::I686 => Some(format!("/INCLUDE:_{SYMBOL}")),
        (Os::Windows, true) => Some(format!("/INCLUDE:{SYMBOL}")),
        (Os::Windows, false) => Some(format!("-Wl,-u,{SYMBOL}")),
        (Os::Macos, _) => Some(format!("-Wl,-u,_{SYMBOL}")),
    };
    if let Some(keep) = keep {
        args.extend(["-C".to_owned(), format!("link-arg={keep}")]);
    }
    args
}

/// A relocatable object for `target` whose `.dep-v0` section holds
/// `section`, with a symbol at its start (from rustc's metadata objects, by
/// way of cargo-auditable).
pub(crate) fn object_file(target: &Target, section: &[u8]) -> Result<Vec<u8>> {
    let format = match target.os {
        Os::Linux => BinaryFormat::Elf,
        Os::Windows => BinaryFormat::Coff,
        Os::Macos => BinaryFormat::MachO,
    };
    let architecture = match target.arch {
        Arch::X86_64 => Architecture::X86_64,
        Arch::Aarch64 => Architecture::Aarch64,
        Arch::I686 => Architecture::I386,
        Arch::Armv7 => Architecture::Arm,
        Arch::Riscv64 => Architecture::Riscv64,
        Arch::Powerpc64le => Architecture::PowerPc64,
    };
    let mut file = Object::new(format, architecture, Endianness::Little);
    if format == BinaryFormat::Elf {
        // The linker refuses to mix objects of other float ABIs.
        let e_flags = match target.arch {
            // EABI version 5, hard float (armv7-unknown-linux-musleabihf).
            Arch::Armv7 => 0x0500_0400,
            // Compressed instructions, double-precision float ABI (riscv64gc).
            Arch::Riscv64 => 0x0005,
            // ELFv2, the ABI of little-endian 64-bit PowerPC.
            Arch::Powerpc64le => 0x0002,
            Arch::X86_64 | Arch::Aarch64 | Arch::I686 => 0,
        };
        file.flags = object::FileFlags::Elf {
            os_abi: object::elf::ELFOSABI_NONE,
            abi_version: 0,
            e_flags: object::elf::FileFlags(e_flags),
        };
    }
    if format == BinaryFormat::Coff {
        // lld links x86 objects with /SAFESEH only when every one says it is safe.
        let mangling = file.mangling();
        file.set_mangling(object::write::Mangling::None);
        file.add_symbol(Symbol {
            name: b"@feat.00".to_vec(),
            value: u64::from(target.arch == Arch::I686),
            size: 0,
            kind: SymbolKind::Data,
            scope: SymbolScope::Compilation,
            weak: false,
            section: SymbolSection::Absolute,
            flags: SymbolFlags::None,
        });
        file.set_mangling(mangling);
    }
    let id = file.add_section(
        file.segment_name(StandardSegment::Data).to_vec(),
        SECTION.as_bytes().to_vec(),
        SectionKind::ReadOnlyData,
    );
    if format == BinaryFormat::Elf {
        // Not loaded into memory: it costs the running program nothing.
        file.section_mut(id).flags = SectionFlags::Elf {
            sh_type: object::elf::SHT_PROGBITS,
            sh_flags: object::elf::SectionFlags(0),
        };
    }
    let offset = file.append_section_data(id, section, 1);
    file.add_symbol(Symbol {
        name: SYMBOL.as_bytes().to_vec(),
        value: offset,
        size: section.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(id),
        flags: SymbolFlags::None,
    });
    file.write().map_err(|e| {
        anyhow::anyhow!(
            "writing the dependency data object for {}: {e}",
            target.triple
        )
    })
}

/// The workspace's own packages and the path dependencies among `crates`:
/// the manifests whose change may change the graph without Cargo.lock.
fn local_manifests(crates: &Crates, ws: &Workspace) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = ws
        .packages
        .iter()
        .map(|p| p.manifest_path.clone())
        .chain(crates.list.iter().filter_map(|c| c.manifest_path.clone()))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn cache_key(
    ws: &Workspace,
    manifests: &[PathBuf],
    target: &Target,
    features: &[String],
) -> String {
    let mut h = Sha256::new();
    for part in [CACHE_FORMAT, target.triple, &features.join("\u{1f}")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for path in std::iter::once(ws.root.join("Cargo.lock")).chain(manifests.iter().cloned()) {
        h.update(path.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(fs::read(&path).unwrap_or_default());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The cached crates, if they were derived from what is on disk now.
fn cached(cache: &Path, ws: &Workspace, target: &Target, features: &[String]) -> Option<Crates> {
    let v: Value = serde_json::from_slice(&fs::read(cache).ok()?).ok()?;
    let manifests: Vec<PathBuf> = v["manifests"]
        .as_array()?
        .iter()
        .map(|m| m.as_str().map(PathBuf::from))
        .collect::<Option<_>>()?;
    if v["key"].as_str()? != cache_key(ws, &manifests, target, features) {
        return None;
    }
    let list = v["crates"]
        .as_array()?
        .iter()
        .map(|c| {
            Some(Crate {
                name: c["name"].as_str()?.to_owned(),
                version: c["version"].as_str()?.to_owned(),
                source: c["source"].as_str().map(str::to_owned),
                build_only: c["build_only"].as_bool()?,
                dependencies: c["dependencies"]
                    .as_array()?
                    .iter()
                    .map(|d| d.as_u64().map(|d| d as usize))
                    .collect::<Option<_>>()?,
                root: c["root"].as_bool()?,
                license: c["license"].as_str().map(str::to_owned),
                manifest_path: c["manifest_path"].as_str().map(PathBuf::from),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Crates { list })
}

fn to_cache(key: &str, manifests: &[PathBuf], crates: &Crates) -> String {
    let list: Vec<Value> = crates
        .list
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "version": c.version, "source": c.source,
                "build_only": c.build_only, "dependencies": c.dependencies,
                "root": c.root, "license": c.license, "manifest_path": c.manifest_path,
            })
        })
        .collect();
    json!({ "key": key, "manifests": manifests, "crates": list }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xtask_inspect::audit::{DepList, Package as AuditPackage};

    fn list() -> DepList {
        DepList {
            packages: vec![AuditPackage {
                name: "app".into(),
                version: "1.0.0".into(),
                source: "local".into(),
                build_only: false,
                dependencies: vec![],
                root: true,
            }],
        }
    }

    #[test]
    fn every_format_s_object_holds_the_section_a_reader_finds() {
        for triple in [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "i686-unknown-linux-musl",
            "armv7-unknown-linux-musleabihf",
            "riscv64gc-unknown-linux-musl",
            "x86_64-pc-windows-msvc",
            "x86_64-pc-windows-gnu",
            "aarch64-apple-darwin",
            "x86_64-apple-darwin",
        ] {
            let target = Target::parse(triple).unwrap();
            let bytes = object_file(&target, &list().to_section()).unwrap();
            // The same reader verify uses on binaries reads the object back.
            assert_eq!(
                xtask_inspect::audit::read(&bytes).unwrap(),
                Some(list()),
                "{triple}"
            );
            let file = object::File::parse(&bytes[..]).unwrap();
            use object::{Object, ObjectSymbol};
            let symbols: Vec<String> = file
                .symbols()
                .filter_map(|s| s.name().ok().map(str::to_owned))
                .collect();
            let expected = if target.os == Os::Macos {
                format!("_{SYMBOL}")
            } else {
                SYMBOL.to_owned()
            };
            assert!(symbols.contains(&expected), "{triple}: {symbols:?}");
        }
    }

    #[test]
    fn link_arguments_keep_the_symbol_where_the_linker_would_drop_it() {
        let args = |triple: &str| link_args(&Target::parse(triple).unwrap(), Path::new("/t/a.o"));
        assert_eq!(args("x86_64-unknown-linux-musl"), ["-C", "link-arg=/t/a.o"]);
        assert_eq!(
            args("x86_64-pc-windows-msvc")[3],
            "link-arg=/INCLUDE:AUDITABLE_VERSION_INFO"
        );
        assert_eq!(
            args("x86_64-pc-windows-gnu")[3],
            "link-arg=-Wl,-u,AUDITABLE_VERSION_INFO"
        );
        assert_eq!(
            args("aarch64-apple-darwin")[3],
            "link-arg=-Wl,-u,_AUDITABLE_VERSION_INFO"
        );
    }

    #[test]
    fn the_cache_holds_while_cargo_lock_and_the_manifests_do() {
        let root = std::env::temp_dir().join(format!("xtask-audit-cache-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("app")).unwrap();
        fs::write(root.join("Cargo.lock"), "lock 1").unwrap();
        fs::write(root.join("app/Cargo.toml"), "manifest 1").unwrap();
        let ws = Workspace {
            root: root.clone(),
            target_dir: root.join("target"),
            packages: vec![Package {
                manifest_path: root.join("app/Cargo.toml"),
                ..Package::sample()
            }],
        };
        let target = Target::parse("x86_64-unknown-linux-musl").unwrap();
        let crates = Crates {
            list: vec![Crate {
                name: "app".into(),
                version: "1.0.0".into(),
                source: None,
                build_only: false,
                dependencies: vec![],
                root: true,
                license: Some("MIT".into()),
                manifest_path: Some(root.join("app/Cargo.toml")),
            }],
        };
        let features = vec!["--features".to_owned(), "x".to_owned()];
        let cache = root.join("cache.json");
        let manifests = local_manifests(&crates, &ws);
        let key = cache_key(&ws, &manifests, &target, &features);
        fs::write(&cache, to_cache(&key, &manifests, &crates)).unwrap();
        assert_eq!(cached(&cache, &ws, &target, &features), Some(crates));
        // Other features, another target: not this list.
        assert_eq!(cached(&cache, &ws, &target, &[]), None);
        let arm = Target::parse("aarch64-unknown-linux-musl").unwrap();
        assert_eq!(cached(&cache, &ws, &arm, &features), None);
        fs::write(root.join("app/Cargo.toml"), "manifest 2").unwrap();
        assert_eq!(cached(&cache, &ws, &target, &features), None);
        fs::write(root.join("app/Cargo.toml"), "manifest 1").unwrap();
        fs::write(root.join("Cargo.lock"), "lock 2").unwrap();
        assert_eq!(cached(&cache, &ws, &target, &features), None);
        fs::remove_dir_all(&root).unwrap();
    }
}
