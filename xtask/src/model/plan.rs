//! Config + workspace → what a release is: the archives to make, the smoke
//! runs, the build matrix, the release tag. Pure: no cargo, no files; the
//! include files come in resolved (`project::includes`).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde_json::{Value, json};
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::suggest::did_you_mean;
use xtask_inspect::target::{Os, Target};

use crate::model::config::{DistConfig, Features, targets};
use crate::model::github;
use crate::model::package::{self, PackagesPlan};
use crate::model::smoke::{self, SmokeRun};
use crate::model::workspace::Package;

/// The build matrix for GitHub Actions: one job per target, on its runner.
pub(crate) fn matrix(plan: &Plan) -> Value {
    let include: Vec<Value> = plan
        .artifacts
        .iter()
        .map(|a| json!({ "target": a.target.triple, "runner": a.runner, "archive": a.file_name() }))
        .collect();
    json!({ "include": include })
}

/// Everything `dist` will produce, and all a build of it needs to know:
/// what `dist`, `reproduce` and `bench` hand the build and the checks.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) app: String,
    pub(crate) version: String,
    /// The date and commit every build embeds.
    pub(crate) stamp: Stamp,
    /// Where releases are published: it names the workspace's own crates in SBOMs.
    pub(crate) repository: Option<String>,
    /// The commands run on every released binary before it ships.
    pub(crate) smoke: Vec<SmokeRun>,
    pub(crate) artifacts: Vec<ArtifactPlan>,
    /// `cargo build` arguments choosing the configured features.
    pub(crate) features: Vec<String>,
    /// Files made by running the built binary, the same list for every archive.
    pub(crate) docs: Vec<DocFile>,
}

/// What a build may embed about itself: both fixed per commit, never the
/// clock, so rebuilding a commit gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) source_date_epoch: u64,
    /// The commit id, or `unknown` outside a git checkout.
    pub(crate) commit: String,
}

impl Stamp {
    /// For a plan that builds nothing (`cargo xtask plan`'s matrix), and tests.
    pub(crate) fn none() -> Stamp {
        Stamp {
            source_date_epoch: 0,
            commit: "unknown".into(),
        }
    }
}

/// One archive: which target, what goes in, what it is called.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactPlan {
    pub(crate) target: Target,
    pub(crate) format: ArchiveFormat,
    /// `<package>-<version>-<target>`, ripgrep's and cargo-dist's naming;
    /// also the archive's top directory.
    pub(crate) stem: String,
    pub(crate) bins: Vec<String>,
    pub(crate) includes: Vec<IncludeFile>,
    /// The .deb and .rpm made of the archive (Linux targets).
    pub(crate) packages: Option<PackagesPlan>,
    /// The GitHub runner that builds it.
    pub(crate) runner: String,
}

impl ArtifactPlan {
    pub(crate) fn file_name(&self) -> String {
        format!("{}{}", self.stem, self.format.extension())
    }

    /// The file names of its packages.
    pub(crate) fn package_names(&self) -> Vec<String> {
        let Some(packages) = &self.packages else {
            return Vec::new();
        };
        packages
            .formats
            .iter()
            .filter_map(|f| {
                Some(package::file_name(
                    *f,
                    &packages.meta,
                    package::arch(*f, &self.target)?,
                ))
            })
            .collect()
    }
}

/// A file of the workspace shipped in every archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncludeFile {
    pub(crate) source: PathBuf,
    /// Below the archive's top directory, `/`-separated.
    pub(crate) path: String,
}

/// A file made by running binary `bin` with `args`; its standard output is
/// stored at `path` below the archive's top directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocFile {
    pub(crate) path: String,
    pub(crate) bin: String,
    pub(crate) args: Vec<String>,
}

/// The archive format of `target`'s release under `config`.
pub(crate) fn archive_format(config: &DistConfig, target: &Target) -> ArchiveFormat {
    if target.os == Os::Windows {
        config.windows_archive
    } else {
        config.unix_archive
    }
}

/// The archive name stem of `package` at `version` for `triple`.
pub(crate) fn stem(package: &str, version: &str, triple: &str) -> String {
    format!("{package}-{version}-{triple}")
}

/// Decides the artifacts. `selected` (from `--target`) narrows the configured targets.
/// `includes` are the resolved include files (`project::includes`); `root`,
/// the workspace root, only shortens their paths in messages.
pub(crate) fn make(
    config: &DistConfig,
    app: &Package,
    includes: Vec<IncludeFile>,
    root: &Path,
    selected: &[String],
    stamp: Stamp,
) -> Result<Plan> {
    let targets = select_targets(config, selected)?;
    check_features(&config.features, app)?;
    let docs = docs(config, app)?;
    let smoke = smoke::configured(config, app)?;
    let packages = package::plan(config, app, stamp.source_date_epoch)?;
    for target in &targets {
        check_archive_paths(target, app, root, &includes, &docs)?;
    }
    let artifacts = targets
        .into_iter()
        .map(|target| ArtifactPlan {
            stem: stem(&app.name, &app.version, target.triple),
            format: archive_format(config, &target),
            bins: app.bins.clone(),
            includes: includes.clone(),
            packages: packages.clone().filter(|_| target.os == Os::Linux),
            runner: github::runner(config, &target).to_owned(),
            target,
        })
        .collect();
    Ok(Plan {
        app: app.name.clone(),
        version: app.version.clone(),
        stamp,
        repository: github::repository(config, app)?,
        smoke,
        artifacts,
        features: config.features.cargo_args(),
        docs,
    })
}

/// Every named feature must be one of the app's; `dep/feature` is left to cargo.
fn check_features(features: &Features, app: &Package) -> Result<()> {
    for name in features.features.iter().filter(|f| !f.contains('/')) {
        if !app.features.iter().any(|f| f == name) {
            let known = if app.features.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has {}", app.features.join(", "))
            };
            bail!(
                "`[dist].features`: `{name}` is not a feature of {}{} ({known}); see [features] in {}",
                app.name,
                did_you_mean(name, app.features.iter().map(String::as_str)),
                app.manifest_path.display()
            );
        }
    }
    Ok(())
}

fn docs(config: &DistConfig, app: &Package) -> Result<Vec<DocFile>> {
    config
        .docs
        .iter()
        .map(|d| {
            Ok(DocFile {
                path: d.path.clone(),
                bin: app.binary(d.bin.as_deref(), "docs")?.to_owned(),
                args: d.args.clone(),
            })
        })
        .collect()
}

/// Binaries, include files and docs must not claim one archive path, nor
/// use a file's path as another's directory.
fn check_archive_paths(
    target: &Target,
    app: &Package,
    root: &Path,
    includes: &[IncludeFile],
    docs: &[DocFile],
) -> Result<()> {
    let mut claimed: Vec<(String, String)> = Vec::new();
    let bins = app
        .bins
        .iter()
        .map(|b| (target.exe_name(b), format!("binary `{b}`")));
    let includes = includes.iter().map(|i| {
        let from = i.source.strip_prefix(root).unwrap_or(&i.source);
        (i.path.clone(), format!("include `{}`", from.display()))
    });
    let docs = docs
        .iter()
        .map(|d| (d.path.clone(), format!("[dist.docs] `{}`", d.path)));
    for (path, what) in bins.chain(includes).chain(docs) {
        for (other, other_what) in &claimed {
            let nested =
                |a: &str, b: &str| b.strip_prefix(a).is_some_and(|rest| rest.starts_with('/'));
            if *other == path || nested(other, &path) || nested(&path, other) {
                bail!(
                    "{what} and {other_what} both want `{path}` in the {} archive; move one with `to`",
                    target.triple
                );
            }
        }
        claimed.push((path, what));
    }
    Ok(())
}

/// The configured targets, or those named with `--target` (each must be configured).
pub(crate) fn select_targets(config: &DistConfig, selected: &[String]) -> Result<Vec<Target>> {
    if selected.is_empty() {
        return Ok(config.targets.clone());
    }
    let mut chosen: Vec<Target> = Vec::new();
    for triple in selected {
        let target = targets::parse(triple)?;
        if !config.targets.contains(&target) {
            let configured: Vec<&str> = config.targets.iter().map(|t| t.triple).collect();
            bail!(
                "--target {triple} is not in [dist].targets of dist-workspace.toml (configured: {}); add it there first",
                configured.join(", ")
            );
        }
        if !chosen.contains(&target) {
            chosen.push(target);
        }
    }
    Ok(chosen)
}

/// The MinGW C compiler cargo links windows-gnu binaries with.
pub(crate) const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// Can the target be built on this machine?
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Buildable {
    Yes,
    /// Needs another OS: the release workflow builds it.
    Elsewhere(String),
    /// Could be built here once a tool is installed.
    MissingTool(String),
}

/// Whether a `host` machine can build `target`, and if not, who does: the
/// one place that decides it (dist, setup and bench all ask here).
/// `has_tool` answers whether a program is on PATH.
pub(crate) fn buildable(
    target: &Target,
    host: Option<Os>,
    has_tool: impl Fn(&str) -> bool,
) -> Buildable {
    let elsewhere = |why: String| Buildable::Elsewhere(why);
    match (target.os, host) {
        (Os::Linux, Some(Os::Linux)) => Buildable::Yes,
        (Os::Windows, Some(Os::Windows)) | (Os::Macos, Some(Os::Macos)) => Buildable::Yes,
        (Os::Windows, Some(Os::Linux)) if target.triple.ends_with("-gnu") => {
            if has_tool(MINGW_GCC) {
                Buildable::Yes
            } else {
                Buildable::MissingTool(format!(
                    "needs the MinGW linker `{MINGW_GCC}` (apt-get install gcc-mingw-w64-x86-64)"
                ))
            }
        }
        (os, _) => elsewhere(format!(
            "built by the release workflow on a {} runner",
            github::runner_family(os)
        )),
    }
}

/// Drops the targets this machine cannot build and returns them with the
/// reason. A target named with `--target` (`explicit`) is an error instead.
pub(crate) fn keep_buildable(
    plan: &mut Plan,
    explicit: bool,
    host: Option<Os>,
    has_tool: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>> {
    let mut skipped = Vec::new();
    let mut kept = Vec::new();
    for artifact in plan.artifacts.drain(..) {
        let triple = artifact.target.triple;
        match buildable(&artifact.target, host, &has_tool) {
            Buildable::Yes => kept.push(artifact),
            Buildable::Elsewhere(why) | Buildable::MissingTool(why) if explicit => {
                bail!("--target {triple} cannot be built on this machine: {why}")
            }
            Buildable::Elsewhere(why) | Buildable::MissingTool(why) => {
                skipped.push((triple.to_owned(), why))
            }
        }
    }
    plan.artifacts = kept;
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config;

    /// The plan of a `toolbox` app configured with `config_text`, with no include files.
    fn plan_of(config_text: &str, selected: &[&str]) -> Result<Plan> {
        let config = config::parse(
            &format!("[dist]\napp = \"toolbox\"\n{config_text}"),
            Path::new("x"),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let selected: Vec<String> = selected.iter().map(|s| s.to_string()).collect();
        make(
            &config,
            &Package::sample(),
            Vec::new(),
            Path::new("/w"),
            &selected,
            Stamp::none(),
        )
    }

    #[test]
    fn archives_are_named_after_the_package_and_hold_its_binaries() {
        let plan = plan_of("", &[]).unwrap();
        assert_eq!(
            plan.artifacts[0].file_name(),
            "toolbox-1.2.3-x86_64-unknown-linux-musl.tar.xz"
        );
        assert_eq!(
            plan.artifacts[0].stem,
            "toolbox-1.2.3-x86_64-unknown-linux-musl"
        );
        assert_eq!(plan.artifacts[0].bins, ["tb"]);
        let windows = plan_of("", &["x86_64-pc-windows-msvc"]).unwrap();
        assert_eq!(
            windows.artifacts[0].file_name(),
            "toolbox-1.2.3-x86_64-pc-windows-msvc.zip"
        );
    }

    #[test]
    fn features_must_be_the_app_s() {
        let plan = plan_of(
            "features = [\"fancy\", \"serde/std\"]\ndefault-features = false\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            plan.features,
            ["--no-default-features", "--features", "fancy,serde/std"]
        );
        let err = plan_of("features = [\"fansy\"]\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "`fansy` is not a feature of toolbox; did you mean `fancy`? (it has fancy)"
            ),
            "{err}"
        );
        assert_eq!(
            plan_of("all-features = true\n", &[]).unwrap().features,
            ["--all-features"]
        );
    }

    #[test]
    fn docs_and_smoke_name_binaries_of_the_app_and_default_to_the_main_one() {
        let plan = plan_of(
            "[dist.docs]\n\"doc/tb.1\" = [\"--generate\", \"man\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            plan.docs,
            [DocFile {
                path: "doc/tb.1".into(),
                bin: "tb".into(),
                args: vec!["--generate".into(), "man".into()]
            }]
        );
        let err = plan_of(
            "[dist.docs]\n\"doc/x.1\" = { bin = \"tv\", args = [] }\n",
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("`bin = \"tv\"` is not a binary of toolbox; did you mean `tb`?"),
            "{err}"
        );
        let err = plan_of("smoke = [{ bin = \"nope\", args = [] }]\n", &[]).unwrap_err();
        assert!(
            err.to_string().contains("`[dist].smoke`: `bin = \"nope\"`"),
            "{err}"
        );
    }

    #[test]
    fn other_os_targets_are_skipped_or_refused() {
        let mut plan = plan_of("", &[]).unwrap();
        let skipped = keep_buildable(&mut plan, false, Some(Os::Linux), |_| true).unwrap();
        let kept: Vec<&str> = plan.artifacts.iter().map(|a| a.target.triple).collect();
        assert_eq!(
            kept,
            ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]
        );
        assert_eq!(skipped.len(), 3);
        assert!(
            skipped
                .iter()
                .any(|(t, why)| t == "x86_64-pc-windows-msvc" && why.contains("windows runner"))
        );
        let mut plan = plan_of("", &["aarch64-apple-darwin"]).unwrap();
        let err = keep_buildable(&mut plan, true, Some(Os::Linux), |_| true).unwrap_err();
        assert!(err.to_string().contains("macos runner"), "{err}");
        let err = plan_of("", &["x86_64-unknown-linux-gnu"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("release `x86_64-unknown-linux-musl` instead"),
            "{err}"
        );
    }

    #[test]
    fn matrix_has_one_job_per_target_on_its_runner() {
        let plan = plan_of("", &[]).unwrap();
        let matrix = matrix(&plan);
        let jobs = matrix["include"].as_array().unwrap();
        assert_eq!(jobs.len(), 5);
        assert_eq!(jobs[0]["target"], "x86_64-unknown-linux-musl");
        assert_eq!(jobs[0]["runner"], "ubuntu-latest");
        assert_eq!(
            jobs[0]["archive"],
            "toolbox-1.2.3-x86_64-unknown-linux-musl.tar.xz"
        );
        assert_eq!(jobs[2]["runner"], "windows-latest");
    }

    #[test]
    fn who_builds_what() {
        let all = |_: &str| true;
        let none = |_: &str| false;
        let linux = Some(Os::Linux);
        let t = |s| Target::parse(s).unwrap();
        assert_eq!(
            buildable(&t("aarch64-unknown-linux-musl"), linux, none),
            Buildable::Yes
        );
        assert_eq!(
            buildable(&t("aarch64-apple-darwin"), linux, all),
            Buildable::Elsewhere("built by the release workflow on a macos runner".into())
        );
        assert!(matches!(
            buildable(&t("x86_64-pc-windows-msvc"), linux, all),
            Buildable::Elsewhere(_)
        ));
        assert_eq!(
            buildable(&t("x86_64-pc-windows-gnu"), linux, all),
            Buildable::Yes
        );
        assert!(matches!(
            buildable(&t("x86_64-pc-windows-gnu"), linux, none),
            Buildable::MissingTool(_)
        ));
        assert_eq!(
            buildable(&t("x86_64-pc-windows-msvc"), Some(Os::Windows), none),
            Buildable::Yes
        );
    }
}
