//! The project being released, read from the machine once at start: the
//! workspace as cargo describes it, its release configuration, the app, the
//! include files, the date and commit (runs cargo and git, reads files).

pub(crate) mod changes;
pub(crate) mod files;
pub(crate) mod includes;
pub(crate) mod stamp;
pub(crate) mod workspace;

use std::path::{Path, PathBuf};

use anyhow::Result;
use xshell::Shell;

use crate::model::changelog;
use crate::model::config::{self, ConfigError, DistConfig};
use crate::model::github;
use crate::model::plan::{self, Plan, Stamp};
use crate::model::smoke::{self, SmokeRun};
use crate::model::workspace::{Package, Workspace};

/// What every command starts from.
pub(crate) struct Project {
    pub(crate) sh: Shell,
    pub(crate) ws: Workspace,
    pub(crate) config: DistConfig,
    /// The app's index in `ws.packages`.
    app: usize,
}

impl Project {
    /// Reads the workspace and its release configuration, and checks that
    /// the configured app is one of its packages with a binary.
    pub(crate) fn load() -> Result<Project> {
        let sh = Shell::new()?;
        let ws = workspace::load(&sh)?;
        let config = config::load(&ws.root)?;
        let app = match ws.app(&config.app) {
            Ok(app) => app.name.clone(),
            Err(e) => return Err(config_error(&ws.root, e).into()),
        };
        let app = ws
            .packages
            .iter()
            .position(|p| p.name == app)
            .expect("ws.app found it");
        Ok(Project {
            sh,
            ws,
            config,
            app,
        })
    }

    /// The package being released.
    pub(crate) fn app(&self) -> &Package {
        &self.ws.packages[self.app]
    }

    /// A mistake found after parsing is still the configuration's: exit code 2.
    pub(crate) fn config_error(&self, err: anyhow::Error) -> ConfigError {
        config_error(&self.ws.root, err)
    }

    /// Where releases are published (see `github::repository`).
    pub(crate) fn repository(&self) -> Result<Option<String>> {
        github::repository(&self.config, self.app())
    }

    /// The configured smoke runs (`[dist.smoke]`), checked against the app.
    pub(crate) fn smoke(&self) -> Result<Vec<SmokeRun>> {
        smoke::configured(&self.config, self.app()).map_err(|e| self.config_error(e).into())
    }

    /// Where release artifacts go: `dist/` inside the target directory.
    pub(crate) fn dist_dir(&self) -> PathBuf {
        self.ws.dist_dir()
    }

    /// The release plan for the `selected` targets (all configured when
    /// empty), built with `stamp`, shipping `installer`: include files
    /// found on disk, then planned; every mistake is the configuration's.
    pub(crate) fn plan(&self, selected: &[String], stamp: Stamp) -> Result<Plan> {
        let app = self.app();
        let root = &self.ws.root;
        includes::resolve(&self.config, app, root)
            .and_then(|includes| plan::make(&self.config, app, includes, root, selected, stamp))
            .map_err(|e| self.config_error(e).into())
    }

    /// The release notes of `version` from the app's CHANGELOG.md, else the
    /// workspace's: the file and its section, or `None` when neither has a
    /// section for it.
    pub(crate) fn release_notes(&self, version: &str) -> Result<Option<(PathBuf, String)>> {
        Ok(self
            .changelogs()?
            .into_iter()
            .find_map(|(file, text)| Some((file, changelog::section(&text, version)?))))
    }

    /// The changelog (app's, else workspace's) with an `Unreleased`
    /// section, for a hint when there is no section for the version yet.
    pub(crate) fn unreleased_changelog(&self) -> Result<Option<PathBuf>> {
        Ok(self
            .changelogs()?
            .into_iter()
            .find(|(_, text)| changelog::has_unreleased(text))
            .map(|(file, _)| file))
    }

    /// The app's CHANGELOG.md and the workspace's, those that exist, with
    /// their paths relative to the workspace.
    fn changelogs(&self) -> Result<Vec<(PathBuf, String)>> {
        let app_dir = self.app().manifest_path.parent().unwrap_or(&self.ws.root);
        let mut found = Vec::new();
        for dir in [app_dir, self.ws.root.as_path()] {
            let path = dir.join("CHANGELOG.md");
            let shown = path
                .strip_prefix(&self.ws.root)
                .unwrap_or(&path)
                .to_path_buf();
            if found.iter().any(|(f, _)| *f == shown) {
                continue; // the app is the workspace's root package
            }
            match std::fs::read_to_string(&path) {
                Ok(text) => found.push((shown, text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("reading {}", path.display()))
                    );
                }
            }
        }
        Ok(found)
    }

    /// The stamp of a build of this checkout: its source date and commit.
    pub(crate) fn stamp(&self) -> Result<Stamp> {
        Ok(Stamp {
            source_date_epoch: stamp::source_date_epoch(&self.sh, &self.ws.root)?,
            commit: stamp::commit(&self.sh, &self.ws.root),
        })
    }
}

fn config_error(root: &Path, err: anyhow::Error) -> ConfigError {
    ConfigError {
        file: root.join(config::FILE_NAME),
        line: None,
        message: format!("{err:#}"),
    }
}
