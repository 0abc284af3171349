//! Smoke runs: the commands run on every released binary, in an empty
//! root, before it ships — `[dist].smoke`, or each binary's `--version` —
//! and each made concrete for one binary and version (`SmokeRequest`).

use anyhow::Result;

use crate::model::config::{DistConfig, RootItem};
use crate::model::workspace::Package;

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
    /// `[dist].smoke-root`: what the root holds besides the binary.
    pub(crate) root: Vec<RootItem>,
}

/// One smoke run made concrete for one binary: what `run::smoke` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmokeRequest {
    /// The executable's file name (`tool`, `tool.exe`).
    pub(crate) exe: String,
    pub(crate) args: Vec<String>,
    /// Text the output must contain; `None`: exiting with 0 is enough.
    pub(crate) expect: Option<String>,
    /// What the root holds besides the binary.
    pub(crate) root: Vec<RootItem>,
}

impl SmokeRun {
    /// The default check of every binary: `bin --version` prints the version.
    pub(crate) fn version_of(bin: &str) -> SmokeRun {
        SmokeRun {
            bin: bin.to_owned(),
            args: vec!["--version".to_owned()],
            expect: Expect::Version,
            root: Vec::new(),
        }
    }

    /// This run for the executable `exe` of a release of `version`
    /// (`None`: not known): `{version}` in the expected text stands for it,
    /// and a version check without a version only asks for exit code 0.
    pub(crate) fn request(&self, exe: String, version: Option<&str>) -> SmokeRequest {
        let expect = match &self.expect {
            Expect::Success => None,
            Expect::Text(text) => Some(match version {
                Some(v) => text.replace("{version}", v),
                None => text.clone(),
            }),
            Expect::Version => version.map(str::to_owned),
        };
        SmokeRequest {
            exe,
            args: self.args.clone(),
            expect,
            root: self.root.clone(),
        }
    }
}

/// `[dist].smoke`, or by default the main binary's `--version`, which must
/// print the version.
pub(crate) fn configured(config: &DistConfig, app: &Package) -> Result<Vec<SmokeRun>> {
    let Some(commands) = &config.smoke else {
        return Ok(vec![SmokeRun {
            root: config.smoke_root.clone(),
            ..SmokeRun::version_of(app.main_bin())
        }]);
    };
    commands
        .iter()
        .map(|c| {
            Ok(SmokeRun {
                bin: app.binary(c.bin.as_deref(), "smoke")?.to_owned(),
                args: c.args.clone(),
                expect: c.expect.clone().map_or(Expect::Success, Expect::Text),
                root: config.smoke_root.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config;
    use std::path::Path;

    #[test]
    fn a_smoke_run_is_made_concrete_with_the_release_version() {
        let version = SmokeRun::version_of("tb");
        assert_eq!(
            version.request("tb.exe".into(), Some("1.2.3")),
            SmokeRequest {
                exe: "tb.exe".into(),
                args: vec!["--version".into()],
                expect: Some("1.2.3".into()),
                root: Vec::new(),
            }
        );
        assert_eq!(
            version.request("tb".into(), None).expect,
            None,
            "no version known: exiting with 0 is the check"
        );
        let text = SmokeRun {
            bin: "tb".into(),
            args: vec!["info".into()],
            expect: Expect::Text("tb {version} ready".into()),
            root: Vec::new(),
        };
        assert_eq!(
            text.request("tb".into(), Some("2.0.0")).expect.as_deref(),
            Some("tb 2.0.0 ready")
        );
        assert_eq!(
            text.request("tb".into(), None).expect.as_deref(),
            Some("tb {version} ready")
        );
        let success = SmokeRun {
            expect: Expect::Success,
            ..text
        };
        assert_eq!(success.request("tb".into(), Some("2.0.0")).expect, None);
    }

    #[test]
    fn by_default_the_main_binary_shows_its_version_and_else_the_configured_runs() {
        let config = |text: &str| {
            config::parse(
                &format!("[dist]\napp = \"toolbox\"\n{text}"),
                Path::new("x"),
            )
            .unwrap()
        };
        let default = configured(&config(""), &Package::sample()).unwrap();
        assert_eq!(
            default,
            [SmokeRun {
                bin: "tb".into(),
                args: vec!["--version".into()],
                expect: Expect::Version,
                root: Vec::new(),
            }]
        );
        let mine = configured(
            &config("smoke = [[\"--help\"], { args = [\"x\"], expect = \"y\" }]\n"),
            &Package::sample(),
        )
        .unwrap();
        assert_eq!(mine[0].expect, Expect::Success);
        assert_eq!(
            mine[1],
            SmokeRun {
                bin: "tb".into(),
                args: vec!["x".into()],
                expect: Expect::Text("y".into()),
                root: Vec::new(),
            }
        );
    }
}
