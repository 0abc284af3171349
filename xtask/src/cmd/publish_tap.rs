//! `cargo xtask publish-tap DIR`: the release's Homebrew formula pushed to
//! the tap `homebrew-tap` names, as `Formula/<package>.rb`, through the
//! GitHub contents API with the HOMEBREW_TAP_TOKEN token (runs gh). Without
//! the token, or for a pre-release, it says why and pushes nothing: a fork
//! that has not made its tap yet still publishes its release.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::cmd;

use crate::archive::checksum;
use crate::archive::index::Source;
use crate::model::github;
use crate::project::Project;

pub(crate) struct Options {
    pub(crate) dir: PathBuf,
}

/// The secret the release workflow passes, and where `publish-tap` reads it.
pub(crate) const TOKEN: &str = "HOMEBREW_TAP_TOKEN";

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let Some(tap) = &project.config.homebrew_tap else {
        bail!(
            "dist-workspace.toml names no `homebrew-tap`; set `homebrew-tap = \"owner/homebrew-tap\"` in [dist]"
        );
    };
    let manifest = Source::Dir(options.dir.clone())
        .manifest()
        .context("run `cargo xtask merge` or `dist` first")?;
    let name = format!("{}.rb", manifest.app);
    let Some(listed) = manifest.installers.iter().find(|i| i.name == name) else {
        bail!(
            "{} has no {name}: the release has no macOS or Linux archive, or no repository to download from",
            options.dir.display()
        );
    };
    let path = options.dir.join(&name);
    let formula = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    if checksum::sha256_hex(&formula) != listed.sha256 {
        bail!(
            "{} differs from its manifest; run `cargo xtask verify`",
            path.display()
        );
    }
    if github::is_prerelease(&manifest.version) {
        notice(&format!(
            "{} {} is a pre-release: the formula in {tap} stays at the last release",
            manifest.app, manifest.version
        ));
        return Ok(());
    }
    let token = std::env::var(TOKEN).unwrap_or_default();
    if token.trim().is_empty() {
        notice(&format!(
            "no {TOKEN} secret: {name} was not pushed to {tap}; add a token that may write to {tap}'s contents as the repository secret {TOKEN}"
        ));
        return Ok(());
    }
    let sh = &project.sh;
    let _token = sh.push_env("GH_TOKEN", token.trim());
    let api = format!("repos/{tap}/contents/Formula/{name}");
    // The file's blob id, which the API needs to replace it; none for a new one.
    let existing = cmd!(sh, "gh api {api} --jq .sha")
        .quiet()
        .ignore_status()
        .output()
        .context("running `gh api` (is the GitHub CLI installed?)")?;
    let sha = String::from_utf8_lossy(&existing.stdout).trim().to_owned();
    let message = format!("{} {}", manifest.app, manifest.version);
    let content = base64(&formula);
    let mut fields = vec![
        "-f".to_owned(),
        format!("message={message}"),
        "-f".to_owned(),
        format!("content={content}"),
    ];
    if existing.status.success() && !sha.is_empty() {
        fields.extend(["-f".to_owned(), format!("sha={sha}")]);
    }
    cmd!(sh, "gh api --method PUT {api} {fields...} --silent")
        .quiet()
        .run()
        .with_context(|| {
            format!("pushing {name} to {tap} failed; does {TOKEN} allow writing its contents?")
        })?;
    eprintln!(
        "    pushed {name} ({message}) to {tap}: `brew install {}/{}`",
        tap_user(tap),
        manifest.app
    );
    Ok(())
}

/// A notice in the workflow run's summary, and on stderr.
fn notice(text: &str) {
    eprintln!("    {text}");
    if std::env::var_os("GITHUB_ACTIONS").is_some() {
        println!("::notice title=Homebrew tap::{text}");
    }
}

/// How `brew` names a tap: `owner/homebrew-tap` is `owner/tap`.
fn tap_user(tap: &str) -> String {
    match tap.split_once('/') {
        Some((owner, repo)) => {
            format!("{owner}/{}", repo.strip_prefix("homebrew-").unwrap_or(repo))
        }
        None => tap.to_owned(),
    }
}

/// Standard base64 with padding, as the contents API takes a file.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_rfc_4648_gives_it() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), encoded, "{raw}");
        }
        assert_eq!(tap_user("you/homebrew-tap"), "you/tap");
        assert_eq!(tap_user("you/formulae"), "you/formulae");
    }
}
