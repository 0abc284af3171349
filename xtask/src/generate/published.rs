//! The files a release publishes besides its archives: the shell installer
//! and the Homebrew formula, made from the configuration and filled with the
//! release's archive hashes where it is assembled (`dist`, `merge`), and
//! made again the same way wherever a release is checked (`verify`,
//! `reproduce`). Pure.

use anyhow::Result;

use crate::archive::index;
use crate::archive::manifest::Manifest;
use crate::generate::formula::{self, Formula};
use crate::generate::installer;
use crate::model::config::DistConfig;
use crate::model::install::Installer;
use crate::model::workspace::Package;

/// What the configuration makes of a release's installers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReleaseFiles {
    /// `<package>-installer.sh`, its release lines empty.
    pub(crate) installer: Installer,
    /// `<package>-installer.ps1`; `None` without a Windows target.
    pub(crate) powershell: Option<Installer>,
    /// `<package>.rb`; `None` without a repository to download from.
    pub(crate) formula: Option<Formula>,
}

impl ReleaseFiles {
    pub(crate) fn for_config(config: &DistConfig, app: &Package) -> Result<ReleaseFiles> {
        Ok(ReleaseFiles {
            installer: installer::for_config(config, app)?,
            powershell: installer::powershell_for_config(config, app)?,
            formula: formula::for_config(config, app)?,
        })
    }

    /// The installers of `release`, as it publishes them: the shell
    /// installer carrying its archives' hashes, and the formula when the
    /// release has a macOS or Linux archive.
    pub(crate) fn for_release(&self, release: &Manifest) -> Vec<Installer> {
        let sums = index::archive_sums(&release.artifacts);
        let filled = |installer: &Installer| Installer {
            name: installer.name.clone(),
            text: installer.for_release(&release.version, &sums),
        };
        let formula = self.formula.as_ref().and_then(|f| f.render(release));
        std::iter::once(filled(&self.installer))
            .chain(self.powershell.as_ref().map(filled))
            .chain(formula)
            .collect()
    }

    /// The file names any release of this configuration may publish.
    pub(crate) fn names(&self) -> Vec<String> {
        std::iter::once(self.installer.name.clone())
            .chain(self.powershell.as_ref().map(|p| p.name.clone()))
            .chain(self.formula.as_ref().map(|f| f.name.clone()))
            .collect()
    }
}
