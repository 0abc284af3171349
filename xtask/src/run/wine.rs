//! Windows programs run here under wine, in the sandbox: which wine (the
//! distribution's, under `/usr`, which the sandbox binds read-only), the
//! prefix it needs (its registry, made once per wine by `wineboot` outside
//! any time limit, then staged into each run's empty root with links to
//! wine's own DLLs), and what Rust's std imports that an older wine lacks
//! (runs wine once, for the prefix).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::run::exec;

/// Where Debian, Ubuntu and Fedora put wine's 64-bit program and its
/// Windows DLLs, and what is looked for on PATH.
const PROGRAMS: &[&str] = &["/usr/lib/wine/wine64", "/usr/lib64/wine/wine64"];
const DLL_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows",
    "/usr/lib/wine/x86_64-windows",
    "/usr/lib64/wine/x86_64-windows",
];

/// Where the staged prefix is inside the sandbox's root.
pub(crate) const PREFIX_INSIDE: &str = "wine";

/// The registry files `wineboot` makes, which each run's prefix starts from.
const REGISTRY: &[&str] = &["system.reg", "user.reg", "userdef.reg", ".update-timestamp"];

/// A wine this machine has, as the sandbox can run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wine {
    /// The 64-bit loader, under `/usr`.
    pub(crate) program: PathBuf,
    /// Its x86_64 Windows DLLs, which every prefix's system32 links to.
    pub(crate) dlls: PathBuf,
}

impl Wine {
    /// The wine installed here, if it is one the sandbox can run: all of it
    /// under `/usr`, the one host directory the sandbox binds.
    pub(crate) fn find() -> Option<Wine> {
        let program = exec::find_on_path("wine64")
            .into_iter()
            .chain(PROGRAMS.iter().map(PathBuf::from))
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .find(|p| p.is_file() && p.starts_with("/usr/"))?;
        let dlls = DLL_DIRS
            .iter()
            .map(PathBuf::from)
            .find(|d| d.join("kernel32.dll").is_file())?;
        Some(Wine { program, dlls })
    }

    /// What the user installs to get one.
    pub(crate) const INSTALL: &'static str = "apt-get install wine64";

    /// Its version, as `wine64 --version` says it (`wine-8.0 (Debian 8.0~repack-4)`).
    pub(crate) fn version(&self) -> String {
        // Asked once per run: every smoke run says it.
        static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        VERSION
            .get_or_init(|| {
                let mut command = Command::new(&self.program);
                command.arg("--version");
                exec::run(command, Duration::from_secs(20), 1 << 12)
                    .ok()
                    .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "wine".to_owned())
            })
            .clone()
    }

    /// The registry of a fresh prefix of this wine, made once per machine
    /// and wine (by `wineboot`, which takes seconds, outside the smoke
    /// run's time limit) and kept in the user's cache.
    pub(crate) fn registry(&self) -> Result<PathBuf, String> {
        let cache = exec::user_cache()
            .ok_or("no cache directory (neither XDG_CACHE_HOME nor HOME is set)")?;
        let key = format!("{:016x}", fingerprint(&self.version(), &self.program));
        let kept = cache.join(format!("wine-registry-{key}"));
        if REGISTRY.iter().all(|f| kept.join(f).is_file()) {
            return Ok(kept);
        }
        let made = cache.join(format!("wine-prefix-{key}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&made);
        std::fs::create_dir_all(&made).map_err(|e| format!("creating {}: {e}", made.display()))?;
        eprintln!("    making a wine prefix once for the smoke runs (wineboot, about ten seconds)");
        let booted = self.wineboot(&made);
        let partial = cache.join(format!("wine-registry-{key}.{}", std::process::id()));
        let kept_now = booted.and_then(|()| {
            std::fs::create_dir_all(&partial)
                .map_err(|e| format!("creating {}: {e}", partial.display()))?;
            for file in REGISTRY {
                std::fs::copy(made.join(file), partial.join(file))
                    .map_err(|e| format!("wineboot made no {file} in {}: {e}", made.display()))?;
            }
            // Whole or not at all: another run may be making it too.
            match std::fs::rename(&partial, &kept) {
                Ok(()) => Ok(()),
                Err(_) if REGISTRY.iter().all(|f| kept.join(f).is_file()) => Ok(()),
                Err(e) => Err(format!("keeping {}: {e}", kept.display())),
            }
        });
        let _ = std::fs::remove_dir_all(&partial);
        let _ = std::fs::remove_dir_all(&made);
        kept_now.map(|()| kept)
    }

    /// `wineboot --init` into `prefix`, then waits for wine's server to
    /// save the registry and leave. wineboot's daemons (wineserver,
    /// services.exe) outlive it and keep whatever output they inherited:
    /// theirs goes to a log file, never a pipe anyone waits on.
    fn wineboot(&self, prefix: &Path) -> Result<(), String> {
        let log = prefix.with_extension("log");
        let run = |args: &[&str], program: &Path, limit: Duration| -> Result<(), String> {
            let output = std::fs::File::create(&log)
                .map_err(|e| format!("creating {}: {e}", log.display()))?;
            let mut command = Command::new(program);
            command
                .args(args)
                .env("WINEPREFIX", prefix)
                .env("WINEDEBUG", "-all")
                .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
                .env_remove("DISPLAY")
                .env_remove("WAYLAND_DISPLAY")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(output);
            let shown = format!("{} {}", program.display(), args.join(" "));
            let status =
                exec::wait_detached(command, limit).map_err(|e| format!("{shown}: {e}"))?;
            if status.success() {
                return Ok(());
            }
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(5).collect();
            Err(format!(
                "{shown} failed ({status}): {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ))
        };
        let server = Some(self.program.with_file_name("wineserver"))
            .filter(|s| s.is_file())
            .unwrap_or_else(|| PathBuf::from("wineserver"));
        let booted = run(
            &["wineboot", "--init"],
            &self.program,
            Duration::from_secs(180),
        );
        // The server writes the registry as it leaves, seconds after its
        // last program: wait for that; stop it if it will not go.
        let waited = run(&["-w"], &server, Duration::from_secs(60));
        if waited.is_err() {
            let _ = run(&["-k"], &server, Duration::from_secs(30));
        }
        let _ = std::fs::remove_file(&log);
        booted.and(waited)
    }

    /// Stages, under `tree` (what the sandbox copies into its root), a
    /// prefix for one run: `registry`'s files, the C: and Z: drives, and a
    /// system32 of links to wine's own DLLs — plus, where this wine lacks
    /// it, a `bcryptprimitives.dll` that forwards Rust's `ProcessPrng` to
    /// `RtlGenRandom` (wine before 9.0 has no such DLL, and every Rust
    /// program imports it). Nothing of it goes near the archive.
    pub(crate) fn stage(&self, registry: &Path, tree: &Path) -> Result<(), String> {
        let prefix = tree.join(PREFIX_INSIDE);
        let system32 = prefix.join("drive_c/windows/system32");
        for dir in [&system32, &prefix.join("dosdevices"), &tree.join("tmp")] {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        for file in REGISTRY {
            std::fs::copy(registry.join(file), prefix.join(file))
                .map_err(|e| format!("staging the wine prefix's {file}: {e}"))?;
        }
        link("../drive_c", &prefix.join("dosdevices/c:"))?;
        link("/", &prefix.join("dosdevices/z:"))?;
        let dlls = std::fs::read_dir(&self.dlls)
            .map_err(|e| format!("reading {}: {e}", self.dlls.display()))?;
        for entry in dlls.flatten() {
            let name = entry.file_name();
            link(&entry.path().to_string_lossy(), &system32.join(&name))?;
        }
        if !system32.join(STUB_DLL).exists() {
            std::fs::write(
                system32.join(STUB_DLL),
                stub::forwarding_dll(STUB_DLL, STUB_EXPORTS),
            )
            .map_err(|e| format!("staging {STUB_DLL}: {e}"))?;
        }
        Ok(())
    }
}

/// What Rust's std imports from a DLL wine 8 lacks, and where wine has it.
const STUB_DLL: &str = "bcryptprimitives.dll";
const STUB_EXPORTS: &[(&str, &str)] = &[("ProcessPrng", "advapi32.SystemFunction036")];

fn link(target: &str, at: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, at).map_err(|e| format!("linking {}: {e}", at.display()))
    }
    #[cfg(not(unix))]
    {
        let _ = (target, at);
        Err("wine runs in the Linux sandbox only".into())
    }
}

/// Which wine a kept registry belongs to: its version and loader.
fn fingerprint(version: &str, program: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    // Stable across runs (unlike RandomState): a fixed-key SipHash.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    version.hash(&mut h);
    program.hash(&mut h);
    if let Ok(meta) = std::fs::metadata(program) {
        meta.len().hash(&mut h);
    }
    h.finish()
}

mod stub;
