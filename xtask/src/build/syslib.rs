//! A `-sys` crate that looks for a library of the build machine (OpenSSL,
//! SQLite, libpq, D-Bus …), which a static musl build cannot use: cargo's
//! failure read back into one line naming the crate, the target and the
//! fix that works for a static build. Pure: `build::cargo` asks it.

use std::path::PathBuf;

/// A `-sys` crate we know, and what a static build of it needs.
struct Known {
    /// The crate as cargo names it in "failed to run custom build command".
    krate: &'static str,
    /// The names it links (`-l<name>`), as the linker reports them.
    links: &'static [&'static str],
    /// The library, for people.
    library: &'static str,
    /// What makes the build static, and what that needs on the build machine.
    fix: &'static str,
}

/// Tried with `cargo build --target x86_64-unknown-linux-musl` and the
/// template's C compilers: these stop the build (openssl-sys, libdbus-sys,
/// alsa-sys, libudev-sys in their build scripts; libsqlite3-sys and pq-sys
/// at link time, or link the machine's glibc library). libz-sys, zstd-sys,
/// bzip2-sys, lzma-sys, libgit2-sys, libssh2-sys and curl-sys build their
/// bundled sources when the system has none (the last three then need
/// openssl-sys's fix for their TLS).
const KNOWN: &[Known] = &[
    Known {
        krate: "openssl-sys",
        links: &["ssl", "crypto"],
        library: "OpenSSL",
        fix: "enable the `vendored` feature where OpenSSL comes in (`openssl = { version = \"0.10\", features = [\"vendored\"] }`; \
              reqwest's `native-tls-vendored`, native-tls's `vendored`, git2's `vendored-openssl`, curl's `static-ssl`), \
              which builds OpenSSL from source and needs perl and make on the build machine; or use rustls instead \
              (reqwest: `default-features = false, features = [\"rustls-tls\"]`)",
    },
    Known {
        krate: "libsqlite3-sys",
        links: &["sqlite3"],
        library: "SQLite",
        fix: "enable the `bundled` feature (`rusqlite = { version = \"…\", features = [\"bundled\"] }`, or libsqlite3-sys's own), \
              which compiles SQLite from source with the C compiler musl builds already get",
    },
    Known {
        krate: "pq-sys",
        links: &["pq"],
        library: "libpq (PostgreSQL)",
        fix: "enable pq-sys's `bundled` feature (`pq-sys = { version = \"0.6\", features = [\"bundled\"] }` beside diesel), \
              which builds libpq and OpenSSL from source and needs perl and make on the build machine",
    },
    Known {
        krate: "libdbus-sys",
        links: &["dbus-1"],
        library: "libdbus",
        fix: "enable libdbus-sys's `vendored` feature (dbus: `features = [\"vendored\"]`), which compiles libdbus from source \
              with the C compiler musl builds already get; or use zbus, which is pure Rust",
    },
    Known {
        krate: "alsa-sys",
        links: &["asound"],
        library: "ALSA (sound)",
        fix: "ALSA has no static build: make sound a cargo feature the release leaves out (`features` and \
              `default-features` in dist-workspace.toml)",
    },
    Known {
        krate: "libudev-sys",
        links: &["udev"],
        library: "libudev",
        fix: "libudev has no static build: make what needs it a cargo feature the release leaves out (`features` and \
              `default-features` in dist-workspace.toml)",
    },
];

/// What the pkg-config crate and build scripts print when they look for a
/// library on the machine and cannot use it for the target.
const LOOKED_FOR_SYSTEM: &[&str] = &[
    "pkg-config has not been configured to support cross-compilation",
    "Could not find directory of OpenSSL installation",
    "pkg_config failed",
];

const GENERIC_FIX: &str = "look for a `vendored`, `bundled` or `static` feature of that crate (or of the crate that \
                           pulls it in), which builds the library from source, or for a pure-Rust alternative";

/// The one line for a build that stopped on a library of the build machine.
#[derive(Debug)]
pub(crate) struct SystemLibrary {
    /// The crate, with its version where cargo named it.
    pub(crate) krate: String,
    pub(crate) library: String,
    pub(crate) fix: &'static str,
    pub(crate) triple: String,
    /// Whether the linker took the build machine's own copy (a glibc one).
    pub(crate) linked_host_copy: Option<String>,
    /// Cargo's full output.
    pub(crate) log: PathBuf,
}

impl std::fmt::Display for SystemLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            krate,
            library,
            fix,
            triple,
            ..
        } = self;
        match &self.linked_host_copy {
            Some(path) => write!(
                f,
                "{krate} links {library} from this machine ({path}, built for its own libc), which a static build \
                 for {triple} cannot use: {fix}"
            )?,
            None => write!(
                f,
                "{krate} looks for {library} on this machine, which a static build for {triple} cannot link: {fix}"
            )?,
        }
        write!(f, " (cargo's full output: {})", self.log.display())
    }
}

impl std::error::Error for SystemLibrary {}

/// Reads cargo's failure: `held` is the failing build script's block (if
/// one failed), `all` everything cargo printed (a link failure).
pub(crate) fn explain(
    failing_script: Option<&str>,
    held: &str,
    all: &str,
    triple: &str,
    log: PathBuf,
) -> Option<SystemLibrary> {
    let found = |krate: String, known: Option<&Known>, library: String, host: Option<String>| {
        Some(SystemLibrary {
            krate,
            library: known.map_or(library, |k| k.library.to_owned()),
            fix: known.map_or(GENERIC_FIX, |k| k.fix),
            triple: triple.to_owned(),
            linked_host_copy: host,
            log: log.clone(),
        })
    };
    if let Some(script) = failing_script {
        if !LOOKED_FOR_SYSTEM.iter().any(|sign| held.contains(sign)) {
            return None;
        }
        let name = script.split(' ').next().unwrap_or(script);
        let known = KNOWN.iter().find(|k| k.krate == name);
        return found(script.to_owned(), known, "a system library".into(), None);
    }
    let (link, host) = missing_link(all)?;
    let known = KNOWN.iter().find(|k| k.links.contains(&link.as_str()));
    let krate = known.map_or_else(|| "a dependency".to_owned(), |k| k.krate.to_owned());
    found(krate, known, format!("lib{link}"), host)
}

/// The library the linker could not find (`-l<name>`), or found only as
/// the build machine's own static library under `/usr/lib`.
fn missing_link(all: &str) -> Option<(String, Option<String>)> {
    let name_after = |marker: &str| -> Option<String> {
        let rest = &all[all.find(marker)? + marker.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.+".contains(c)))
            .unwrap_or(rest.len());
        (end > 0).then(|| rest[..end].to_owned())
    };
    // rust-lld, then GNU ld.
    if let Some(name) =
        name_after("unable to find library -l").or_else(|| name_after("cannot find -l"))
    {
        return Some((name, None));
    }
    // Undefined symbols in a glibc system library the linker was given.
    let marker = " in archive /usr/lib/";
    let at = all.find(marker)? + " in archive ".len();
    let path: String = all[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let file = path.rsplit('/').next()?;
    let name = file.strip_prefix("lib")?.strip_suffix(".a")?;
    Some((name.to_owned(), Some(path.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIPLE: &str = "x86_64-unknown-linux-musl";

    fn explain_all(script: Option<&str>, text: &str) -> Option<String> {
        explain(script, text, text, TRIPLE, PathBuf::from("/t/cargo.log")).map(|s| s.to_string())
    }

    /// openssl-sys 0.9.118's own words for a musl target on a Debian host.
    const OPENSSL: &str = "error: failed to run custom build command for `openssl-sys v0.9.118`\n\
        --- stdout\n  OPENSSL_DIR unset\n\n  Could not find openssl via pkg-config:\n  \
        pkg-config has not been configured to support cross-compilation.\n  --- stderr\n\n  \
        Could not find directory of OpenSSL installation, and this `-sys` crate cannot\n  proceed without this knowledge.\n  \
        Make sure you also have the development packages of openssl installed.\n  \
        For example, `libssl-dev` on Ubuntu or `openssl-devel` on Fedora.\n";

    #[test]
    fn openssl_sys_gets_the_vendored_feature_and_what_it_needs() {
        let line = explain_all(Some("openssl-sys v0.9.118"), OPENSSL).unwrap();
        assert!(
            line.starts_with("openssl-sys v0.9.118 looks for OpenSSL on this machine, which a static build for x86_64-unknown-linux-musl cannot link: enable the `vendored` feature")
                && line.contains("needs perl and make")
                && line.contains("rustls")
                && line.ends_with("(cargo's full output: /t/cargo.log)")
                && !line.contains('\n')
                && !line.contains("libssl-dev"),
            "{line}"
        );
    }

    #[test]
    fn an_unknown_crate_looking_through_pkg_config_gets_the_general_advice() {
        let text = "error: failed to run custom build command for `libfoo-sys v1.0.0`\n--- stderr\n\
            thread 'main' panicked: pkg-config has not been configured to support cross-compilation.\n";
        let line = explain_all(Some("libfoo-sys v1.0.0"), text).unwrap();
        assert!(
            line.starts_with("libfoo-sys v1.0.0 looks for a system library on this machine"),
            "{line}"
        );
        assert!(
            line.contains("`vendored`, `bundled` or `static` feature"),
            "{line}"
        );
        // A build script failing otherwise is not given this line.
        let other =
            "error: failed to run custom build command for `foo v1.0.0`\n--- stderr\nboom\n";
        assert_eq!(explain_all(Some("foo v1.0.0"), other), None);
        // A vendored OpenSSL build that failed does not get "enable vendored" again.
        let vendored = "error: failed to run custom build command for `openssl-sys v0.9.118`\n\
            Error configuring OpenSSL build:\n    Command: \"perl\" \"./Configure\"\n    Exit status: 2\n";
        assert_eq!(explain_all(Some("openssl-sys v0.9.118"), vendored), None);
    }

    #[test]
    fn a_library_the_linker_misses_or_takes_from_the_host_is_named() {
        let lld = "error: linking with `rust-lld` failed: exit status: 1\n  = note: rust-lld: error: unable to find library -lsqlite3\n";
        let line = explain_all(None, lld).unwrap();
        assert!(
            line.starts_with("libsqlite3-sys looks for SQLite on this machine"),
            "{line}"
        );
        assert!(line.contains("`bundled` feature"), "{line}");
        // What this machine did: libpq-dev installed, its glibc libpq.a taken.
        let host = "error: linking with `rust-lld` failed: exit status: 1\n  = note: rust-lld: error: undefined symbol: gss_wrap\n\
            >>> referenced by fe-gssapi-common.o:(pg_GSS_error_int) in archive /usr/lib/x86_64-linux-gnu/libpq.a\n";
        let line = explain_all(None, host).unwrap();
        assert!(
            line.starts_with("pq-sys links libpq (PostgreSQL) from this machine (/usr/lib/x86_64-linux-gnu/libpq.a, built for its own libc)"),
            "{line}"
        );
        let gnu = "/usr/bin/ld: cannot find -lzmq: No such file or directory\n";
        let line = explain_all(None, gnu).unwrap();
        assert!(
            line.starts_with("a dependency looks for libzmq on this machine"),
            "{line}"
        );
        assert_eq!(explain_all(None, "error[E0308]: mismatched types\n"), None);
    }
}
