//! The C compiler `dist` fetches for itself: one pinned release of zig,
//! taken from PyPI's `ziglang` wheel (the channel `pip install ziglang` and
//! cargo-zigbuild use), checked against the SHA-256 written here, unpacked
//! once per machine into the user's cache. A machine with only rustup and
//! cargo can then build an app whose dependencies compile C (mimalloc,
//! aws-lc-sys, pcre2) for every musl target, as `rustup target add` gives it
//! the Rust side; and since the version is pinned, so are the bytes it emits,
//! which `cargo xtask reproduce` relies on (downloads, and runs zig).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::archive::checksum::sha256_hex;
use crate::run::download;
use xtask_inspect::target::Arch;
use xtask_inspect::zipfile;

/// The zig release every fetch gets. Move it deliberately: a new zig is a
/// new C compiler, so archives with C code in them change bytes.
pub(crate) const VERSION: &str = "0.17.1";

/// One wheel of that release: the machine it runs on, where it is, its hash.
struct Wheel {
    host: Arch,
    url: &'static str,
    sha256: &'static str,
    /// Its size, to refuse a longer download early and to tell the user.
    size: u64,
}

/// From `https://pypi.org/simple/ziglang/`. musl builds are made on Linux
/// (see `model::plan::buildable`), so only Linux hosts are listed.
const WHEELS: &[Wheel] = &[
    Wheel {
        host: Arch::X86_64,
        url: "https://files.pythonhosted.org/packages/59/e3/2a34676370a11c36b7cd04ffb2439c1089c0530cf4b01408c77cf7f8d9c3/ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
        sha256: "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54",
        size: 101_083_562,
    },
    Wheel {
        host: Arch::Aarch64,
        url: "https://files.pythonhosted.org/packages/91/72/bb7c4f098ba3e535fa2ebefd9f26327ba63fb0672562959255cb5dd37aff/ziglang-0.17.1-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        sha256: "b7c5f02fccd40f89b999ee16a1f5ddced56e6182370f8affe494bcf8a28cf07e",
        size: 98_063_064,
    },
];

/// The folder of the wheel that holds zig and its `lib/`.
const PACKAGE_DIR: &str = "ziglang/";

/// Where the pinned zig lives once fetched: `$XDG_CACHE_HOME/cargo-xtask/`
/// (else `~/.cache/cargo-xtask/`), shared by every project of the machine.
pub(crate) fn home() -> Option<PathBuf> {
    Some(crate::run::exec::user_cache()?.join(format!("zig-{VERSION}")))
}

/// The pinned zig's executable, if it was fetched already.
pub(crate) fn installed() -> Option<PathBuf> {
    let exe = home()?.join("zig");
    exe.is_file().then_some(exe)
}

/// The pinned zig's executable, fetched and unpacked first if need be;
/// `why` says what wants it, in the one line shown when it is fetched.
pub(crate) fn ensure(why: &str) -> Result<PathBuf> {
    if let Some(exe) = installed() {
        return Ok(exe);
    }
    let dir = home().context(
        "fetching zig needs a cache directory, and neither XDG_CACHE_HOME nor HOME is set",
    )?;
    let host = Arch::host();
    let Some(wheel) = WHEELS.iter().find(|w| Some(w.host) == host) else {
        bail!(
            "{why}, and there is no pinned zig for this machine's CPU; install a C compiler for the target \
             and name it with `c-compiler` in dist-workspace.toml"
        );
    };
    eprintln!(
        "    {why}: fetching zig {VERSION} ({} MB, SHA-256 pinned) from PyPI into {} (once per machine)",
        wheel.size / 1_000_000,
        dir.display()
    );
    let bytes = download::fetch(wheel.url, wheel.size).map_err(|e| not_fetched(e, &dir))?;
    check_hash(&bytes, wheel.sha256)?;
    unpack(&bytes, &dir)?;
    let exe = dir.join("zig");
    let version = std::process::Command::new(&exe)
        .arg("version")
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let said = String::from_utf8_lossy(&version.stdout);
    if !version.status.success() || said.trim() != VERSION {
        bail!(
            "{} runs, but says `{}` instead of zig {VERSION}; remove {} and try again",
            exe.display(),
            said.trim(),
            dir.display()
        );
    }
    Ok(exe)
}

/// A failed download of the wheel, with the routes that work without one.
fn not_fetched(error: anyhow::Error, dir: &Path) -> anyhow::Error {
    let offline = error
        .downcast_ref::<download::Failed>()
        .is_some_and(|f| f.unreachable);
    let lead = if offline {
        "This machine cannot reach PyPI"
    } else {
        "PyPI did not give it"
    };
    anyhow::anyhow!(
        "fetching zig {VERSION}: {error:#}. {lead}: run `cargo xtask setup` on a machine that can \
         (it fetches zig into the same place) and copy its {dir} here, or name a zig {VERSION} you have \
         with `c-compiler = \"/path/to/zig\"` in dist-workspace.toml",
        dir = dir.display()
    )
}

fn check_hash(bytes: &[u8], expected: &str) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual != expected {
        bail!(
            "the zig {VERSION} wheel from PyPI has SHA-256 {actual}, not the pinned {expected}: \
             refusing to run it"
        );
    }
    Ok(())
}

/// Unpacks the wheel's `ziglang/` folder into `dir`: into a temporary
/// folder beside it first, renamed into place when whole, so an interrupted
/// fetch never leaves a zig that looks installed.
fn unpack(wheel: &[u8], dir: &Path) -> Result<()> {
    let parent = dir.parent().context("the cache directory has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".zig-{VERSION}.partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let result = write_members(wheel, &tmp).and_then(|()| match fs::rename(&tmp, dir) {
        Ok(()) => Ok(()),
        // Another run fetched it meanwhile: keep theirs.
        Err(_) if dir.join("zig").is_file() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("moving zig into {}", dir.display())),
    });
    let _ = fs::remove_dir_all(&tmp);
    result
}

fn write_members(wheel: &[u8], into: &Path) -> Result<()> {
    // zig's standard library and libc headers unpack to some 380 MB.
    let entries =
        zipfile::read(wheel, 512 << 20, 1 << 30).context("reading the zig wheel as a zip")?;
    let mut found_zig = false;
    for entry in entries {
        let Some(rel) = entry.path.strip_prefix(PACKAGE_DIR) else {
            continue;
        };
        if rel.is_empty() || entry.path.ends_with('/') {
            continue;
        }
        if rel
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == ".." || part.contains('\\'))
        {
            bail!("the zig wheel holds the unsafe path `{}`", entry.path);
        }
        let path = into.join(rel);
        let parent = path.parent().expect("a file inside `into`");
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        fs::write(&path, &entry.data).with_context(|| format!("writing {}", path.display()))?;
        found_zig |= rel == "zig";
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let executable = rel == "zig" || entry.mode & 0o111 != 0;
            let mode = if executable { 0o755 } else { 0o644 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                .with_context(|| format!("setting the mode of {}", path.display()))?;
        }
    }
    if !found_zig {
        bail!("the zig wheel holds no `{PACKAGE_DIR}zig`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let entries: Vec<zipfile::Entry> = entries
            .iter()
            .map(|(path, mode, data)| zipfile::Entry {
                path: (*path).to_owned(),
                mode: *mode,
                data: data.to_vec(),
            })
            .collect();
        zipfile::write(&entries, 0x21, 0).unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-zig-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn every_pin_is_a_pypi_wheel_of_the_pinned_version_with_a_full_hash() {
        for w in WHEELS {
            assert!(w.url.starts_with("https://files.pythonhosted.org/"));
            assert!(w.url.contains(&format!("/ziglang-{VERSION}-")), "{}", w.url);
            assert!(w.url.ends_with(".whl"));
            assert_eq!(w.sha256.len(), 64);
            assert!(w.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        for arch in [Arch::X86_64, Arch::Aarch64] {
            assert!(WHEELS.iter().any(|w| w.host == arch), "{arch:?}");
        }
    }

    #[test]
    fn a_failed_fetch_names_the_routes_without_network() {
        let failed = |unreachable| {
            anyhow::Error::from(download::Failed {
                url: WHEELS[0].url.to_owned(),
                reason: "the host name could not be resolved (no network?)".to_owned(),
                unreachable,
            })
        };
        let dir = Path::new("/home/u/.cache/cargo-xtask/zig-0.17.1");
        let text = not_fetched(failed(true), dir).to_string();
        for part in [
            "fetching zig 0.17.1: downloading https://files.pythonhosted.org/",
            "This machine cannot reach PyPI: run `cargo xtask setup` on a machine that can",
            "copy its /home/u/.cache/cargo-xtask/zig-0.17.1 here",
            "`c-compiler = \"/path/to/zig\"`",
        ] {
            assert!(text.contains(part), "`{part}` missing from: {text}");
        }
        assert!(!text.contains('\n'), "one line: {text}");
        assert!(!text.contains("curl"), "{text}");
        let text = not_fetched(failed(false), dir).to_string();
        assert!(text.contains("PyPI did not give it"), "{text}");
    }

    #[test]
    fn a_wheel_with_another_hash_is_refused() {
        let err = check_hash(b"not zig", &"0".repeat(64)).unwrap_err();
        assert!(err.to_string().contains("refusing to run it"), "{err}");
        check_hash(b"zig", &sha256_hex(b"zig")).unwrap();
    }

    #[test]
    fn only_the_package_folder_is_unpacked_and_zig_is_executable() {
        let dir = scratch("unpack").join("zig");
        let bytes = wheel(&[
            ("ziglang/zig", 0o100_644, b"\x7fELF"),
            ("ziglang/lib/std/std.zig", 0o100_644, b"pub"),
            ("ziglang/__init__.py", 0o100_644, b""),
            ("ziglang-0.17.1.dist-info/RECORD", 0o100_644, b"x"),
        ]);
        unpack(&bytes, &dir).unwrap();
        assert_eq!(fs::read(dir.join("lib/std/std.zig")).unwrap(), b"pub");
        assert!(!dir.join("RECORD").exists());
        assert!(
            !dir.parent()
                .unwrap()
                .join("ziglang-0.17.1.dist-info")
                .exists()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("zig")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_wheel_climbing_out_or_without_zig_leaves_nothing_behind() {
        let base = scratch("bad");
        let dir = base.join("zig");
        let climbing = wheel(&[
            ("ziglang/zig", 0o100_755, b"z"),
            ("ziglang/../../evil", 0o100_644, b"x"),
        ]);
        let err = unpack(&climbing, &dir).unwrap_err();
        assert!(format!("{err:#}").contains("unsafe path"), "{err:#}");
        let empty = wheel(&[("ziglang/lib/a", 0o100_644, b"x")]);
        let err = unpack(&empty, &dir).unwrap_err();
        assert!(
            format!("{err:#}").contains("holds no `ziglang/zig`"),
            "{err:#}"
        );
        assert!(!dir.exists());
        let left: Vec<_> = fs::read_dir(&base).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        fs::remove_dir_all(&base).unwrap();
    }
}
