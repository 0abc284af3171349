//! `cargo xtask try-install`: the release in the release directory installed
//! as a user installs it — with each of its installers this machine can run,
//! downloading from a server on 127.0.0.1 — into a scratch home; the
//! installed binary started; then uninstalled, leaving nothing behind. CI
//! runs it in every build job, so the PowerShell installer and the Homebrew
//! formula run on GitHub's Windows and macOS runners on every pull request.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xtask_inspect::target::{Arch, Os, Target};

use crate::archive::index::Source;
use crate::archive::manifest::Manifest;
use crate::generate::installer;
use crate::model::install;
use crate::project::Project;
use crate::run::exec;
use crate::run::serve;

pub(crate) struct Options {
    /// The release directory (default: the one `dist` writes).
    pub(crate) dir: Option<PathBuf>,
}

const TIMEOUT: Duration = Duration::from_secs(600);
const LIMIT: usize = 1 << 20;

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let dir = options.dir.unwrap_or_else(|| project.dist_dir());
    let release = Source::Dir(dir.clone()).manifest()?;
    let app = project.app();
    let (Some(os), Some(arch)) = (Os::host(), Arch::host()) else {
        bail!("try-install runs on Linux, macOS and Windows");
    };
    let Some(archive) = archive_for(&release, os, arch) else {
        let built: Vec<&str> = release
            .artifacts
            .iter()
            .map(|a| a.target.as_str())
            .collect();
        eprintln!(
            "==> nothing to install here: {} has no archive this machine's installers would pick (it has {})",
            dir.display(),
            built.join(", ")
        );
        return Ok(());
    };
    let url = serve::serve(&dir)?;
    let scratch = project.ws.target_dir.join("try-install");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let env = format!("{}_DOWNLOAD_URL", installer::env_prefix(&app.name));
    let exe = if os == Os::Windows {
        format!("{}.exe", app.main_bin())
    } else {
        app.main_bin().to_owned()
    };
    eprintln!("==> installing {archive} from {url}, as a user would");
    match os {
        Os::Windows => powershell(&dir, &scratch, &app.name, &exe, (&env, &url))?,
        Os::Linux | Os::Macos => {
            shell(&dir, &scratch, &app.name, &exe, (&env, &url))?;
            if os == Os::Macos {
                homebrew(&dir, &app.name, &exe, &url, &release)?;
            }
        }
    }
    let _ = fs::remove_dir_all(&scratch);
    Ok(())
}

/// The archive an installer picks on this machine, if the release has it:
/// the build `install::build_for` gives its system and CPU.
fn archive_for(release: &Manifest, os: Os, arch: Arch) -> Option<String> {
    let built: Vec<(Target, &str)> = release
        .artifacts
        .iter()
        .filter_map(|a| Some((Target::parse(&a.target).ok()?, a.name.as_str())))
        .collect();
    let target = install::build_for(built.iter().map(|(t, _)| t), os, arch)?;
    built
        .iter()
        .find(|(t, _)| t == target)
        .map(|(_, name)| (*name).to_owned())
}

/// Runs `command`, its output shown indented; fails naming `what`.
fn step(what: &str, mut command: Command) -> Result<String> {
    command.stdin(std::process::Stdio::null());
    let out = exec::run(command, TIMEOUT, LIMIT).map_err(|s| anyhow::anyhow!("{what}: {s}"))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in said.lines() {
        eprintln!("    | {line}");
    }
    if !out.status.success() {
        bail!("{what} failed ({})", out.status);
    }
    Ok(said)
}

/// Starts the installed binary once, as its user would first.
fn run_installed(exe: &Path) -> Result<String> {
    let mut run = Command::new(exe);
    run.arg("--version");
    step(&format!("the installed {}", exe.display()), run)
}

/// Every file left below `dir`, relative to it.
fn left_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            found.push(
                path.strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The shell installer, in a HOME of its own, then `--uninstall`.
fn shell(
    dir: &Path,
    scratch: &Path,
    package: &str,
    exe: &str,
    download: (&str, &str),
) -> Result<()> {
    let home = scratch.join("home");
    fs::create_dir_all(&home)?;
    let script = dir.join(format!("{package}-installer.sh"));
    let sh = |args: &[&str]| {
        let mut c = Command::new("sh");
        c.arg(&script)
            .args(args)
            .env("HOME", &home)
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("BASH_COMPLETION_USER_DIR")
            .env_remove(format!("{}_INSTALL_DIR", installer::env_prefix(package)))
            .env(download.0, download.1);
        c
    };
    eprintln!("--> sh {}", script.display());
    step("the shell installer", sh(&[]))?;
    run_installed(&home.join(".local/bin").join(exe))?;
    step("the shell installer's --uninstall", sh(&["--uninstall"]))?;
    let left = left_in(&home);
    if !left.is_empty() {
        bail!(
            "--uninstall left {} in the home it installed into",
            left.join(", ")
        );
    }
    eprintln!("    installed, ran and uninstalled, leaving nothing");
    Ok(())
}

/// The PowerShell installer into a directory of its own, PATH untouched,
/// then `-Uninstall`.
fn powershell(
    dir: &Path,
    scratch: &Path,
    package: &str,
    exe: &str,
    download: (&str, &str),
) -> Result<()> {
    let script = dir.join(format!("{package}-installer.ps1"));
    if !script.is_file() {
        bail!(
            "{} is missing; `cargo xtask dist` writes it for a Windows target",
            script.display()
        );
    }
    let bin = scratch.join("bin");
    let ps = |extra: &[&str]| {
        let mut c = Command::new("powershell");
        c.args([
            "-NoProfile",
            "-NonInteractive",
            "-ExecutionPolicy",
            "Bypass",
            "-File",
        ])
        .arg(&script)
        .arg("-InstallDir")
        .arg(&bin)
        .arg("-NoModifyPath")
        .args(extra)
        .env(download.0, download.1);
        c
    };
    eprintln!("--> powershell -File {}", script.display());
    step("the PowerShell installer", ps(&[]))?;
    run_installed(&bin.join(exe))?;
    step("the PowerShell installer's -Uninstall", ps(&["-Uninstall"]))?;
    if bin.exists() {
        bail!(
            "-Uninstall left {} ({})",
            bin.display(),
            left_in(&bin).join(", ")
        );
    }
    eprintln!("    installed, ran and uninstalled, leaving nothing");
    Ok(())
}

/// The formula, pointed at the local server, in a tap of its own:
/// `brew install`, `brew test`, `brew audit --strict`, then uninstalled and
/// untapped. Skipped, saying so, where Homebrew is not installed.
fn homebrew(dir: &Path, package: &str, exe: &str, url: &str, release: &Manifest) -> Result<()> {
    let formula = dir.join(format!("{package}.rb"));
    if !exec::on_path("brew") {
        eprintln!(
            "--> Homebrew is not installed here: {} not tried",
            formula.display()
        );
        return Ok(());
    }
    let text =
        fs::read_to_string(&formula).with_context(|| format!("reading {}", formula.display()))?;
    // The release is not published yet: its files come from the local server.
    let local = redirect(&text, release, url)?;
    let tap = format!("xtask-try/{}", package.replace(['_', '.'], "-"));
    let brew = |args: &[&str]| {
        let mut c = Command::new("brew");
        c.args(args)
            .env("HOMEBREW_NO_AUTO_UPDATE", "1")
            .env("HOMEBREW_NO_ANALYTICS", "1");
        c
    };
    eprintln!("--> brew install {tap}/{package}");
    step("brew tap-new", brew(&["tap-new", "--no-git", &tap]))?;
    let result = (|| -> Result<()> {
        let repository = step("brew --repository", brew(&["--repository", &tap]))?;
        let formulae = PathBuf::from(repository.trim()).join("Formula");
        fs::create_dir_all(&formulae)?;
        let name = format!("{tap}/{package}");
        // Audited as published, installed from here. Audit is Homebrew's
        // style rules, which change with its releases: a finding is a
        // warning on the run, not a failed build; install and test are not.
        fs::write(formulae.join(format!("{package}.rb")), &text)?;
        let audit = brew(&["audit", "--strict", "--formula", &name]);
        if let Err(err) = step("brew audit --strict", audit) {
            eprintln!("    warning: {err:#}");
            if std::env::var_os("GITHUB_ACTIONS").is_some() {
                println!("::warning title=brew audit::{name}: {err:#}; see the log above");
            }
        }
        fs::write(formulae.join(format!("{package}.rb")), &local)?;
        step("brew install", brew(&["install", "--formula", &name]))?;
        let installed = step("brew --prefix", brew(&["--prefix", &name]))?;
        run_installed(&PathBuf::from(installed.trim()).join("bin").join(exe))?;
        step("brew test", brew(&["test", &name]))?;
        step("brew uninstall", brew(&["uninstall", "--formula", &name]))?;
        Ok(())
    })();
    let _ = step("brew untap", brew(&["untap", &tap]));
    result?;
    eprintln!("    installed, tested, audited and uninstalled");
    Ok(())
}

/// The formula with each archive's URL pointed at `base`.
fn redirect(formula: &str, release: &Manifest, base: &str) -> Result<String> {
    let mut text = String::new();
    let mut pointed = 0;
    for line in formula.split_inclusive('\n') {
        let archive = release.artifacts.iter().find(|a| {
            line.trim_start().starts_with("url \"") && line.contains(&format!("/{}\"", a.name))
        });
        match archive {
            Some(a) => {
                let indent = &line[..line.len() - line.trim_start().len()];
                text.push_str(&format!("{indent}url \"{base}/{}\"\n", a.name));
                pointed += 1;
            }
            None => text.push_str(line),
        }
    }
    if pointed == 0 {
        bail!("the formula names none of the release's archives");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formula_is_pointed_at_the_local_server() {
        let release = Manifest::from_json(
            r#"{"app":"t","version":"1.0.0","source_date_epoch":0,"commit":"c","installers":[],
               "artifacts":[{"name":"t-1.0.0-aarch64-apple-darwin.tar.xz","target":"aarch64-apple-darwin",
               "size":1,"sha256":"a","binaries":[],"linkage":"l","rustc":"r"}]}"#,
        )
        .unwrap();
        let formula = "  on_macos do\n    on_arm do\n      url \"https://github.com/o/t/releases/download/v1.0.0/t-1.0.0-aarch64-apple-darwin.tar.xz\"\n      sha256 \"a\"\n";
        let local = redirect(formula, &release, "http://127.0.0.1:9").unwrap();
        assert!(local.contains(
            "      url \"http://127.0.0.1:9/t-1.0.0-aarch64-apple-darwin.tar.xz\"\n      sha256 \"a\"\n"
        ));
        assert_eq!(
            archive_for(&release, Os::Macos, Arch::Aarch64).as_deref(),
            Some("t-1.0.0-aarch64-apple-darwin.tar.xz")
        );
        assert_eq!(archive_for(&release, Os::Linux, Arch::X86_64), None);
        assert!(redirect("class T\n", &release, "http://x").is_err());
    }
}
