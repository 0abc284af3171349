//! Config + workspace → the list of artifacts to make (pure: no cargo, no
//! files written), and `cargo xtask plan`, which hands that list to the
//! release workflow as its build matrix and checks the release tag.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use xshell::Shell;

use crate::config::{self, ConfigError, DistConfig};
use crate::package::ArchiveFormat;
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
        // A pushed tag publishes; anything else (workflow_dispatch) is a dry run.
        if std::env::var("GITHUB_REF_TYPE").as_deref() == Ok("tag") {
            tag = Some(
                std::env::var("GITHUB_REF_NAME")
                    .context("GITHUB_REF_NAME is not set for a tag push")?,
            );
            publish = true;
        }
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
            "matrix={}\npublish={publish}\ntag={}\n",
            serde_json::to_string(&matrix).expect("JSON values always serialise"),
            tag.as_deref().unwrap_or_default()
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
        eprintln!(
            "{}",
            if publish {
                "publishing a release"
            } else {
                "dry run: building, publishing nothing"
            }
        );
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
/// called `mycli-0.2.0-…` is never published under `v0.1.0`.
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
}

/// One archive: which target, what goes in, what it is called.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactPlan {
    pub(crate) target: Target,
    pub(crate) format: ArchiveFormat,
    /// `<bin>-<version>-<target>`, ripgrep's naming; also the archive's top directory.
    pub(crate) stem: String,
    pub(crate) bins: Vec<String>,
    pub(crate) includes: Vec<IncludeFile>,
}

impl ArtifactPlan {
    pub(crate) fn file_name(&self) -> String {
        format!("{}{}", self.stem, self.format.extension())
    }
}

/// A file shipped next to the binaries, at the archive's top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncludeFile {
    pub(crate) source: PathBuf,
    pub(crate) name: String,
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
    let includes = includes(config, root)?;
    let main_bin = app.main_bin();
    let artifacts = targets
        .into_iter()
        .map(|target| ArtifactPlan {
            stem: format!("{main_bin}-{}-{}", app.version, target.triple),
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
    })
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

fn includes(config: &DistConfig, root: &Path) -> Result<Vec<IncludeFile>> {
    let paths: Vec<String> = match &config.include {
        Some(paths) => paths.clone(),
        None => {
            // Default: the README and licence files, whichever exist.
            let mut found: Vec<String> = std::fs::read_dir(root)
                .map(|dir| {
                    dir.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            found.retain(|n| {
                n == "README.md" || n.starts_with("LICENSE") || n.starts_with("LICENCE")
            });
            found.sort();
            found
        }
    };
    let mut files: Vec<IncludeFile> = Vec::new();
    for path in paths {
        let source = root.join(&path);
        if !source.is_file() {
            let what = if source.is_dir() {
                "is a directory (list its files instead)"
            } else {
                "does not exist"
            };
            bail!("`[dist].include`: `{path}` {what} in {}", root.display());
        }
        let name = Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if files.iter().any(|f| f.name == name) {
            bail!(
                "`[dist].include`: two files would be stored as `{name}` at the top of the archive"
            );
        }
        files.push(IncludeFile { source, name });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TagPattern;

    fn app() -> Package {
        Package::sample()
    }

    fn config(include: Option<Vec<String>>) -> DistConfig {
        DistConfig {
            app: "mycli".into(),
            targets: crate::target::default_targets(),
            include,
            unix_archive: ArchiveFormat::TarXz,
            windows_archive: ArchiveFormat::Zip,
            tag_pattern: TagPattern::parse(crate::config::DEFAULT_TAG_PATTERN).unwrap(),
            repository: None,
            c_compiler: crate::config::CCompiler::Auto,
        }
    }

    fn root() -> PathBuf {
        // The workspace root: it has README.md and the licence files.
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn names_follow_ripgrep() {
        let plan = make(
            &config(Some(vec!["README.md".into()])),
            &app(),
            &root(),
            &[],
            0,
        )
        .unwrap();
        assert_eq!(
            plan.artifacts[0].file_name(),
            "mycli-1.2.3-x86_64-unknown-linux-musl.tar.xz"
        );
        assert_eq!(plan.artifacts[0].includes[0].name, "README.md");
    }

    #[test]
    fn other_os_targets_are_skipped_or_refused() {
        let full = make(&config(None), &app(), &root(), &[], 0).unwrap();
        let mut plan = full.clone();
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
        let mut plan = make(
            &config(None),
            &app(),
            &root(),
            &["aarch64-apple-darwin".into()],
            0,
        )
        .unwrap();
        let err = keep_buildable(&mut plan, true, Some(Os::Linux), |_| true).unwrap_err();
        assert!(err.to_string().contains("macos runner"), "{err}");
    }

    #[test]
    fn matrix_has_one_job_per_target_on_its_runner() {
        let plan = make(&config(None), &app(), &root(), &[], 0).unwrap();
        let matrix = matrix(&plan);
        let jobs = matrix["include"].as_array().unwrap();
        assert_eq!(jobs.len(), 5);
        assert_eq!(jobs[0]["target"], "x86_64-unknown-linux-musl");
        assert_eq!(jobs[0]["runner"], "ubuntu-latest");
        assert_eq!(
            jobs[0]["archive"],
            "mycli-1.2.3-x86_64-unknown-linux-musl.tar.xz"
        );
        assert_eq!(jobs[2]["runner"], "windows-latest");
    }

    #[test]
    fn only_the_versions_own_tag_releases_it() {
        assert!(check_tag("v1.2.3", "v1.2.3", &app()).is_ok());
        let err = check_tag("v1.2.4", "v1.2.3", &app())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tag `v1.2.4` does not release mycli 1.2.3") && err.contains("`v1.2.3`"),
            "{err}"
        );
        assert!(err.contains("/w/Cargo.toml"), "{err}");
        assert!(check_tag("1.2.3", "v1.2.3", &app()).is_err());
    }

    #[test]
    fn a_release_is_published_only_from_the_configured_repository() {
        let here = Some("https://github.com/me/fork");
        assert!(check_repository_is_here(Some("https://github.com/me/fork"), here).is_ok());
        let err = check_repository_is_here(Some("https://github.com/example/mycli"), here)
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
    fn windows_gets_zip() {
        let plan = make(
            &config(None),
            &app(),
            &root(),
            &["x86_64-pc-windows-msvc".into()],
            0,
        )
        .unwrap();
        assert_eq!(
            plan.artifacts[0].file_name(),
            "mycli-1.2.3-x86_64-pc-windows-msvc.zip"
        );
    }

    #[test]
    fn default_includes_readme_and_licences() {
        let plan = make(&config(None), &app(), &root(), &[], 0).unwrap();
        let names: Vec<&str> = plan.artifacts[0]
            .includes
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert!(names.contains(&"README.md"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("LICENSE")), "{names:?}");
    }

    #[test]
    fn bad_selection_and_includes_are_errors() {
        let err = make(
            &config(None),
            &app(),
            &root(),
            &["x86_64-unknown-linux-gnu".into()],
            0,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("release `x86_64-unknown-linux-musl` instead"),
            "{err}"
        );
        let err = make(
            &config(Some(vec!["NOPE.md".into()])),
            &app(),
            &root(),
            &[],
            0,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`NOPE.md` does not exist"),
            "{err}"
        );
        let err = make(
            &config(Some(vec!["crates".into()])),
            &app(),
            &root(),
            &[],
            0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }
}
