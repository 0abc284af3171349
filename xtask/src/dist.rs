//! `cargo xtask dist`: build, package, checksum and verify release archives.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::config::DistConfig;
use crate::linkage::{self, LinkagePolicy};
use crate::manifest::{self, Manifest, ManifestArtifact, ManifestInstaller};
use crate::package::{self, ArchiveFile};
use crate::plan::{self, ArtifactPlan, Plan};
use crate::target::Os;
use crate::workspace::Package;
use crate::{atomic, checksum, compile, ctool, docs, installer, toolchain, verify, workspace};

pub(crate) struct Options {
    pub(crate) targets: Vec<String>,
    pub(crate) json: bool,
}

pub(crate) fn run(options: Options) -> Result<()> {
    let sh = Shell::new()?;
    let (ws, config) = plan::load(&sh)?;
    let app = ws.app(&config.app)?;
    let sde = source_date_epoch(&sh, &ws.root)?;
    let stamp = compile::Stamp {
        source_date_epoch: sde,
        commit: commit(&sh, &ws.root),
    };
    let mut plan = plan::make(&config, app, &ws.root, &options.targets, sde)
        .map_err(|e| plan::config_error(&ws, e))?;
    let explicit = !options.targets.is_empty();
    let skipped = plan::keep_buildable(&mut plan, explicit, Os::host(), toolchain::on_path)?;
    for (triple, why) in &skipped {
        eprintln!("==> skipping {triple}: {why}");
    }
    if plan.artifacts.is_empty() {
        bail!("none of the configured targets can be built on this machine; see the reasons above");
    }

    let dist_dir = ws.dist_dir();
    fs::create_dir_all(&dist_dir).with_context(|| format!("creating {}", dist_dir.display()))?;
    let _lock = lock(&dist_dir)?;
    remove_stale(&dist_dir, &plan, &installer::file_name(&app.name))?;

    // Cargo builds one target at a time (each already uses every core);
    // compression of one small file cannot, so archives are packed in parallel.
    let shared = Shared {
        sh: &sh,
        ws: &ws,
        app,
        plan: &plan,
        installed: toolchain::installed_targets(&sh)?,
        stamp,
    };
    let compilers = ctool::Choice::for_app(&ws, app, &config.c_compiler);
    let mut built = Vec::new();
    let mut host_build = None;
    for artifact in &plan.artifacts {
        let c = compilers
            .compiler(&artifact.target)
            .map_err(|e| plan::config_error(&ws, e))?;
        let mut one = build_artifact(&shared, artifact, c.as_ref())?;
        let docs = docs_for(&shared, &one, &mut host_build)?;
        one.files.extend(docs);
        built.push(one);
    }
    let artifacts = package_all(&built, plan.source_date_epoch, &dist_dir)?;
    let installers = vec![write_installer(&config, app, &dist_dir)?];

    let manifest = Manifest {
        app: plan.app.clone(),
        version: plan.version.clone(),
        source_date_epoch: sde,
        artifacts,
        installers,
    };
    write_sums_and_manifest(&dist_dir, &manifest)?;

    eprintln!("==> verifying {}", dist_dir.display());
    let expected = verify::Expected {
        smoke: plan::smoke(&config, app).map_err(|e| plan::config_error(&ws, e))?,
        installer: installer::for_config(&config, app)?,
        limits: Default::default(),
    };
    verify::verify_dist_dir(&dist_dir, &expected)?;

    if options.json {
        print!("{}", manifest.to_json());
    } else {
        print_table(&manifest, &dist_dir, &skipped);
    }
    Ok(())
}

/// `SHA256SUMS` and `dist-manifest.json` for everything in `manifest`.
pub(crate) fn write_sums_and_manifest(dist_dir: &Path, manifest: &Manifest) -> Result<()> {
    let sums: Vec<(String, String)> = manifest
        .artifacts
        .iter()
        .map(|a| (a.sha256.clone(), a.name.clone()))
        .chain(
            manifest
                .installers
                .iter()
                .map(|i| (i.sha256.clone(), i.name.clone())),
        )
        .collect();
    atomic::write(
        &dist_dir.join(checksum::SUMS_FILE),
        checksum::format_sums(&sums).as_bytes(),
    )?;
    atomic::write(
        &dist_dir.join(manifest::FILE_NAME),
        manifest.to_json().as_bytes(),
    )
}

/// A target's binaries and include files, ready to be packed.
pub(crate) struct Built<'p> {
    pub(crate) plan: &'p ArtifactPlan,
    pub(crate) files: Vec<ArchiveFile>,
    pub(crate) binaries: Vec<String>,
    pub(crate) linkage: String,
    /// Where cargo left the executables, to run them for `[dist.docs]`.
    pub(crate) executables: Vec<compile::BuiltBinary>,
}

/// The `[dist.docs]` files of one archive, from its own binary where this
/// machine can run it (natively or under qemu), else from a build for this
/// machine of the same sources and features, made once per run.
fn docs_for(
    shared: &Shared<'_>,
    built: &Built<'_>,
    host_build: &mut Option<Vec<compile::BuiltBinary>>,
) -> Result<Vec<ArchiveFile>> {
    let Shared {
        sh,
        ws,
        app,
        plan,
        stamp,
        ..
    } = shared;
    if plan.docs.is_empty() {
        return Ok(Vec::new());
    }
    let target = &built.plan.target;
    let (launch, exes) = match docs::launch_for(target) {
        Ok(launch) => (launch, built.executables.clone()),
        Err(why) => {
            eprintln!(
                "    note: {why}, so the [dist.docs] files of {} come from a build of the same sources for this machine",
                target.triple
            );
            if host_build.is_none() {
                *host_build = Some(compile::build_for_host(sh, ws, app, stamp, &plan.features)?);
            }
            (docs::Launch::Native, host_build.clone().unwrap_or_default())
        }
    };
    let dir = ws
        .target_dir
        .join("dist-build")
        .join("docs")
        .join(target.triple);
    let exe_of = |bin: &str| exes.iter().find(|b| b.name == bin).map(|b| b.path.clone());
    // The files depend on the binaries and the commands only: a no-op dist
    // reuses them instead of starting each binary (under qemu) again.
    let key = docs::inputs_key(&plan.docs, &exe_of, &launch, plan.source_date_epoch)?;
    if let Some(files) = docs::cached(&dir, &key, &plan.docs) {
        eprintln!("    [dist.docs] files: binary unchanged, reused");
        return Ok(files);
    }
    let how = match &launch {
        docs::Launch::Native => String::new(),
        docs::Launch::Qemu(qemu) => format!(" under {}", qemu.display()),
    };
    eprintln!(
        "    generating {} [dist.docs] file(s) with the built binary{how}",
        plan.docs.len()
    );
    let scratch = dir.join("run");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let files = docs::generate(
        &plan.docs,
        exe_of,
        &launch,
        &scratch,
        plan.source_date_epoch,
    )?;
    docs::store(&dir, &key, &files)?;
    Ok(files)
}

/// What every target's build shares.
struct Shared<'a> {
    sh: &'a Shell,
    ws: &'a workspace::Workspace,
    app: &'a Package,
    plan: &'a Plan,
    /// rustup's installed targets, asked once.
    installed: Vec<String>,
    stamp: compile::Stamp,
}

fn build_artifact<'p>(
    shared: &Shared<'_>,
    artifact: &'p ArtifactPlan,
    c_compiler: Option<&ctool::Compiler>,
) -> Result<Built<'p>> {
    let Shared {
        sh,
        ws,
        app,
        plan,
        installed: installed_targets,
        stamp,
    } = shared;
    let target = &artifact.target;
    let with_c = c_compiler
        .map(|c| format!(" (C compiler for build scripts: {})", c.describe()))
        .unwrap_or_default();
    eprintln!(
        "==> building {} {} for {}{with_c}",
        plan.app, plan.version, target.triple
    );
    toolchain::ensure_target(sh, target, installed_targets)?;
    let built = compile::build(sh, ws, app, target, stamp, c_compiler, &plan.features)?;
    let built_names: Vec<&str> = built.iter().map(|b| b.name.as_str()).collect();
    if let Some(missing) = artifact
        .bins
        .iter()
        .find(|b| !built_names.contains(&b.as_str()))
    {
        bail!(
            "cargo built {} for {} but not its binary `{missing}`",
            app.name,
            target.triple
        );
    }

    let policy = LinkagePolicy {
        target: Some(target.clone()),
    };
    let mut files = Vec::new();
    let mut binaries = Vec::new();
    let mut linkage = String::new();
    for bin in &built {
        let data = fs::read(&bin.path)
            .with_context(|| format!("reading the built binary {}", bin.path.display()))?;
        let report = linkage::inspect(&data)
            .with_context(|| format!("inspecting {}", bin.path.display()))?;
        let verdict = policy.judge(&report);
        if !verdict.passed() {
            eprint!(
                "{}",
                linkage::render(&bin.path.display().to_string(), &report, &verdict)
            );
            bail!(
                "{} for {} would not run everywhere (reasons above); refusing to package it",
                bin.name,
                target.triple
            );
        }
        linkage = report.linking.describe().to_owned();
        let exe = target.exe_name(&bin.name);
        binaries.push(format!("{}/{exe}", artifact.stem));
        files.push(ArchiveFile {
            path: exe,
            data,
            executable: true,
        });
    }
    for include in &artifact.includes {
        let data = fs::read(&include.source)
            .with_context(|| format!("reading include file {}", include.source.display()))?;
        files.push(ArchiveFile {
            path: include.path.clone(),
            data,
            executable: false,
        });
    }
    Ok(Built {
        plan: artifact,
        files,
        binaries,
        linkage,
        executables: built,
    })
}

/// Packs every archive, one thread per archive up to the number of cores.
pub(crate) fn package_all(
    built: &[Built<'_>],
    mtime: u64,
    dist_dir: &Path,
) -> Result<Vec<ManifestArtifact>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(built.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Result<ManifestArtifact>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = built.get(i) else { break done };
                        done.push((i, package_one(item, mtime, dist_dir)));
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

fn package_one(built: &Built<'_>, mtime: u64, dist_dir: &Path) -> Result<ManifestArtifact> {
    let artifact = built.plan;
    let name = artifact.file_name();
    let key = package::input_key(artifact.format, &artifact.stem, &built.files, mtime);
    let record = dist_dir.join(format!(".{name}.inputs"));
    let (bytes, sha256) = match reusable(&dist_dir.join(&name), &record, &key) {
        Some(reused) => {
            eprintln!("    {name}: inputs unchanged, archive reused");
            reused
        }
        None => {
            let raw: usize = built.files.iter().map(|f| f.data.len()).sum();
            eprintln!("    packaging {name} ({})", human_size(raw as u64));
            let bytes =
                package::write_archive(artifact.format, &artifact.stem, &built.files, mtime)
                    .with_context(|| format!("packaging {name}"))?;
            let sha256 = checksum::sha256_hex(&bytes);
            atomic::write(&dist_dir.join(&name), &bytes)?;
            // Written last: a run killed before this line compresses again next time.
            atomic::write(&record, format!("{key} {sha256}\n").as_bytes())?;
            eprintln!("    wrote {name} ({})", human_size(bytes.len() as u64));
            (bytes, sha256)
        }
    };
    checksum::write_sidecar(dist_dir, &name, &sha256)?;
    Ok(ManifestArtifact {
        name,
        target: artifact.target.triple.to_owned(),
        size: bytes.len() as u64,
        sha256,
        binaries: built.binaries.clone(),
        linkage: built.linkage.clone(),
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

/// Writes `<package>-installer.sh` for every configured Unix target (not only
/// the ones built here: the installer serves the whole release) and its sidecar.
fn write_installer(
    config: &DistConfig,
    app: &Package,
    dist_dir: &Path,
) -> Result<ManifestInstaller> {
    let (name, text) = installer::for_config(config, app)?;
    if plan::repository(config, app)?.is_none() {
        eprintln!(
            "    note: no repository in dist-workspace.toml or {}: the installer needs {}_DOWNLOAD_URL to find releases",
            app.manifest_path.display(),
            installer::env_prefix(&app.name)
        );
    }
    let sha256 = checksum::sha256_hex(text.as_bytes());
    atomic::write(&dist_dir.join(&name), text.as_bytes())?;
    checksum::write_sidecar(dist_dir, &name, &sha256)?;
    Ok(ManifestInstaller {
        name,
        size: text.len() as u64,
        sha256,
    })
}

/// Removes archives, checksums and half-written files that this run does not produce,
/// so an earlier version's artifacts never reach the new SHA256SUMS.
fn remove_stale(dist_dir: &Path, plan: &Plan, installer: &str) -> Result<()> {
    let keep: Vec<String> = plan
        .artifacts
        .iter()
        .map(|a| a.file_name())
        .chain([installer.to_owned()])
        .flat_map(|name| [format!("{name}.sha256"), format!(".{name}.inputs"), name])
        .collect();
    for entry in
        fs::read_dir(dist_dir).with_context(|| format!("listing {}", dist_dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = atomic::is_partial(&name)
            || package::ArchiveFormat::of_file(&name).is_some()
            || name.ends_with(".sha256")
            || (name.starts_with('.') && name.ends_with(".inputs"));
        if ours && !keep.contains(&name) && entry.file_type()?.is_file() {
            eprintln!("    removing stale {name}");
            fs::remove_file(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// The lock a `dist` run holds on its output directory.
pub(crate) const LOCK_FILE: &str = ".dist.lock";

/// Takes the output directory for this run: two `dist` runs at once would
/// remove and rewrite each other's files.
fn lock(dist_dir: &Path) -> Result<fs::File> {
    let path = dist_dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    if let Err(fs::TryLockError::WouldBlock) = file.try_lock() {
        eprintln!(
            "    waiting for another `cargo xtask dist` writing {}",
            dist_dir.display()
        );
        file.lock()
            .with_context(|| format!("waiting for {}", path.display()))?;
    }
    Ok(file)
}

/// The latest date every tar reads: the 11 octal digits of a tar header's
/// mtime (year 2242). Beyond it GNU tar refuses the archive.
const LAST_DATE: u64 = 0o77_777_777_777;

/// SOURCE_DATE_EPOCH from the environment, else the last commit's time.
pub(crate) fn source_date_epoch(sh: &Shell, root: &Path) -> Result<u64> {
    if let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") {
        let usage = |why: &str| crate::config::ConfigError {
            file: PathBuf::from("SOURCE_DATE_EPOCH"),
            line: None,
            message: format!(
                "`{value}` {why}; give seconds since 1970 from 0 to {LAST_DATE} (the year 2242)"
            ),
        };
        let seconds: u64 = value
            .trim()
            .parse()
            .map_err(|_| usage("is not a whole number of seconds"))?;
        if seconds > LAST_DATE {
            return Err(usage("is later than any tar can date a file").into());
        }
        return Ok(seconds);
    }
    let _dir = sh.push_dir(root);
    let out = cmd!(sh, "git log -1 --format=%ct")
        .quiet()
        .ignore_stderr()
        .ignore_status()
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            text.trim()
                .parse()
                .with_context(|| format!("`git log -1 --format=%ct` printed `{}`", text.trim()))
        }
        _ => {
            // Not a git checkout (e.g. a source tarball): a fixed date keeps builds reproducible.
            eprintln!("    note: no SOURCE_DATE_EPOCH and no git history; dating files 1980-01-01");
            Ok(315_532_800)
        }
    }
}

/// The commit being released: GIT_COMMIT from the environment (a source
/// tarball's builder knows it), else git's HEAD, else `unknown`.
pub(crate) fn commit(sh: &Shell, root: &Path) -> String {
    if let Ok(commit) = std::env::var("GIT_COMMIT")
        && !commit.trim().is_empty()
    {
        return commit.trim().to_owned();
    }
    let _dir = sh.push_dir(root);
    match cmd!(sh, "git rev-parse HEAD")
        .quiet()
        .ignore_stderr()
        .read()
    {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => "unknown".to_owned(),
    }
}

pub(crate) fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn print_table(manifest: &Manifest, dist_dir: &Path, skipped: &[(String, String)]) {
    let width = manifest
        .artifacts
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<width$}  {:>10}  {:<12}  linkage",
        "file", "size", "sha256"
    );
    for a in &manifest.artifacts {
        println!(
            "{:<width$}  {:>10}  {:<12}  {}",
            a.name,
            human_size(a.size),
            &a.sha256[..12],
            a.linkage
        );
    }
    for i in &manifest.installers {
        println!(
            "{:<width$}  {:>10}  {:<12}  installer",
            i.name,
            human_size(i.size),
            &i.sha256[..12]
        );
    }
    println!(
        "in {} (with {} and {})",
        dist_dir.display(),
        checksum::SUMS_FILE,
        manifest::FILE_NAME
    );
    for (triple, why) in skipped {
        println!("not built here: {triple}: {why}");
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
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 + 300_000), "5.3 MiB");
    }
}
