//! One archive's binaries and files, built and checked: cargo for the
//! target, the linkage policy on every binary, which allocator libc's
//! malloc became in a musl one (from its link map), the include files, and
//! the `[dist.docs]` files made by running the binary (runs cargo and the
//! binary).

use std::collections::BTreeMap;
use std::fs;

use anyhow::{Context, Result, bail};
use xshell::Shell;
use xtask_inspect::linkage::{self, LinkagePolicy};
use xtask_inspect::target::Arch;

use crate::archive::checksum;
use crate::archive::manifest::{ManifestArtifact, Toolchain};
use crate::archive::package::ArchiveFile;
use crate::archive::release::{self, ArchiveInput, SbomInput};
use crate::build::{cargo, compile, ctool, docs, link, toolchain, universal};
use crate::model::plan::{ArtifactPlan, Plan};
use crate::model::workspace::{Package, Workspace};
use crate::project::Project;
use crate::run::launch::{self, Emulator, Launch, NotHere};

/// Builds every archive of `plan` into `dir`, dated and named by its
/// stamp, with cargo's output in `target_dir`: what `dist` publishes and
/// `reproduce` rebuilds (from scratch, in a target directory of its own).
pub(crate) fn build_archives(
    project: &Project,
    plan: &Plan,
    target_dir: &std::path::Path,
    dir: &std::path::Path,
) -> Result<Vec<ManifestArtifact>> {
    let Project { sh, config, .. } = project;
    let ws = &Workspace {
        target_dir: target_dir.to_owned(),
        ..project.ws.clone()
    };
    let app = project.app();
    let mut builder = Builder {
        sh,
        ws,
        app,
        plan,
        installed: toolchain::installed_targets(sh)?,
        rustc: toolchain::rustc_version(sh, &ws.root)?,
        host_build: None,
        c_versions: Default::default(),
    };
    let compilers = ctool::Choice::for_app(ws, app, &config.c_compiler);
    // Cargo builds one target at a time (each already uses every core);
    // compression of one small file cannot, so archives are packed in parallel.
    let mut inputs = Vec::new();
    for artifact in &plan.artifacts {
        let c = compilers
            .compiler(&artifact.target)
            .map_err(|e| project.config_error(e))?;
        compilers.prepare(c.as_ref(), &artifact.target)?;
        let built = match builder.build(artifact, c.as_ref()) {
            // Cargo keeps what it built: only the C crates and theirs are built again.
            Err(failure) if compilers.after_failure(c.as_ref(), &failure)? => {
                builder.build(artifact, c.as_ref())?
            }
            built => built?,
        };
        inputs.push(built.input);
    }
    release::pack_all(&inputs, plan.stamp.source_date_epoch, dir)
}

/// A target's build, ready to be packed.
pub(crate) struct Built {
    pub(crate) input: ArchiveInput,
    /// Where cargo left the executables, to run them for `[dist.docs]`.
    pub(crate) executables: Vec<compile::BuiltBinary>,
}

/// What every target's build shares.
pub(crate) struct Builder<'a> {
    pub(crate) sh: &'a Shell,
    pub(crate) ws: &'a Workspace,
    pub(crate) app: &'a Package,
    pub(crate) plan: &'a Plan,
    /// rustup's installed targets, asked once.
    pub(crate) installed: Vec<String>,
    /// `rustc -V`, recorded with every archive.
    pub(crate) rustc: String,
    /// A build of the app for this machine, made once when some target's
    /// binary cannot run here to make the `[dist.docs]` files.
    pub(crate) host_build: Option<Vec<compile::BuiltBinary>>,
    /// Each C compiler's description with its version, asked once per run.
    pub(crate) c_versions: BTreeMap<String, String>,
}

impl Builder<'_> {
    /// Builds `artifact`'s binaries, refuses any that would not run
    /// everywhere, and gathers its include and docs files.
    pub(crate) fn build(
        &mut self,
        artifact: &ArtifactPlan,
        c_compiler: Option<&ctool::Compiler>,
    ) -> Result<Built> {
        let (mut built, runs_docs) = if artifact.target.is_universal() {
            self.compile_universal(artifact, c_compiler)?
        } else {
            (self.compile(artifact, c_compiler)?, artifact.clone())
        };
        // A build that succeeded without the pinned zig compiled no C.
        built.input.toolchain.c_compiler = c_compiler.filter(|c| c.is_ready()).map(|c| {
            self.c_versions
                .entry(c.describe())
                .or_insert_with(|| c.describe_versioned())
                .clone()
        });
        let docs = self.docs_for(&runs_docs, &built.executables)?;
        built.input.files.extend(docs);
        Ok(built)
    }

    /// A universal target's build: each slice built and checked as its own
    /// CPU's target, then joined (`universal::join`). Its executables, and
    /// the plan returned, are the slice that makes the `[dist.docs]` files:
    /// the one this machine runs, else the first.
    fn compile_universal(
        &self,
        artifact: &ArtifactPlan,
        c_compiler: Option<&ctool::Compiler>,
    ) -> Result<(Built, ArtifactPlan)> {
        let universal = &artifact.target;
        let mut inputs = Vec::new();
        let mut runs_docs: Option<(ArtifactPlan, Vec<compile::BuiltBinary>)> = None;
        for target in universal.slice_targets() {
            let slice = ArtifactPlan {
                stem: artifact.stem.replace(universal.triple, target.triple),
                target,
                ..artifact.clone()
            };
            let built = self.compile(&slice, c_compiler)?;
            if runs_docs.is_none() || Arch::host() == Some(slice.target.arch) {
                runs_docs = Some((slice, built.executables));
            }
            inputs.push(built.input);
        }
        let cpus: Vec<&str> = universal.slices.iter().map(|a| a.name()).collect();
        let input = universal::join(universal.triple, &artifact.stem, inputs)?;
        eprintln!(
            "    joined the {} slices into universal binaries for {}",
            cpus.join(" and "),
            universal.triple
        );
        let (plan, executables) = runs_docs.expect("a universal target has slices");
        Ok((Built { input, executables }, plan))
    }

    fn compile(
        &self,
        artifact: &ArtifactPlan,
        c_compiler: Option<&ctool::Compiler>,
    ) -> Result<Built> {
        let Builder {
            sh,
            ws,
            app,
            plan,
            installed,
            ..
        } = self;
        let target = &artifact.target;
        let with_c = c_compiler
            .map(|c| format!(" (C compiler for build scripts: {})", c.describe()))
            .unwrap_or_default();
        eprintln!(
            "==> building {} {} for {}{with_c}",
            plan.app, plan.version, target.triple
        );
        toolchain::ensure_target(sh, target, installed)?;
        let compiled =
            compile::build(sh, ws, app, target, &plan.stamp, c_compiler, &plan.features)?;
        let built = compiled.binaries;
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
        // The SHA-256 of each musl binary linked through the xtask: its link map's name.
        let mut linked = Vec::new();
        let deps = compiled.crates.dep_list();
        for bin in &built {
            let data = fs::read(&bin.path)
                .with_context(|| format!("reading the built binary {}", bin.path.display()))?;
            // What scanners will read: the list we linked in, whole.
            let embedded = xtask_inspect::audit::read(&data).with_context(|| {
                format!("reading the dependency data of {}", bin.path.display())
            })?;
            if embedded.as_ref() != Some(&deps) {
                bail!(
                    "{} for {} does not carry the dependency list it was linked with (a linker or a post-link step of \
                     yours that drops the `.dep-v0` section?); run `cargo clean` and try again",
                    bin.name,
                    target.triple
                );
            }
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
            if target.is_musl() {
                let name = format!("{} for {}", bin.name, target.triple);
                match compiled.link_maps.as_deref() {
                    Some(maps) => {
                        let hash = checksum::sha256_hex(&data);
                        libc_allocator(maps, &hash, &name)?;
                        linked.push(hash);
                    }
                    None => eprintln!(
                        "    note: {name} is linked by a linker of your choice: which allocator libc's malloc became is not checked"
                    ),
                }
            }
            let exe = target.exe_name(&bin.name);
            binaries.push(format!("{}/{exe}", artifact.stem));
            files.push(ArchiveFile {
                path: exe,
                data,
                executable: true,
            });
        }
        if let Some(maps) = compiled.link_maps.as_deref() {
            link::keep_only(maps, &linked)?;
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
            input: ArchiveInput {
                triple: target.triple.to_owned(),
                format: artifact.format,
                stem: artifact.stem.clone(),
                files,
                binaries,
                linkage,
                toolchain: Toolchain {
                    rustc: self.rustc.clone(),
                    c_compiler: None,
                },
                sbom: Some(SbomInput {
                    crates: compiled.crates,
                    repository: self.plan.repository.clone(),
                }),
                packages: artifact.packages.clone(),
            },
            executables: built,
        })
    }

    /// The `[dist.docs]` files of one archive, from its own binary where this
    /// machine can run it (natively or under qemu), else from a build for this
    /// machine of the same sources and features, made once per run.
    fn docs_for(
        &mut self,
        artifact: &ArtifactPlan,
        executables: &[compile::BuiltBinary],
    ) -> Result<Vec<ArchiveFile>> {
        let plan = self.plan;
        if plan.docs.is_empty() {
            return Ok(Vec::new());
        }
        let target = &artifact.target;
        // Wine runs programs in verify's sandbox only (`Emulator::Any` never gives it).
        let outside =
            launch::launch(target.os, Some(target.arch), Emulator::Any).and_then(|l| match l {
                Launch::Wine(_) => Err(NotHere::Elsewhere(target.os)),
                Launch::Native | Launch::Qemu(_) => Ok(l),
            });
        let (launch, exes) = match outside {
            Ok(launch) => (launch, executables.to_vec()),
            Err(why) => {
                eprintln!(
                    "    note: {why}, so the [dist.docs] files of {} come from a build of the same sources for this machine",
                    target.triple
                );
                if self.host_build.is_none() {
                    self.host_build = Some(compile::build_for_host(
                        self.sh,
                        self.ws,
                        self.app,
                        &self.plan.stamp,
                        &plan.features,
                    )?);
                }
                (Launch::Native, self.host_build.clone().unwrap_or_default())
            }
        };
        let dir = cargo::build_dir(self.ws).join("docs").join(target.triple);
        let exe_of = |bin: &str| exes.iter().find(|b| b.name == bin).map(|b| b.path.clone());
        // The files depend on the binaries and the commands only: a no-op dist
        // reuses them instead of starting each binary (under qemu) again.
        let key = docs::inputs_key(&plan.docs, &exe_of, &launch, plan.stamp.source_date_epoch)?;
        if let Some(files) = docs::cached(&dir, &key, &plan.docs) {
            eprintln!("    [dist.docs] files: binary unchanged, reused");
            return Ok(files);
        }
        let how = match &launch {
            Launch::Native | Launch::Wine(_) => String::new(),
            Launch::Qemu(qemu) => format!(" under {}", qemu.display()),
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
            plan.stamp.source_date_epoch,
        )?;
        docs::store(&dir, &key, &files)?;
        Ok(files)
    }
}

/// Says which allocator libc's own `malloc` became in a musl binary, from
/// its link map; refuses a binary whose allocation functions come from two
/// allocators.
fn libc_allocator(maps: &std::path::Path, hash: &str, name: &str) -> Result<()> {
    let Some(map) = link::map_of(maps, hash)? else {
        eprintln!(
            "    note: {name} was linked before its link map was kept (`cargo clean` links it again): which allocator libc's malloc became is not checked"
        );
        return Ok(());
    };
    let judgement = map.judge();
    let line = judgement
        .describe(name)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("    {line}");
    for line in judgement.internal_lines() {
        eprintln!("      {line}");
    }
    Ok(())
}
