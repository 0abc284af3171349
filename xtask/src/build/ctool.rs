//! A C compiler for musl targets, for build scripts that compile C (through
//! the `cc` crate): Debian's musl-gcc for x86_64, else zig for any CPU: the
//! pinned zig `build::zig` fetches (when a build finds no compiler), else a
//! `zig` on PATH. It reaches the build through CC_<target>, AR_<target> and
//! CFLAGS_<target>, for that cargo invocation only. Pure-Rust apps never
//! call it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::build::zig;
use crate::model::config::CCompiler;
use crate::model::workspace::{Package, Workspace};
use crate::run::exec::on_path;
use xtask_inspect::target::{Arch, Target};

/// How zig is started here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Zig {
    /// `zig` on PATH.
    Binary,
    /// The zig this xtask pins, in the user's cache (`build::zig`). Python's
    /// `ziglang` is not looked for: its version is whatever pip installed,
    /// and starting Python (through pyenv's shims, 0.3 s here) on every
    /// no-op `dist` cost more than the pinned zig's one download.
    Pinned,
}

/// The C compilers this machine has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Available {
    pub(crate) musl_gcc: bool,
    pub(crate) zig: Option<Zig>,
}

impl Available {
    pub(crate) fn probe() -> Available {
        // The pinned zig first: a rebuild elsewhere then gets the same C compiler.
        let zig = if zig::installed().is_some() {
            Some(Zig::Pinned)
        } else if on_path("zig") {
            Some(Zig::Binary)
        } else {
            None
        };
        Available {
            musl_gcc: on_path("musl-gcc"),
            zig,
        }
    }
}

/// How the C compiler of each of an app's builds is chosen.
pub(crate) struct Choice {
    setting: CCompiler,
    available: Available,
}

impl Choice {
    /// An app whose Cargo.lock graph has no `cc` or `cmake` compiles no C:
    /// it gets no compiler, and none is probed for.
    pub(crate) fn for_app(ws: &Workspace, app: &Package, setting: &CCompiler) -> Choice {
        if crate::project::workspace::may_compile_c(ws, app) {
            Choice {
                setting: setting.clone(),
                available: Available::probe(),
            }
        } else {
            Choice {
                setting: CCompiler::None,
                available: Available::default(),
            }
        }
    }

    /// The compiler `target`'s build gets; an error is the configuration's.
    pub(crate) fn compiler(&self, target: &Target) -> Result<Option<Compiler>> {
        choose(&self.setting, target, &self.available)
    }

    /// Makes `compiler` ready to run: the pinned zig is fetched when the
    /// setting asks for zig and the machine had none.
    pub(crate) fn prepare(&mut self, compiler: Option<&Compiler>, target: &Target) -> Result<()> {
        if compiler == Some(&Compiler::Zig(Zig::Pinned)) && zig::installed().is_none() {
            self.fetched(&format!("`c-compiler = \"zig\"` for {}", target.triple))?;
        }
        Ok(())
    }

    /// After a build that had no C compiler failed: the compiler to build
    /// again with, when the build failed for want of one and the setting lets
    /// `dist` fetch zig (`auto`). Fetching only on that failure costs nothing
    /// to the many apps whose Cargo.lock names `cc` for other platforms only.
    pub(crate) fn after_failure(&mut self, failure: &anyhow::Error) -> Result<Option<Compiler>> {
        let Some(missing) = failure.downcast_ref::<MissingCCompiler>() else {
            return Ok(None);
        };
        if self.setting != CCompiler::Auto || self.available.zig == Some(Zig::Pinned) {
            return Ok(None);
        }
        let why = format!(
            "{} compiles C for {}, and this machine has no C compiler for it",
            missing.krate, missing.triple
        );
        self.fetched(&why)?;
        Ok(Some(Compiler::Zig(Zig::Pinned)))
    }

    fn fetched(&mut self, why: &str) -> Result<()> {
        zig::ensure(why)?;
        self.available.zig = Some(Zig::Pinned);
        Ok(())
    }
}

/// The compiler a build gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Compiler {
    MuslGcc,
    Zig(Zig),
    Path(PathBuf),
}

impl Compiler {
    pub(crate) fn describe(&self) -> String {
        match self {
            Compiler::MuslGcc => "musl-gcc".into(),
            Compiler::Zig(Zig::Binary) => "zig cc".into(),
            Compiler::Zig(Zig::Pinned) => "zig cc (pinned, fetched by cargo xtask)".into(),
            Compiler::Path(p) => p.display().to_string(),
        }
    }

    /// `describe()` with the first line the compiler gives of its version
    /// (runs it), for the manifest: a rebuild with another C compiler is not
    /// expected to give the same bytes.
    pub(crate) fn describe_versioned(&self) -> String {
        let mut command = match self {
            Compiler::MuslGcc => Command::new("musl-gcc"),
            Compiler::Zig(Zig::Binary) => Command::new("zig"),
            Compiler::Zig(Zig::Pinned) => Command::new(zig::installed().unwrap_or_default()),
            Compiler::Path(p) => Command::new(p),
        };
        let version_arg = match self {
            Compiler::Zig(_) => "version",
            _ => "--version",
        };
        let first_line = command
            .arg(version_arg)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.lines().next().map(|l| l.trim().to_owned())
            })
            .filter(|l| !l.is_empty());
        match first_line {
            Some(version) => format!("{}: {version}", self.describe()),
            None => format!("{} (version unknown)", self.describe()),
        }
    }
}

/// How to get a C compiler, for error messages.
pub(crate) const INSTALL_HINT: &str = "`apt-get install musl-tools` (musl-gcc, x86_64 only) or zig on PATH \
     (every target), or leave `c-compiler` at \"auto\", which fetches a pinned zig";

/// Which compiler `target` gets under `setting`; `None` leaves the
/// environment alone (the build may not compile C at all).
pub(crate) fn choose(
    setting: &CCompiler,
    target: &Target,
    available: &Available,
) -> Result<Option<Compiler>> {
    if !target.is_musl() {
        return Ok(None);
    }
    let triple = target.triple;
    match setting {
        CCompiler::None => Ok(None),
        CCompiler::Path(path) => Ok(Some(Compiler::Path(path.clone()))),
        CCompiler::MuslGcc if target.arch != Arch::X86_64 => bail!(
            "`[dist].c-compiler = \"musl-gcc\"`: Debian's musl-gcc compiles for x86_64 only, not {triple}; \
             use \"zig\" or \"auto\""
        ),
        CCompiler::MuslGcc if !available.musl_gcc => {
            bail!(
                "`[dist].c-compiler = \"musl-gcc\"`, but musl-gcc is not installed: `apt-get install musl-tools`"
            )
        }
        CCompiler::MuslGcc => Ok(Some(Compiler::MuslGcc)),
        // No zig here: the pinned one, which `Choice::compiler` fetches.
        CCompiler::Zig => Ok(Some(Compiler::Zig(
            available.zig.clone().unwrap_or(Zig::Pinned),
        ))),
        CCompiler::Auto => Ok(if target.arch == Arch::X86_64 && available.musl_gcc {
            Some(Compiler::MuslGcc)
        } else {
            available.zig.clone().map(Compiler::Zig)
        }),
    }
}

/// Flags zig always gets. `zig cc` compiles unoptimised C (`-O0`, as
/// aws-lc-sys builds jitterentropy) with UBSan checks whose runtime only
/// zig's own linker adds; rust-lld links our binaries, so they would stay
/// undefined (`__ubsan_handle_out_of_bounds`). Flags the build passes later
/// on the command line still win.
const ZIG_FLAGS: &str = "-fno-sanitize=undefined";

/// zig's name for a musl target.
fn zig_target(target: &Target) -> &'static str {
    match target.arch {
        Arch::X86_64 => "x86_64-linux-musl",
        Arch::Aarch64 => "aarch64-linux-musl",
        Arch::I686 => "x86-linux-musl",
        Arch::Armv7 => "arm-linux-musleabihf",
        Arch::Riscv64 => "riscv64-linux-musl",
    }
}

/// The environment that hands `compiler` to the `cc` crate for `target`.
/// zig needs small wrapper scripts (written to `wrapper_dir`); `remaps`
/// become `-ffile-prefix-map` so no build path reaches the binary.
pub(crate) fn env(
    compiler: &Compiler,
    target: &Target,
    wrapper_dir: &Path,
    remaps: &[(PathBuf, &str)],
) -> Result<Vec<(String, String)>> {
    let key = target.triple.replace('-', "_");
    let (cc, ar, cxx) = match compiler {
        Compiler::MuslGcc => ("musl-gcc".to_owned(), "ar".to_owned(), None),
        Compiler::Path(path) => (path.display().to_string(), "ar".to_owned(), None),
        Compiler::Zig(zig) => {
            let zig = match zig {
                Zig::Binary => "zig".to_owned(),
                Zig::Pinned => {
                    let exe = zig::installed().context("the pinned zig is not fetched")?;
                    shell_quote(&exe.to_string_lossy())
                }
            };
            let zig_target = zig_target(target);
            let cc = write_wrapper(
                wrapper_dir,
                &format!("cc-{}", target.triple),
                &format!("{zig} cc -target {zig_target} {ZIG_FLAGS}"),
            )?;
            let cxx = write_wrapper(
                wrapper_dir,
                &format!("c++-{}", target.triple),
                &format!("{zig} c++ -target {zig_target} {ZIG_FLAGS}"),
            )?;
            let ar = write_wrapper(wrapper_dir, "ar", &format!("{zig} ar"))?;
            (cc, ar, Some(cxx))
        }
    };
    // Most specific last: compilers apply the last matching prefix map.
    let mut flags: Vec<String> = remaps
        .iter()
        .map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display()))
        .collect();
    // The user's own flags come first; ours only add the remapping.
    let user = std::env::var(format!("CFLAGS_{key}"))
        .or_else(|_| std::env::var("CFLAGS"))
        .unwrap_or_default();
    if !user.trim().is_empty() {
        flags.insert(0, user.trim().to_owned());
    }
    let flags = flags.join(" ");
    let mut env = vec![
        (format!("CC_{key}"), cc),
        (format!("AR_{key}"), ar),
        (format!("CFLAGS_{key}"), flags.clone()),
        (format!("CXXFLAGS_{key}"), flags),
    ];
    if let Some(cxx) = cxx {
        env.push((format!("CXX_{key}"), cxx));
    }
    Ok(env)
}

/// `text` as one word for sh.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A `#!/bin/sh` script running `command` with the caller's arguments, minus
/// the clang-style `--target=<rust triple>` the cc crate adds, which zig
/// does not understand (it has its own `-target` above).
fn write_wrapper(dir: &Path, name: &str, command: &str) -> Result<String> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("zig-{name}"));
    let script = format!(
        "#!/bin/sh\n# Written by `cargo xtask dist`: zig as the C toolchain of a musl build.\n\
         for arg do\n    shift\n    case \"$arg\" in\n        --target=*) ;;\n        *) set -- \"$@\" \"$arg\" ;;\n    esac\ndone\n\
         exec {command} \"$@\"\n"
    );
    crate::archive::atomic::write(&path, script.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(path.display().to_string())
}

/// A build script found no C compiler for the target: the cc crate's
/// "failed to find tool". `Choice::after_failure` may answer it by
/// fetching zig; else it is the one line the user sees.
#[derive(Debug)]
pub(crate) struct MissingCCompiler {
    /// The crate whose build script failed, with its version.
    pub(crate) krate: String,
    pub(crate) triple: String,
    /// Cargo's full output.
    pub(crate) log: PathBuf,
}

impl std::fmt::Display for MissingCCompiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} compiles C code for {}, and there is no C compiler for that target here. \
             Install one: {}; or name one with `c-compiler` in dist-workspace.toml (cargo's full output: {})",
            self.krate,
            self.triple,
            INSTALL_HINT,
            self.log.display()
        )
    }
}

impl std::error::Error for MissingCCompiler {}

/// The crate whose build script failed, when it failed for want of a C
/// compiler: cargo's `failed to run custom build command for `<crate>``
/// block holding the cc crate's "failed to find tool".
pub(crate) fn missing_compiler(cargo_stderr: &str) -> Option<String> {
    let lower = cargo_stderr.to_lowercase();
    if !lower.contains("failed to find tool") {
        return None;
    }
    let marker = "failed to run custom build command for `";
    let start = cargo_stderr.find(marker)? + marker.len();
    let name = &cargo_stderr[start..];
    Some(name[..name.find('`')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(triple: &str) -> Target {
        Target::parse(triple).unwrap()
    }

    #[test]
    fn auto_prefers_musl_gcc_for_x86_64_and_zig_elsewhere() {
        let both = Available {
            musl_gcc: true,
            zig: Some(Zig::Pinned),
        };
        let x86 = t("x86_64-unknown-linux-musl");
        let arm = t("aarch64-unknown-linux-musl");
        assert_eq!(
            choose(&CCompiler::Auto, &x86, &both).unwrap(),
            Some(Compiler::MuslGcc)
        );
        assert_eq!(
            choose(&CCompiler::Auto, &arm, &both).unwrap(),
            Some(Compiler::Zig(Zig::Pinned))
        );
        let none = Available::default();
        assert_eq!(
            choose(&CCompiler::Auto, &arm, &none).unwrap(),
            None,
            "pure Rust needs no compiler"
        );
        assert_eq!(
            choose(&CCompiler::Auto, &t("x86_64-pc-windows-msvc"), &both).unwrap(),
            None
        );
    }

    #[test]
    fn explicit_choices_are_checked() {
        let none = Available::default();
        let arm = t("aarch64-unknown-linux-musl");
        let err = choose(&CCompiler::MuslGcc, &arm, &none)
            .unwrap_err()
            .to_string();
        assert!(err.contains("x86_64 only"), "{err}");
        assert_eq!(
            choose(&CCompiler::Zig, &arm, &none).unwrap(),
            Some(Compiler::Zig(Zig::Pinned)),
            "no zig here: the pinned one, fetched before the build"
        );
        assert_eq!(
            choose(
                &CCompiler::None,
                &arm,
                &Available {
                    musl_gcc: true,
                    zig: Some(Zig::Binary)
                }
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn only_a_missing_compiler_under_auto_is_answered_by_fetching() {
        let missing: anyhow::Error = MissingCCompiler {
            krate: "libmimalloc-sys v0.1.49".into(),
            triple: "x86_64-unknown-linux-musl".into(),
            log: PathBuf::from("/t/cargo.log"),
        }
        .into();
        let text = missing.to_string();
        for part in [
            "libmimalloc-sys v0.1.49 compiles C code for x86_64-unknown-linux-musl",
            "zig on PATH",
            "\"auto\", which fetches a pinned zig",
            "/t/cargo.log",
        ] {
            assert!(text.contains(part), "`{part}` missing from: {text}");
        }
        let other = anyhow::anyhow!("error[E0308]: mismatched types");
        // Neither asks for a fetch, so neither touches the network.
        for setting in [
            CCompiler::None,
            CCompiler::MuslGcc,
            CCompiler::Path("/cc".into()),
        ] {
            let mut choice = Choice {
                setting,
                available: Available::default(),
            };
            assert_eq!(choice.after_failure(&missing).unwrap(), None);
        }
        let mut auto = Choice {
            setting: CCompiler::Auto,
            available: Available::default(),
        };
        assert_eq!(auto.after_failure(&other).unwrap(), None);
        // Already built with the pinned zig: fetching again would not help.
        auto.available.zig = Some(Zig::Pinned);
        assert_eq!(auto.after_failure(&missing).unwrap(), None);
    }

    #[test]
    fn zig_gets_wrappers_and_every_compiler_the_path_remaps() {
        let dir = std::env::temp_dir().join(format!("xtask-ctool-{}", std::process::id()));
        let remaps = [
            (PathBuf::from("/home/me/ws"), "/workspace"),
            (PathBuf::from("/home/me/.cargo"), "/cargo"),
        ];
        let vars = env(
            &Compiler::Zig(Zig::Binary),
            &t("aarch64-unknown-linux-musl"),
            &dir,
            &remaps,
        )
        .unwrap();
        let get = |k: &str| {
            vars.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let cc = get("CC_aarch64_unknown_linux_musl");
        let script = fs::read_to_string(&cc).unwrap();
        assert!(
            script
                .contains("exec zig cc -target aarch64-linux-musl -fno-sanitize=undefined \"$@\""),
            "{script}"
        );
        assert!(script.contains("--target=*) ;;"), "{script}");
        let flags = get("CFLAGS_aarch64_unknown_linux_musl");
        assert!(flags.ends_with(
            "-ffile-prefix-map=/home/me/ws=/workspace -ffile-prefix-map=/home/me/.cargo=/cargo"
        ));
        let vars = env(
            &Compiler::MuslGcc,
            &t("x86_64-unknown-linux-musl"),
            &dir,
            &remaps,
        )
        .unwrap();
        assert!(vars.contains(&("CC_x86_64_unknown_linux_musl".into(), "musl-gcc".into())));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_compiler_is_recognised_and_the_crate_named() {
        let stderr = "   Compiling zstd-sys v2.0.16+zstd.1.5.7\nerror: failed to run custom build command for `zstd-sys v2.0.16+zstd.1.5.7`\n\nCaused by:\n  process didn't exit successfully\n  --- stderr\n\n  error occurred in cc-rs: failed to find tool \"x86_64-linux-musl-gcc\": No such file or directory (os error 2)\n";
        assert_eq!(
            missing_compiler(stderr).as_deref(),
            Some("zstd-sys v2.0.16+zstd.1.5.7")
        );
        assert_eq!(missing_compiler("error[E0308]: mismatched types"), None);
    }
}
