//! `dist-manifest.json`: what was released, for people, CI jobs and `verify`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

pub(crate) const FILE_NAME: &str = "dist-manifest.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) app: String,
    pub(crate) version: String,
    pub(crate) source_date_epoch: u64,
    /// The commit built (`git rev-parse HEAD`, or GIT_COMMIT), `unknown`
    /// outside git: with the date, what `reproduce` rebuilds from.
    pub(crate) commit: String,
    pub(crate) artifacts: Vec<ManifestArtifact>,
    /// Installer scripts, released next to the archives.
    pub(crate) installers: Vec<ManifestInstaller>,
}

/// An installer script, listed as any file beside the archives.
pub(crate) type ManifestInstaller = Listed;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestArtifact {
    pub(crate) name: String,
    pub(crate) target: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    /// Paths of the executables inside the archive.
    pub(crate) binaries: Vec<String>,
    /// `static`, `static-pie`, …: the linkage verdict given when it was built.
    pub(crate) linkage: String,
    /// What built it: `rustc -V`, and the C compiler build scripts were
    /// given (with its version), if any. A rebuild with other compilers is
    /// not expected to give the same bytes.
    pub(crate) toolchain: Toolchain,
    /// Its CycloneDX SBOM, published beside it.
    pub(crate) sbom: Option<Listed>,
    /// The .deb and .rpm made of it (Linux archives).
    pub(crate) packages: Vec<Listed>,
}

/// A file published beside the archives: an installer, or an archive's SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// The compilers of one build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Toolchain {
    pub(crate) rustc: String,
    pub(crate) c_compiler: Option<String>,
}

/// A JSON file of the release as it is written: pretty, one final newline.
pub(crate) fn pretty(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("JSON values always serialise");
    text.push('\n');
    text
}

/// The string `key` of `v`, or an error naming the key.
pub(crate) fn string(v: &Value, key: &str) -> Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("missing string `{key}`"))
}

impl Manifest {
    pub(crate) fn to_json(&self) -> String {
        let artifacts: Vec<Value> = self
            .artifacts
            .iter()
            .map(|a| {
                json!({
                    "name": a.name,
                    "kind": "executable-archive",
                    "target": a.target,
                    "size": a.size,
                    "sha256": a.sha256,
                    "binaries": a.binaries,
                    "linkage": a.linkage,
                    "rustc": a.toolchain.rustc,
                    "c_compiler": a.toolchain.c_compiler,
                    "sbom": a.sbom.as_ref().map(|s| json!({
                        "name": s.name, "kind": "sbom", "format": "CycloneDX", "size": s.size, "sha256": s.sha256,
                    })),
                    "packages": a.packages.iter().map(|p| json!({
                        "name": p.name,
                        "kind": if p.name.ends_with(".deb") { "deb" } else { "rpm" },
                        "size": p.size,
                        "sha256": p.sha256,
                    })).collect::<Vec<Value>>(),
                })
            })
            .collect();
        let installers: Vec<Value> = self
            .installers
            .iter()
            .map(|i| json!({ "name": i.name, "kind": "installer", "size": i.size, "sha256": i.sha256 }))
            .collect();
        let doc = json!({
            "app": self.app,
            "version": self.version,
            "source_date_epoch": self.source_date_epoch,
            "commit": self.commit,
            "artifacts": artifacts,
            "installers": installers,
        });
        pretty(&doc)
    }

    pub(crate) fn from_json(text: &str) -> Result<Manifest> {
        let v: Value = serde_json::from_str(text).context("not valid JSON")?;
        let s = string;
        let artifacts = v["artifacts"]
            .as_array()
            .context("missing `artifacts`")?
            .iter()
            .map(|a| {
                Ok(ManifestArtifact {
                    name: s(a, "name")?,
                    target: s(a, "target")?,
                    size: a["size"].as_u64().context("missing `size`")?,
                    sha256: s(a, "sha256")?,
                    binaries: a["binaries"]
                        .as_array()
                        .context("missing `binaries`")?
                        .iter()
                        .filter_map(|b| b.as_str().map(str::to_owned))
                        .collect(),
                    linkage: s(a, "linkage")?,
                    toolchain: Toolchain {
                        rustc: s(a, "rustc")?,
                        c_compiler: a["c_compiler"].as_str().map(str::to_owned),
                    },
                    sbom: match &a["sbom"] {
                        Value::Null => None,
                        sbom => Some(Listed {
                            name: s(sbom, "name")?,
                            size: sbom["size"].as_u64().context("missing sbom `size`")?,
                            sha256: s(sbom, "sha256")?,
                        }),
                    },
                    // Absent from manifests of releases made before packages were.
                    packages: a["packages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| {
                            let name = s(p, "name")?;
                            if !name.ends_with(".deb") && !name.ends_with(".rpm") {
                                bail!("package `{name}` is neither a .deb nor an .rpm");
                            }
                            Ok(Listed {
                                name,
                                size: p["size"].as_u64().context("missing package `size`")?,
                                sha256: s(p, "sha256")?,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let installers = v["installers"]
            .as_array()
            .context("missing `installers`")?
            .iter()
            .map(|i| {
                Ok(ManifestInstaller {
                    name: s(i, "name")?,
                    size: i["size"].as_u64().context("missing `size`")?,
                    sha256: s(i, "sha256")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Manifest {
            app: s(&v, "app")?,
            version: s(&v, "version")?,
            source_date_epoch: v["source_date_epoch"]
                .as_u64()
                .context("missing `source_date_epoch`")?,
            commit: s(&v, "commit")?,
            artifacts,
            installers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let m = Manifest {
            app: "toolbox".into(),
            version: "0.1.0".into(),
            source_date_epoch: 42,
            commit: "0123abc".into(),
            artifacts: vec![ManifestArtifact {
                name: "toolbox-0.1.0-x86_64-unknown-linux-musl.tar.xz".into(),
                target: "x86_64-unknown-linux-musl".into(),
                size: 10,
                sha256: "ab".repeat(32),
                binaries: vec!["toolbox-0.1.0-x86_64-unknown-linux-musl/toolbox".into()],
                linkage: "static-pie".into(),
                toolchain: Toolchain {
                    rustc: "rustc 1.95.0 (59807616e 2026-04-14)".into(),
                    c_compiler: Some("musl-gcc: gcc (Debian 12.2.0-14) 12.2.0".into()),
                },
                sbom: Some(Listed {
                    name: "toolbox-0.1.0-x86_64-unknown-linux-musl.tar.xz.cdx.json".into(),
                    size: 20,
                    sha256: "ef".repeat(32),
                }),
                packages: vec![],
            }],
            installers: vec![ManifestInstaller {
                name: "toolbox-installer.sh".into(),
                size: 3,
                sha256: "cd".repeat(32),
            }],
        };
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
        // A manifest from before SBOMs reads as one without.
        let older = m.to_json().replace("\"sbom\": {", "\"old\": {");
        assert_eq!(Manifest::from_json(&older).unwrap().artifacts[0].sbom, None);
        assert!(Manifest::from_json("{}").is_err());
    }
}
