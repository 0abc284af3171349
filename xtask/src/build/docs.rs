//! `[dist.docs]`: files an archive carries that the built binary writes on
//! its standard output — shell completions, man pages — the way ripgrep's
//! releases get theirs from `rg --generate …`. Each archive's files come
//! from its own binary, run natively or under qemu-user for another CPU, so
//! any app can have them, with clap or without (runs the binary).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::archive::package::ArchiveFile;
use crate::model::plan::DocFile;
use crate::run::exec;
use crate::run::launch::Launch;

const TIMEOUT: Duration = Duration::from_secs(120);
const LIMIT: usize = 64 << 20;

/// Runs `exe_of(bin) args` for each doc file, in `scratch` (an empty
/// directory, also its HOME), and returns the files with their output.
pub(crate) fn generate(
    docs: &[DocFile],
    exe_of: impl Fn(&str) -> Option<PathBuf>,
    launch: &Launch,
    scratch: &Path,
    source_date_epoch: u64,
) -> Result<Vec<ArchiveFile>> {
    let mut files = Vec::new();
    for doc in docs {
        let Some(exe) = exe_of(&doc.bin) else {
            bail!(
                "[dist.docs] `{}`: binary `{}` was not built",
                doc.path,
                doc.bin
            );
        };
        let shown = format!("`{} {}`", doc.bin, doc.args.join(" "));
        let command = command(launch, &exe, &doc.args, scratch, source_date_epoch)?;
        let out = match exec::run(command, TIMEOUT, LIMIT) {
            Ok(out) => out,
            Err(stopped) => bail!("[dist.docs] `{}`: {shown} failed: {stopped}", doc.path),
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message");
            bail!(
                "[dist.docs] `{}`: {shown} exited with {} ({first}); does the binary accept these arguments?",
                doc.path,
                out.status
            );
        }
        if out.stdout.is_empty() {
            bail!(
                "[dist.docs] `{}`: {shown} printed nothing on stdout",
                doc.path
            );
        }
        files.push(ArchiveFile {
            path: doc.path.clone(),
            data: out.stdout,
            executable: false,
        });
    }
    Ok(files)
}

/// A digest of everything the doc files are made from: the commands, the
/// bytes of the binaries they run, how they are run and the date.
pub(crate) fn inputs_key(
    docs: &[DocFile],
    exe_of: &impl Fn(&str) -> Option<PathBuf>,
    launch: &Launch,
    source_date_epoch: u64,
) -> Result<String> {
    let how = match launch {
        Launch::Native => "native",
        Launch::Qemu(_) => "qemu",
        Launch::Wine(_) => "wine",
    };
    let mut text = format!("xtask-docs-v1 {how} {source_date_epoch}\n");
    for doc in docs {
        let exe = exe_of(&doc.bin)
            .map(|p| std::fs::read(&p).with_context(|| format!("reading {}", p.display())));
        let sha = match exe.transpose()? {
            Some(bytes) => crate::archive::checksum::sha256_hex(&bytes),
            None => "missing".to_owned(),
        };
        text.push_str(&format!(
            "{}\0{}\0{}\0{sha}\n",
            doc.path,
            doc.bin,
            doc.args.join("\0")
        ));
    }
    Ok(crate::archive::checksum::sha256_hex(text.as_bytes()))
}

/// The files `store` left in `dir` for `key`, if it did.
pub(crate) fn cached(dir: &Path, key: &str, docs: &[DocFile]) -> Option<Vec<ArchiveFile>> {
    if std::fs::read_to_string(dir.join("key")).ok()?.trim() != key {
        return None;
    }
    docs.iter()
        .map(|doc| {
            let data = std::fs::read(dir.join("files").join(&doc.path)).ok()?;
            Some(ArchiveFile {
                path: doc.path.clone(),
                data,
                executable: false,
            })
        })
        .collect()
}

/// Keeps `files` in `dir` for `key`; the key is written last, so an
/// interrupted run leaves nothing that passes for a finished one.
pub(crate) fn store(dir: &Path, key: &str, files: &[ArchiveFile]) -> Result<()> {
    for file in files {
        let path = dir.join("files").join(&file.path);
        let parent = path.parent().expect("below files/");
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        crate::archive::atomic::write(&path, &file.data)?;
    }
    crate::archive::atomic::write(&dir.join("key"), key.as_bytes())
}

/// The binary in a fixed, small environment, so the files depend on the
/// sources alone: no locale, terminal, colour or home of the build machine.
fn command(
    launch: &Launch,
    exe: &Path,
    args: &[String],
    scratch: &Path,
    sde: u64,
) -> Result<Command> {
    let mut command = match launch {
        Launch::Wine(_) => bail!(
            "[dist.docs]: wine runs Windows programs in verify's sandbox only; the files come from a build for this machine"
        ),
        Launch::Native => Command::new(exe),
        Launch::Qemu(qemu) => {
            let mut c = Command::new(qemu);
            // -L: the emulated program's loader and libraries would be looked up
            // here; a static binary needs none, so an empty directory does.
            c.arg("-L").arg(scratch).arg(exe);
            c
        }
    };
    command.args(args).current_dir(scratch).env_clear();
    for keep in ["PATH", "SYSTEMROOT", "SystemRoot", "WINDIR", "TEMP", "TMP"] {
        if let Some(value) = std::env::var_os(keep) {
            command.env(keep, value);
        }
    }
    command
        .env("HOME", scratch)
        .env("SOURCE_DATE_EPOCH", sde.to_string())
        .env("LC_ALL", "C")
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80");
    Ok(command)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::run::exec::find_on_path;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-docs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn doc(path: &str, args: &[&str]) -> DocFile {
        DocFile {
            path: path.into(),
            bin: "sh".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn each_file_is_the_binary_s_output_in_a_fixed_environment() {
        let dir = scratch("ok");
        let docs = [
            doc(
                "complete/x.bash",
                &["-c", "echo complete $SOURCE_DATE_EPOCH $LC_ALL"],
            ),
            doc("doc/x.1", &["-c", "pwd; echo ${CARGO_HOME:-unset}"]),
        ];
        let sh = find_on_path("sh").unwrap();
        let files = generate(&docs, |_| Some(sh.clone()), &Launch::Native, &dir, 42).unwrap();
        assert_eq!(files[0].path, "complete/x.bash");
        assert_eq!(files[0].data, b"complete 42 C\n");
        let real = dir.canonicalize().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&files[1].data),
            format!("{}\nunset\n", real.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_or_silent_command_names_the_file_and_the_arguments() {
        let dir = scratch("bad");
        let sh = find_on_path("sh").unwrap();
        let exe = |_: &str| Some(sh.clone());
        let err = generate(
            &[doc("doc/x.1", &["-c", "echo nope >&2; exit 3"])],
            exe,
            &Launch::Native,
            &dir,
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`doc/x.1`") && err.contains("exited with") && err.contains("(nope)"),
            "{err}"
        );
        let err = generate(
            &[doc("doc/x.1", &["-c", "true"])],
            exe,
            &Launch::Native,
            &dir,
            0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("printed nothing"), "{err}");
        let err = generate(&[doc("doc/x.1", &[])], |_| None, &Launch::Native, &dir, 0).unwrap_err();
        assert!(
            err.to_string().contains("binary `sh` was not built"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
