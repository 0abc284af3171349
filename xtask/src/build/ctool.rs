//! A C compiler for musl targets, for build scripts that compile C (through
//! the `cc` crate). By default one compiler for every musl target on every
//! machine: the zig `build::zig` pins, fetched the first time a build
//! script asks for it. The machine's own compilers (musl-gcc, a zig on
//! PATH, `x86_64-linux-musl-gcc`) are never picked up by themselves, so a
//! release's bytes do not depend on what the builder has installed; musl-gcc
//! or a path are explicit choices. The compiler reaches the build through
//! CC_<target>, AR_<target> and CFLAGS_<target>, for that cargo invocation
//! only. Pure-Rust apps never call it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::build::needs::Need;
use crate::build::zig;
use crate::model::config::CCompiler;
use crate::model::workspace::{Package, Workspace};
use crate::run::exec::on_path;
use xtask_inspect::target::{Arch, Target};

/// How the C compiler of each of an app's builds is chosen.
pub(crate) struct Choice {
    setting: CCompiler,
}

impl Choice {
    /// An app whose Cargo.lock graph has no `cc` or `cmake` compiles no C:
    /// it gets no compiler.
    pub(crate) fn for_app(ws: &Workspace, app: &Package, setting: &CCompiler) -> Choice {
        let compiles_c = crate::project::workspace::may_compile_c(ws, app);
        Choice {
            setting: if compiles_c {
                setting.clone()
            } else {
                CCompiler::None
            },
        }
    }

    /// The compiler `target`'s build gets; an error is the configuration's.
    pub(crate) fn compiler(&self, target: &Target) -> Result<Option<Compiler>> {
        choose(&self.setting, target, on_path("musl-gcc"))
    }

    /// Makes `compiler` ready to run before the build: `c-compiler = "zig"`
    /// fetches the pinned zig now; `auto` waits until a build script asks.
    pub(crate) fn prepare(&self, compiler: Option<&Compiler>, target: &Target) -> Result<()> {
        if self.setting == CCompiler::Zig && compiler == Some(&Compiler::PinnedZig) {
            zig::ensure(&format!("`c-compiler = \"zig\"` for {}", target.triple))?;
        }
        Ok(())
    }

    /// After a failed build: whether to build again, because the build
    /// script found the pinned zig not fetched yet (the cc crate's "failed
    /// to find tool" for the wrapper `env` names) and it now is. Fetching
    /// only then costs nothing to the many apps whose Cargo.lock names `cc`
    /// for other platforms only.
    pub(crate) fn after_failure(
        &self,
        compiler: Option<&Compiler>,
        failure: &anyhow::Error,
    ) -> Result<bool> {
        let Some(missing) = failure.downcast_ref::<MissingCCompiler>() else {
            return Ok(false);
        };
        if compiler != Some(&Compiler::PinnedZig) || zig::installed().is_some() {
            return Ok(false);
        }
        zig::ensure(&format!(
            "{} compiles C for {}",
            missing.krate, missing.triple
        ))?;
        Ok(true)
    }
}

/// The compiler a build gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Compiler {
    /// The zig `build::zig` pins, for every CPU: the default.
    PinnedZig,
    /// A zig of the user's (`c-compiler = "/opt/zig/zig"`).
    Zig(PathBuf),
    MuslGcc,
    Path(PathBuf),
}

impl Compiler {
    pub(crate) fn describe(&self) -> String {
        match self {
            Compiler::PinnedZig => "pinned zig (fetched by cargo xtask)".into(),
            Compiler::Zig(p) => format!("zig cc ({})", p.display()),
            Compiler::MuslGcc => "musl-gcc".into(),
            Compiler::Path(p) => p.display().to_string(),
        }
    }

    /// Whether it can run now: the pinned zig may not be fetched yet, and
    /// then a build that succeeded compiled no C.
    pub(crate) fn is_ready(&self) -> bool {
        *self != Compiler::PinnedZig || zig::installed().is_some()
    }

    /// `describe()` with the first line the compiler gives of its version
    /// (runs it), for the manifest: a rebuild with another C compiler is not
    /// expected to give the same bytes.
    pub(crate) fn describe_versioned(&self) -> String {
        let (mut command, version_arg) = match self {
            Compiler::PinnedZig => (
                Command::new(zig::installed().unwrap_or_default()),
                "version",
            ),
            Compiler::Zig(p) => (Command::new(p), "version"),
            Compiler::MuslGcc => (Command::new("musl-gcc"), "--version"),
            Compiler::Path(p) => (Command::new(p), "--version"),
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
pub(crate) const INSTALL_HINT: &str = "leave `c-compiler` at \"auto\", which fetches a pinned zig, \
     or name a compiler for the target (a path, or \"musl-gcc\" from `apt-get install musl-tools`, x86_64 only)";

/// Which compiler `target` gets under `setting`; `None` leaves the
/// environment alone (the build may not compile C at all).
pub(crate) fn choose(
    setting: &CCompiler,
    target: &Target,
    musl_gcc_installed: bool,
) -> Result<Option<Compiler>> {
    if !target.is_musl() {
        return Ok(None);
    }
    let triple = target.triple;
    match setting {
        CCompiler::None => Ok(None),
        CCompiler::Auto | CCompiler::Zig => Ok(Some(Compiler::PinnedZig)),
        // A zig is told the target on its command line, as the pinned one is.
        CCompiler::Path(path) if path.file_name().is_some_and(|n| n == "zig") => {
            Ok(Some(Compiler::Zig(path.clone())))
        }
        CCompiler::Path(path) => Ok(Some(Compiler::Path(path.clone()))),
        CCompiler::MuslGcc if target.arch != Arch::X86_64 => bail!(
            "`[dist].c-compiler = \"musl-gcc\"`: Debian's musl-gcc compiles for x86_64 only, not {triple}; \
             use \"auto\" (the pinned zig)"
        ),
        CCompiler::MuslGcc if !musl_gcc_installed => {
            bail!(
                "`[dist].c-compiler = \"musl-gcc\"`, but musl-gcc is not installed: `apt-get install musl-tools`, \
                 or use \"auto\" (the pinned zig)"
            )
        }
        CCompiler::MuslGcc => Ok(Some(Compiler::MuslGcc)),
    }
}

/// The compiler `cargo xtask dist` will give build scripts under `setting`
/// (as [`choose`] gives it): what `setup` installs.
pub(crate) fn needs(target: &Target, setting: &CCompiler) -> Vec<Need> {
    let why = format!("a build script compiles C for {}", target.triple);
    match setting {
        CCompiler::Auto | CCompiler::Zig => vec![Need::Zig { why }],
        CCompiler::MuslGcc => vec![Need::Program {
            program: "musl-gcc",
            package: "musl-tools",
            why,
        }],
        CCompiler::None | CCompiler::Path(_) => vec![],
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
        Arch::Powerpc64le => "powerpc64le-linux-musl",
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
    env_with(compiler, zig::installed(), target, wrapper_dir, remaps)
}

/// [`env`], given where the pinned zig is (`None`: not fetched yet).
fn env_with(
    compiler: &Compiler,
    pinned: Option<PathBuf>,
    target: &Target,
    wrapper_dir: &Path,
    remaps: &[(PathBuf, &str)],
) -> Result<Vec<(String, String)>> {
    let key = target.triple.replace('-', "_");
    let (cc, ar, cxx) = match compiler {
        Compiler::MuslGcc => ("musl-gcc".to_owned(), "ar".to_owned(), None),
        Compiler::Path(path) => (path.display().to_string(), "ar".to_owned(), None),
        Compiler::PinnedZig => match pinned {
            Some(exe) => zig_wrappers(wrapper_dir, target, &exe)?,
            // Not fetched yet: the wrappers' paths, with no file there, so a
            // build script that compiles C fails with the cc crate's "failed
            // to find tool" (`after_failure` fetches zig then), and none
            // falls back to a compiler this machine happens to have.
            None => {
                let paths = wrapper_paths(wrapper_dir, target);
                for path in [&paths.0, &paths.1, &paths.2] {
                    let _ = fs::remove_file(path);
                }
                let show = |p: &Path| p.display().to_string();
                (show(&paths.0), show(&paths.1), Some(show(&paths.2)))
            }
        },
        Compiler::Zig(exe) => zig_wrappers(wrapper_dir, target, exe)?,
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

/// Where the zig wrappers of `target` live: cc, ar, c++.
fn wrapper_paths(dir: &Path, target: &Target) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join(format!("zig-cc-{}", target.triple)),
        dir.join("zig-ar"),
        dir.join(format!("zig-c++-{}", target.triple)),
    )
}

/// Writes the wrapper scripts that run `zig` as `target`'s C toolchain.
fn zig_wrappers(
    dir: &Path,
    target: &Target,
    zig: &Path,
) -> Result<(String, String, Option<String>)> {
    let zig = shell_quote(&zig.to_string_lossy());
    let zig_target = zig_target(target);
    let (cc, ar, cxx) = wrapper_paths(dir, target);
    write_wrapper(&cc, &format!("{zig} cc -target {zig_target} {ZIG_FLAGS}"))?;
    write_wrapper(&cxx, &format!("{zig} c++ -target {zig_target} {ZIG_FLAGS}"))?;
    write_wrapper(&ar, &format!("{zig} ar"))?;
    let show = |p: PathBuf| p.display().to_string();
    Ok((show(cc), show(ar), Some(show(cxx))))
}

/// A `#!/bin/sh` script at `path` running `command` with the caller's
/// arguments, minus the clang-style `--target=<rust triple>` the cc crate
/// adds, which zig does not understand (it has its own `-target` above).
fn write_wrapper(path: &Path, command: &str) -> Result<()> {
    let dir = path.parent().context("a wrapper path has a directory")?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let script = format!(
        "#!/bin/sh\n# Written by `cargo xtask dist`: zig as the C toolchain of a musl build.\n\
         for arg do\n    shift\n    case \"$arg\" in\n        --target=*) ;;\n        *) set -- \"$@\" \"$arg\" ;;\n    esac\ndone\n\
         exec {command} \"$@\"\n"
    );
    crate::archive::atomic::write(path, script.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(triple: &str) -> Target {
        Target::parse(triple).unwrap()
    }

    #[test]
    fn c_compilers_follow_the_setting() {
        let x86 = t("x86_64-unknown-linux-musl");
        let arm = t("aarch64-unknown-linux-musl");
        // The default is the pinned zig on every CPU, as dist gives it.
        for target in [&x86, &arm] {
            for setting in [CCompiler::Auto, CCompiler::Zig] {
                assert!(matches!(&needs(target, &setting)[..], [Need::Zig { .. }]));
            }
        }
        assert!(matches!(
            &needs(&x86, &CCompiler::MuslGcc)[..],
            [Need::Program {
                package: "musl-tools",
                ..
            }]
        ));
        assert!(needs(&arm, &CCompiler::None).is_empty());
        assert!(needs(&arm, &CCompiler::Path("/opt/zig/zig".into())).is_empty());
    }

    #[test]
    fn every_musl_target_gets_the_pinned_zig_whatever_the_machine_has() {
        for triple in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
            for musl_gcc_installed in [false, true] {
                assert_eq!(
                    choose(&CCompiler::Auto, &t(triple), musl_gcc_installed).unwrap(),
                    Some(Compiler::PinnedZig),
                    "{triple}, musl-gcc installed: {musl_gcc_installed}"
                );
            }
        }
        assert_eq!(
            choose(&CCompiler::Auto, &t("x86_64-pc-windows-msvc"), true).unwrap(),
            None
        );
    }

    #[test]
    fn explicit_choices_are_checked() {
        let arm = t("aarch64-unknown-linux-musl");
        let x86 = t("x86_64-unknown-linux-musl");
        let err = choose(&CCompiler::MuslGcc, &arm, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("x86_64 only"), "{err}");
        let err = choose(&CCompiler::MuslGcc, &x86, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("apt-get install musl-tools"), "{err}");
        assert_eq!(
            choose(&CCompiler::MuslGcc, &x86, true).unwrap(),
            Some(Compiler::MuslGcc)
        );
        assert_eq!(
            choose(&CCompiler::Zig, &arm, false).unwrap(),
            Some(Compiler::PinnedZig)
        );
        assert_eq!(
            choose(&CCompiler::Path("/opt/zig-0.17.1/zig".into()), &arm, false).unwrap(),
            Some(Compiler::Zig("/opt/zig-0.17.1/zig".into())),
            "a path to a zig is used as zig"
        );
        assert_eq!(
            choose(&CCompiler::Path("/opt/cc".into()), &arm, false).unwrap(),
            Some(Compiler::Path("/opt/cc".into()))
        );
        assert_eq!(choose(&CCompiler::None, &arm, true).unwrap(), None);
    }

    #[test]
    fn only_a_missing_pinned_zig_is_answered_by_fetching() {
        let missing: anyhow::Error = MissingCCompiler {
            krate: "libmimalloc-sys v0.1.49".into(),
            triple: "x86_64-unknown-linux-musl".into(),
            log: PathBuf::from("/t/cargo.log"),
        }
        .into();
        let text = missing.to_string();
        for part in [
            "libmimalloc-sys v0.1.49 compiles C code for x86_64-unknown-linux-musl",
            "\"auto\", which fetches a pinned zig",
            "/t/cargo.log",
        ] {
            assert!(text.contains(part), "`{part}` missing from: {text}");
        }
        let other = anyhow::anyhow!("error[E0308]: mismatched types");
        let choice = Choice {
            setting: CCompiler::Auto,
        };
        // None of these asks for a fetch, so none touches the network.
        for compiler in [
            None,
            Some(Compiler::MuslGcc),
            Some(Compiler::Path("/cc".into())),
            Some(Compiler::Zig("/opt/zig".into())),
        ] {
            assert!(!choice.after_failure(compiler.as_ref(), &missing).unwrap());
        }
        assert!(
            !choice
                .after_failure(Some(&Compiler::PinnedZig), &other)
                .unwrap()
        );
    }

    #[test]
    fn the_pinned_zig_not_fetched_yet_is_named_where_nothing_is() {
        let dir =
            std::env::temp_dir().join(format!("xtask-ctool-unfetched-{}", std::process::id()));
        let x86 = t("x86_64-unknown-linux-musl");
        // A wrapper left from when zig was there must not outlive it.
        let with = env_with(&Compiler::PinnedZig, Some("/z/zig".into()), &x86, &dir, &[]).unwrap();
        let without = env_with(&Compiler::PinnedZig, None, &x86, &dir, &[]).unwrap();
        assert_eq!(with, without, "the same variables either way");
        for (key, value) in &without {
            if key.starts_with("CC_") || key.starts_with("AR_") || key.starts_with("CXX_") {
                assert!(!Path::new(value).exists(), "{key}={value}");
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn zig_gets_wrappers_and_every_compiler_the_path_remaps() {
        let dir = std::env::temp_dir().join(format!("xtask-ctool-{}", std::process::id()));
        let remaps = [
            (PathBuf::from("/home/me/ws"), "/workspace"),
            (PathBuf::from("/home/me/.cargo"), "/cargo"),
        ];
        let vars = env_with(
            &Compiler::PinnedZig,
            Some("/cache/zig-0.17.1/zig".into()),
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
            script.contains(
                "exec '/cache/zig-0.17.1/zig' cc -target aarch64-linux-musl -fno-sanitize=undefined \"$@\""
            ),
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
}
