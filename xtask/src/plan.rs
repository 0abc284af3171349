//! Config + workspace → the list of artifacts to make (pure: no cargo, no
//! files written), and `cargo xtask plan`, which hands that list to the
//! release workflow as its build matrix and checks the release tag.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use xshell::Shell;

use crate::config::{self, ConfigError, DistConfig, Features, Include};
use crate::package::ArchiveFormat;
use crate::suggest::did_you_mean;
use crate::target::{Buildable, Os, Target};
use crate::workspace::{self, Package, Workspace};

pub(crate) struct Options {
    pub(crate) json: bool,
    pub(crate) tag: Option<String>,
    /// Write `matrix`, `publish` and `tag` to `$GITHUB_OUTPUT`, judging the
    /// run from `GITHUB_REF_TYPE` / `GITHUB_REF_NAME`.
    pub(crate) github_output: bool,
}

/// `cargo xtask plan`.
pub(crate) fn run(options: Options) -> Result<()> {
    let sh = Shell::new()?;
    let (ws, config) = load(&sh)?;
    let app = ws.app(&config.app).expect("checked by load");
    let plan = make(&config, app, &ws.root, &[], 0).map_err(|e| config_error(&ws, e))?;
    let release_tag = config.tag_pattern.tag_for(&plan.version);

    let mut tag = options.tag;
    let mut publish = false;
    if options.github_output {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        let run = github_run(
            &var("GITHUB_EVENT_NAME"),
            &var("GITHUB_REF_TYPE"),
            &var("GITHUB_REF_NAME"),
        );
        publish = run.publish;
        tag = tag.or(run.tag);
    }
    if let Some(tag) = &tag {
        check_tag(tag, &release_tag, app)?;
    }
    if publish {
        // The installer and binstall metadata point at `repository`: a fork
        // that forgot to change it would publish installers for someone else.
        let server =
            std::env::var("GITHUB_SERVER_URL").unwrap_or_else(|_| "https://github.com".into());
        let here = std::env::var("GITHUB_REPOSITORY")
            .ok()
            .map(|r| format!("{server}/{r}"));
        check_repository_is_here(repository(&config, app)?.as_deref(), here.as_deref())?;
    }

    let matrix = matrix(&plan);
    if options.github_output {
        let path = std::env::var_os("GITHUB_OUTPUT")
            .context("--github-output needs GITHUB_OUTPUT to be set")?;
        let lines = format!(
            "matrix={}\npublish={publish}\ntag={}\nprerelease={}\n",
            serde_json::to_string(&matrix).expect("JSON values always serialise"),
            tag.as_deref().unwrap_or_default(),
            is_prerelease(&plan.version)
        );
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut f| f.write_all(lines.as_bytes()))
            .with_context(|| {
                format!(
                    "writing the plan to GITHUB_OUTPUT ({})",
                    Path::new(&path).display()
                )
            })?;
        let kind = if is_prerelease(&plan.version) {
            "a pre-release"
        } else {
            "a release"
        };
        if publish {
            eprintln!("publishing {kind}");
        } else {
            eprintln!("dry run: building {kind}, publishing nothing");
        }
    }
    if options.json {
        let doc = json!({ "app": plan.app, "version": plan.version, "tag": release_tag, "matrix": matrix });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON values always serialise")
        );
    } else {
        println!(
            "{} {} (released by tag {release_tag})",
            plan.app, plan.version
        );
        for a in &plan.artifacts {
            println!(
                "  {:<32} on {:<15} -> {}",
                a.target.triple,
                a.target.github_runner(),
                a.file_name()
            );
        }
    }
    Ok(())
}

/// What a GitHub Actions run of the release workflow does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GithubRun {
    pub(crate) publish: bool,
    /// The tag the run is on, checked against the version either way.
    pub(crate) tag: Option<String>,
}

/// Only a pushed tag publishes. A manual run (`workflow_dispatch`) is a dry
/// run wherever it starts, a tag included: the README promises it.
pub(crate) fn github_run(event_name: &str, ref_type: &str, ref_name: &str) -> GithubRun {
    let on_tag = ref_type == "tag" && !ref_name.is_empty();
    GithubRun {
        publish: on_tag && event_name == "push",
        tag: on_tag.then(|| ref_name.to_owned()),
    }
}

/// Whether `version` is a semver pre-release (`1.2.3-rc.1`): published as
/// such, never as the latest release, which the installer downloads.
pub(crate) fn is_prerelease(version: &str) -> bool {
    version.split('+').next().is_some_and(|v| v.contains('-'))
}

/// Reads the workspace and its release configuration, and checks that the
/// configured app is one of its packages: the start of every command.
pub(crate) fn load(sh: &Shell) -> Result<(Workspace, DistConfig)> {
    let ws = workspace::load(sh)?;
    let config = config::load(&ws.root)?;
    ws.app(&config.app).map_err(|e| config_error(&ws, e))?;
    Ok((ws, config))
}

/// Where releases are published: `[dist].repository`, else the app's
/// `package.repository`.
pub(crate) fn repository(config: &DistConfig, app: &Package) -> Result<Option<String>> {
    match (&config.repository, &app.repository) {
        (Some(url), _) => Ok(Some(url.clone())),
        (None, Some(url)) => config::check_repository(url).map(Some).map_err(|why| {
            anyhow::anyhow!(
                "`repository` in {}: {why}; or set `repository` in [dist] of dist-workspace.toml",
                app.manifest_path.display()
            )
        }),
        (None, None) => Ok(None),
    }
}

/// Mistakes found after parsing are still the configuration's: exit code 2.
pub(crate) fn config_error(ws: &Workspace, err: anyhow::Error) -> ConfigError {
    ConfigError {
        file: ws.root.join(config::FILE_NAME),
        line: None,
        message: format!("{err:#}"),
    }
}

/// The release tag must name exactly the version being built, so an archive
/// called `toolbox-0.2.0-…` is never published under `v0.1.0`.
fn check_tag(tag: &str, expected: &str, app: &Package) -> Result<()> {
    if tag != expected {
        bail!(
            "tag `{tag}` does not release {} {}: the tag for that version is `{expected}`. \
             Set `version` in {} to the version in the tag, or push `{expected}`",
            app.name,
            app.version,
            app.manifest_path.display()
        );
    }
    Ok(())
}

fn check_repository_is_here(configured: Option<&str>, here: Option<&str>) -> Result<()> {
    let Some(here) = here else { return Ok(()) };
    match configured {
        Some(url) if url.eq_ignore_ascii_case(here) => Ok(()),
        Some(url) => bail!(
            "dist-workspace.toml says releases are published at {url}, but this workflow runs in {here}; \
             set `repository = \"{here}\"` in [dist] so the installer downloads from here"
        ),
        None => bail!(
            "no `repository` in [dist] of dist-workspace.toml; set `repository = \"{here}\"` so the installer \
             knows where to download from"
        ),
    }
}

/// The build matrix for GitHub Actions: one job per target, on its runner.
pub(crate) fn matrix(plan: &Plan) -> Value {
    let include: Vec<Value> = plan
        .artifacts
        .iter()
        .map(|a| json!({ "target": a.target.triple, "runner": a.target.github_runner(), "archive": a.file_name() }))
        .collect();
    json!({ "include": include })
}

/// Everything `dist` will produce.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) app: String,
    pub(crate) version: String,
    pub(crate) source_date_epoch: u64,
    pub(crate) artifacts: Vec<ArtifactPlan>,
    /// `cargo build` arguments choosing the configured features.
    pub(crate) features: Vec<String>,
    /// Files made by running the built binary, the same list for every archive.
    pub(crate) docs: Vec<DocFile>,
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
}

impl ArtifactPlan {
    pub(crate) fn file_name(&self) -> String {
        format!("{}{}", self.stem, self.format.extension())
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

/// The archive name stem of `package` at `version` for `triple`.
pub(crate) fn stem(package: &str, version: &str, triple: &str) -> String {
    format!("{package}-{version}-{triple}")
}

/// Decides the artifacts. `selected` (from `--target`) narrows the configured targets.
pub(crate) fn make(
    config: &DistConfig,
    app: &Package,
    root: &Path,
    selected: &[String],
    source_date_epoch: u64,
) -> Result<Plan> {
    let targets = select_targets(config, selected)?;
    check_features(&config.features, app)?;
    let includes = includes(config, app, root)?;
    let docs = docs(config, app)?;
    check_smoke(config, app)?;
    for target in &targets {
        check_archive_paths(target, app, root, &includes, &docs)?;
    }
    let artifacts = targets
        .into_iter()
        .map(|target| ArtifactPlan {
            stem: stem(&app.name, &app.version, target.triple),
            format: if target.os == Os::Windows {
                config.windows_archive
            } else {
                config.unix_archive
            },
            bins: app.bins.clone(),
            includes: includes.clone(),
            target,
        })
        .collect();
    Ok(Plan {
        app: app.name.clone(),
        version: app.version.clone(),
        source_date_epoch,
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

/// The binary a `bin` key names, or the main binary.
fn binary_of<'a>(app: &'a Package, bin: Option<&'a str>, key: &str) -> Result<&'a str> {
    match bin {
        None => Ok(app.main_bin()),
        Some(bin) if app.bins.iter().any(|b| b == bin) => Ok(bin),
        Some(bin) => bail!(
            "`[dist].{key}`: `bin = \"{bin}\"` is not a binary of {}{} (binaries: {})",
            app.name,
            did_you_mean(bin, app.bins.iter().map(String::as_str)),
            app.bins.join(", ")
        ),
    }
}

fn docs(config: &DistConfig, app: &Package) -> Result<Vec<DocFile>> {
    config
        .docs
        .iter()
        .map(|d| {
            Ok(DocFile {
                path: d.path.clone(),
                bin: binary_of(app, d.bin.as_deref(), "docs")?.to_owned(),
                args: d.args.clone(),
            })
        })
        .collect()
}

fn check_smoke(config: &DistConfig, app: &Package) -> Result<()> {
    smoke(config, app).map(drop)
}

/// What a smoke run's output must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Only that the command exits with 0.
    Success,
    /// This text, on stdout or stderr.
    Text(String),
    /// The release's version: the default `--version` check.
    Version,
}

/// A command run on a released binary, in an empty root, before publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmokeRun {
    pub(crate) bin: String,
    pub(crate) args: Vec<String>,
    pub(crate) expect: Expect,
}

/// `[dist].smoke`, or by default the main binary's `--version`, which must
/// print the version.
pub(crate) fn smoke(config: &DistConfig, app: &Package) -> Result<Vec<SmokeRun>> {
    let Some(commands) = &config.smoke else {
        return Ok(vec![SmokeRun {
            bin: app.main_bin().to_owned(),
            args: vec!["--version".to_owned()],
            expect: Expect::Version,
        }]);
    };
    commands
        .iter()
        .map(|c| {
            Ok(SmokeRun {
                bin: binary_of(app, c.bin.as_deref(), "smoke")?.to_owned(),
                args: c.args.clone(),
                expect: c.expect.clone().map_or(Expect::Success, Expect::Text),
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
        let target = Target::parse(triple)?;
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
        match artifact.target.buildable_here(host, &has_tool) {
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

/// The include files: those configured, else the app's README, licence
/// and changelog files, each kind from the workspace root where the app's
/// directory has none.
fn includes(config: &DistConfig, app: &Package, root: &Path) -> Result<Vec<IncludeFile>> {
    let wanted: Vec<Include> = match &config.include {
        Some(list) => list.clone(),
        None => {
            let app_dir = app.manifest_path.parent().unwrap_or(root);
            default_includes(app_dir, root)
                .into_iter()
                .map(|source| {
                    let from = source.strip_prefix(root).unwrap_or(&source);
                    let name = source.file_name().unwrap_or_default().to_string_lossy();
                    Include {
                        from: from.to_string_lossy().into_owned(),
                        to: name.into_owned(),
                    }
                })
                .collect()
        }
    };
    let root_real = root
        .canonicalize()
        .with_context(|| format!("resolving {}", root.display()))?;
    let mut files = Vec::new();
    for include in wanted {
        let source = root.join(&include.from);
        check_include_source(&include.from, &source, &root_real)?;
        files.push(IncludeFile {
            source,
            path: include.to,
        });
    }
    Ok(files)
}

/// Kinds of file an archive carries by default, by upper-case name prefix.
const DEFAULT_KINDS: &[&[&str]] = &[
    &["README"],
    &["LICENSE", "LICENCE", "COPYING", "UNLICENSE"],
    &["CHANGELOG"],
];

/// Files of each default kind in `app_dir`, else in `root`, sorted by name.
fn default_includes(app_dir: &Path, root: &Path) -> Vec<PathBuf> {
    let listing = |dir: &Path| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        found.retain(|p| !p.is_dir());
        found.sort();
        found
    };
    let (in_app, in_root) = (listing(app_dir), listing(root));
    let of_kind = |files: &[PathBuf], prefixes: &[&str]| -> Vec<PathBuf> {
        files
            .iter()
            .filter(|p| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_uppercase();
                prefixes.iter().any(|prefix| name.starts_with(prefix))
            })
            .cloned()
            .collect()
    };
    let mut chosen = Vec::new();
    for prefixes in DEFAULT_KINDS {
        let mine = of_kind(&in_app, prefixes);
        chosen.extend(if mine.is_empty() {
            of_kind(&in_root, prefixes)
        } else {
            mine
        });
    }
    chosen
}

/// An include must be a regular file inside the workspace: a symlink may
/// point at one (a crate's LICENSE linking to the root's), never outside it,
/// where it could ship the build machine's secrets (`/proc/self/environ`).
fn check_include_source(from: &str, source: &Path, root_real: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(source) else {
        bail!(
            "`[dist].include`: `{from}` does not exist in {}",
            root_real.display()
        );
    };
    let real = source
        .canonicalize()
        .with_context(|| format!("`[dist].include`: resolving `{from}`"))?;
    if !real.starts_with(root_real) {
        let to = std::fs::read_link(source).unwrap_or(real);
        bail!(
            "`[dist].include`: `{from}` is a link to {}, outside the workspace; include a file of the workspace",
            to.display()
        );
    }
    let target_meta =
        std::fs::metadata(&real).with_context(|| format!("`[dist].include`: reading `{from}`"))?;
    if target_meta.is_dir() {
        bail!("`[dist].include`: `{from}` is a directory (list its files instead)");
    }
    if !target_meta.is_file() {
        let what = if meta.file_type().is_symlink() {
            "links to something that"
        } else {
            ""
        };
        bail!(
            "`[dist].include`: `{from}` {what} is not a regular file (a FIFO, socket or device); include a file"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace on disk with the files include rules look at: a root
    /// README and licence, and the app's own README and changelog.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("xtask-plan-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let app_dir = dir.join("crates/toolbox");
            std::fs::create_dir_all(app_dir.join("doc")).unwrap();
            for (path, text) in [
                ("README.md", "workspace"),
                ("LICENSE-MIT", "mit"),
                ("crates/toolbox/README.md", "app"),
                ("crates/toolbox/CHANGELOG.md", "changes"),
                ("crates/toolbox/doc/GUIDE.md", "guide"),
            ] {
                std::fs::write(dir.join(path), text).unwrap();
            }
            Scratch(dir)
        }

        fn app(&self) -> Package {
            Package {
                manifest_path: self.0.join("crates/toolbox/Cargo.toml"),
                ..Package::sample()
            }
        }

        fn plan(&self, config_text: &str, selected: &[&str]) -> Result<Plan> {
            let config = config::parse(
                &format!("[dist]\napp = \"toolbox\"\n{config_text}"),
                Path::new("x"),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let selected: Vec<String> = selected.iter().map(|s| s.to_string()).collect();
            make(&config, &self.app(), &self.0, &selected, 0)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn paths(plan: &Plan) -> Vec<(String, String)> {
        plan.artifacts[0]
            .includes
            .iter()
            .map(|i| {
                (
                    i.source.file_name().unwrap().to_string_lossy().into_owned(),
                    i.path.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn archives_are_named_after_the_package_and_hold_its_binaries() {
        let ws = Scratch::new("names");
        let plan = ws.plan("", &[]).unwrap();
        assert_eq!(
            plan.artifacts[0].file_name(),
            "toolbox-1.2.3-x86_64-unknown-linux-musl.tar.xz"
        );
        assert_eq!(
            plan.artifacts[0].stem,
            "toolbox-1.2.3-x86_64-unknown-linux-musl"
        );
        assert_eq!(plan.artifacts[0].bins, ["tb"]);
        let windows = ws.plan("", &["x86_64-pc-windows-msvc"]).unwrap();
        assert_eq!(
            windows.artifacts[0].file_name(),
            "toolbox-1.2.3-x86_64-pc-windows-msvc.zip"
        );
    }

    #[test]
    fn by_default_the_app_s_own_readme_and_changelog_ship_with_the_root_s_licence() {
        let ws = Scratch::new("defaults");
        let plan = ws.plan("", &[]).unwrap();
        let includes = plan.artifacts[0].includes.clone();
        let sources: Vec<&Path> = includes
            .iter()
            .map(|i| i.source.strip_prefix(&ws.0).unwrap())
            .collect();
        // Compared as paths: Windows separates them with `\`.
        let expected = [
            "crates/toolbox/README.md",
            "LICENSE-MIT",
            "crates/toolbox/CHANGELOG.md",
        ];
        assert_eq!(sources, expected.map(Path::new));
        let to: Vec<&str> = includes.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(to, ["README.md", "LICENSE-MIT", "CHANGELOG.md"]);
        // An app with a licence of its own ships that one instead.
        std::fs::write(ws.0.join("crates/toolbox/COPYING"), "gpl").unwrap();
        let plan = ws.plan("", &[]).unwrap();
        assert!(paths(&plan).contains(&("COPYING".into(), "COPYING".into())));
        assert!(!paths(&plan).iter().any(|(name, _)| name == "LICENSE-MIT"));
    }

    #[test]
    fn include_entries_flatten_or_go_where_they_are_told() {
        let ws = Scratch::new("include");
        let plan = ws
            .plan(
                "include = [\"crates/toolbox/doc/GUIDE.md\", { from = \"crates/toolbox/CHANGELOG.md\", to = \"doc/CHANGELOG.md\" }]\n",
                &[],
            )
            .unwrap();
        assert_eq!(
            paths(&plan),
            [
                ("GUIDE.md".into(), "GUIDE.md".into()),
                ("CHANGELOG.md".into(), "doc/CHANGELOG.md".into())
            ]
        );
    }

    #[test]
    fn include_refuses_what_is_not_a_file_of_the_workspace() {
        let ws = Scratch::new("refuse");
        let err = |config: &str| ws.plan(config, &[]).unwrap_err().to_string();
        assert!(err("include = [\"NOPE.md\"]\n").contains("`NOPE.md` does not exist"));
        assert!(err("include = [\"crates\"]\n").contains("is a directory"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/proc/self/environ", ws.0.join("LICENSE-ENV")).unwrap();
            let e = err("include = [\"LICENSE-ENV\"]\n");
            assert!(
                e.contains("`LICENSE-ENV` is a link to /proc/self/environ, outside the workspace"),
                "{e}"
            );
            // The default set refuses it too, rather than ship the build machine's environment.
            assert!(ws.plan("", &[]).is_err());
            std::fs::remove_file(ws.0.join("LICENSE-ENV")).unwrap();
            // A link to a file inside the workspace is fine: a crate's licence linking to the root's.
            std::os::unix::fs::symlink(
                "../../LICENSE-MIT",
                ws.0.join("crates/toolbox/LICENSE-MIT"),
            )
            .unwrap();
            assert!(
                paths(&ws.plan("", &[]).unwrap())
                    .contains(&("LICENSE-MIT".into(), "LICENSE-MIT".into()))
            );
        }
    }

    #[test]
    fn features_must_be_the_app_s() {
        let ws = Scratch::new("features");
        let plan = ws
            .plan(
                "features = [\"fancy\", \"serde/std\"]\ndefault-features = false\n",
                &[],
            )
            .unwrap();
        assert_eq!(
            plan.features,
            ["--no-default-features", "--features", "fancy,serde/std"]
        );
        let err = ws
            .plan("features = [\"fansy\"]\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "`fansy` is not a feature of toolbox; did you mean `fancy`? (it has fancy)"
            ),
            "{err}"
        );
        assert_eq!(
            ws.plan("all-features = true\n", &[]).unwrap().features,
            ["--all-features"]
        );
    }

    #[test]
    fn docs_and_smoke_name_binaries_of_the_app_and_default_to_the_main_one() {
        let ws = Scratch::new("docs");
        let plan = ws
            .plan(
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
        let err = ws
            .plan(
                "[dist.docs]\n\"doc/x.1\" = { bin = \"tv\", args = [] }\n",
                &[],
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`bin = \"tv\"` is not a binary of toolbox; did you mean `tb`?"),
            "{err}"
        );
        let err = ws
            .plan("smoke = [{ bin = \"nope\", args = [] }]\n", &[])
            .unwrap_err();
        assert!(
            err.to_string().contains("`[dist].smoke`: `bin = \"nope\"`"),
            "{err}"
        );

        let config = |text: &str| {
            config::parse(
                &format!("[dist]\napp = \"toolbox\"\n{text}"),
                Path::new("x"),
            )
            .unwrap()
        };
        let default = smoke(&config(""), &ws.app()).unwrap();
        assert_eq!(
            default,
            [SmokeRun {
                bin: "tb".into(),
                args: vec!["--version".into()],
                expect: Expect::Version
            }]
        );
        let mine = smoke(
            &config("smoke = [[\"--help\"], { args = [\"x\"], expect = \"y\" }]\n"),
            &ws.app(),
        )
        .unwrap();
        assert_eq!(mine[0].expect, Expect::Success);
        assert_eq!(
            mine[1],
            SmokeRun {
                bin: "tb".into(),
                args: vec!["x".into()],
                expect: Expect::Text("y".into())
            }
        );
    }

    #[test]
    fn one_archive_path_holds_one_thing() {
        let ws = Scratch::new("clash");
        let err = ws
            .plan("include = [{ from = \"README.md\", to = \"tb\" }]\n", &[])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("include `README.md` and binary `tb` both want `tb`"),
            "{err}"
        );
        let err = ws
            .plan("include = [{ from = \"README.md\", to = \"doc\" }]\n[dist.docs]\n\"doc/tb.1\" = [\"man\"]\n", &[])
            .unwrap_err();
        assert!(err.to_string().contains("both want `doc/tb.1`"), "{err}");
    }

    #[test]
    fn other_os_targets_are_skipped_or_refused() {
        let ws = Scratch::new("skip");
        let mut plan = ws.plan("", &[]).unwrap();
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
        let mut plan = ws.plan("", &["aarch64-apple-darwin"]).unwrap();
        let err = keep_buildable(&mut plan, true, Some(Os::Linux), |_| true).unwrap_err();
        assert!(err.to_string().contains("macos runner"), "{err}");
        let err = ws.plan("", &["x86_64-unknown-linux-gnu"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("release `x86_64-unknown-linux-musl` instead"),
            "{err}"
        );
    }

    #[test]
    fn matrix_has_one_job_per_target_on_its_runner() {
        let ws = Scratch::new("matrix");
        let plan = ws.plan("", &[]).unwrap();
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
    fn only_the_versions_own_tag_releases_it() {
        let app = Package::sample();
        assert!(check_tag("v1.2.3", "v1.2.3", &app).is_ok());
        let err = check_tag("v1.2.4", "v1.2.3", &app).unwrap_err().to_string();
        assert!(
            err.contains("tag `v1.2.4` does not release toolbox 1.2.3") && err.contains("`v1.2.3`"),
            "{err}"
        );
        assert!(err.contains("/w/crates/toolbox/Cargo.toml"), "{err}");
        assert!(check_tag("1.2.3", "v1.2.3", &app).is_err());
    }

    #[test]
    fn a_release_is_published_only_from_the_configured_repository() {
        let here = Some("https://github.com/me/fork");
        assert!(check_repository_is_here(Some("https://github.com/me/fork"), here).is_ok());
        let err = check_repository_is_here(Some("https://github.com/example/toolbox"), here)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("set `repository = \"https://github.com/me/fork\"`"),
            "{err}"
        );
        assert!(check_repository_is_here(None, here).is_err());
        assert!(
            check_repository_is_here(None, None).is_ok(),
            "outside GitHub Actions there is nothing to compare"
        );
    }

    #[test]
    fn only_a_pushed_tag_publishes_and_a_manual_run_is_dry() {
        let push_tag = github_run("push", "tag", "v1.2.3");
        assert_eq!(
            push_tag,
            GithubRun {
                publish: true,
                tag: Some("v1.2.3".into())
            }
        );
        let manual_on_tag = github_run("workflow_dispatch", "tag", "v1.2.3");
        assert_eq!(
            manual_on_tag,
            GithubRun {
                publish: false,
                tag: Some("v1.2.3".into())
            }
        );
        assert_eq!(
            github_run("workflow_dispatch", "branch", "main"),
            GithubRun {
                publish: false,
                tag: None
            }
        );
        assert_eq!(
            github_run("", "", ""),
            GithubRun {
                publish: false,
                tag: None
            }
        );
    }

    #[test]
    fn pre_releases_are_told_apart() {
        assert!(is_prerelease("1.2.3-rc.1"));
        assert!(is_prerelease("0.1.0-alpha+build.5"));
        assert!(!is_prerelease("1.2.3"));
        assert!(!is_prerelease("1.2.3+build-5"));
    }
}
