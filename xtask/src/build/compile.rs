//! `cargo build` for one target: static where the target allows it, with no
//! build-machine paths in the output, and the binaries' paths taken from
//! cargo's own JSON messages.

use crate::model::config::toml_string;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::build::cargo::{self, run_checked};
use crate::build::{audit, commit, ctool, link};
use crate::model::deps::Crates;
use crate::model::plan::Stamp;
use crate::model::workspace::{Package, Workspace};
use xtask_inspect::target::{Os, Target};

pub(crate) const PROFILE: &str = "dist";

/// A binary cargo just built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuiltBinary {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
}

/// Flags every release build of `target` gets.
pub(crate) fn rustflags(target: &Target, ws: &Workspace, cargo_home: Option<&Path>) -> Vec<String> {
    let mut flags = Vec::new();
    if target.is_musl() {
        // musl's C runtime is linked in from the target's own copy: no system
        // libc, no loader, no C cross toolchain.
        flags.extend(
            [
                "-C",
                "target-feature=+crt-static",
                "-C",
                "link-self-contained=yes",
            ]
            .map(String::from),
        );
    }
    if target.os == Os::Windows {
        // The C runtime goes into the .exe: no vcruntime140.dll or libgcc_s_seh-1.dll to install.
        flags.extend(["-C", "target-feature=+crt-static"].map(String::from));
    }
    for (from, to) in remaps(ws, cargo_home) {
        flags.push(format!("--remap-path-prefix={}={to}", from.display()));
    }
    flags
}

/// Build-machine paths and what they read as in release binaries. rustc
/// (and C compilers) use the last matching prefix: the most specific goes last.
pub(crate) fn remaps(ws: &Workspace, cargo_home: Option<&Path>) -> Vec<(PathBuf, &'static str)> {
    let mut remaps = vec![(ws.root.clone(), "/workspace")];
    remaps.push((ws.target_dir.clone(), "/target"));
    if let Some(home) = cargo_home {
        remaps.push((home.to_owned(), "/cargo"));
    }
    remaps
}

/// The `CARGO_TARGET_<TRIPLE>_LINKER` variable for `target`.
pub(crate) fn linker_env_var(target: &Target) -> String {
    format!(
        "CARGO_TARGET_{}_LINKER",
        target.triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// The linker we choose for `target` when the user has not chosen one: for
/// every musl target the toolchain's own `rust-lld`, with the musl objects
/// that ship with the target. Nothing of the build machine (its `cc`, its
/// binutils) reaches the binary, so the same commit links to the same bytes
/// on any distribution, and a pure-Rust app needs no C toolchain at all.
pub(crate) fn default_linker(target: &Target) -> Option<&'static str> {
    target.is_musl().then_some(link::LINKER)
}

/// `target.<triple>.linker` from a cargo config file's text, if set.
pub(crate) fn linker_in_config(text: &str, triple: &str) -> Option<String> {
    use crate::model::config::toml_field as field;
    let doc = toml::de::DeTable::parse(text).ok()?;
    let toml::de::DeValue::Table(targets) = field(doc.get_ref(), "target")? else {
        return None;
    };
    let toml::de::DeValue::Table(this) = field(targets, triple)? else {
        return None;
    };
    field(this, "linker")?.as_str().map(str::to_owned)
}

/// Whether the user set a linker for `target` in the environment or a cargo
/// config file that applies in `dir` (its ancestors and cargo home).
fn user_linker(target: &Target, dir: &Path) -> Option<String> {
    if let Ok(linker) = std::env::var(linker_env_var(target)) {
        return Some(linker);
    }
    let homes = crate::project::workspace::cargo_home().into_iter();
    let dirs = dir.ancestors().map(|d| d.join(".cargo")).chain(homes);
    dirs.flat_map(|d| [d.join("config.toml"), d.join("config")])
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .find_map(|text| linker_in_config(&text, target.triple))
}

/// How our flags reach rustc without discarding the user's.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FlagsVia {
    /// `--config target.<triple>.rustflags=[…]`: cargo appends it to the user's config arrays.
    Config(String),
    /// The user set RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS, which override config:
    /// ours are appended to theirs.
    EncodedEnv(String),
}

pub(crate) fn flags_via(
    target: &Target,
    flags: &[String],
    encoded: Option<OsString>,
    plain: Option<OsString>,
) -> FlagsVia {
    let user: Vec<String> = match (encoded, plain) {
        (Some(e), _) => e
            .to_string_lossy()
            .split('\x1f')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        (None, Some(p)) => p
            .to_string_lossy()
            .split_whitespace()
            .map(String::from)
            .collect(),
        (None, None) => {
            let items: Vec<String> = flags.iter().map(|f| toml_string(f)).collect();
            return FlagsVia::Config(format!(
                "target.{}.rustflags=[{}]",
                target.triple,
                items.join(", ")
            ));
        }
    };
    FlagsVia::EncodedEnv(
        user.iter()
            .chain(flags)
            .cloned()
            .collect::<Vec<_>>()
            .join("\x1f"),
    )
}

/// A target's build: its executables, and the crates they were built from
/// (which each of them carries in its `.dep-v0` section).
pub(crate) struct Compiled {
    pub(crate) binaries: Vec<BuiltBinary>,
    pub(crate) crates: Crates,
    /// Where the link maps of binaries linked through the xtask are
    /// (`build::link`); `None` when another linker linked them.
    pub(crate) link_maps: Option<PathBuf>,
}

/// Builds `app` for `target` with the dist profile and `features` (cargo
/// arguments), each binary carrying its dependency list.
pub(crate) fn build(
    sh: &Shell,
    ws: &Workspace,
    app: &Package,
    target: &Target,
    stamp: &Stamp,
    c_compiler: Option<&ctool::Compiler>,
    features: &[String],
) -> Result<Compiled> {
    let triple = target.triple;
    let package = &app.name;
    let cargo_home = crate::project::workspace::cargo_home();
    let deps = audit::prepare(sh, ws, app, target, features)?;
    let mut flags = rustflags(target, ws, cargo_home.as_deref());
    flags.extend(audit::link_args(target, &deps.object));
    let via = flags_via(
        target,
        &flags,
        std::env::var_os("CARGO_ENCODED_RUSTFLAGS"),
        std::env::var_os("RUSTFLAGS"),
    );
    let _dir = sh.push_dir(&ws.root);
    let mut command = stamped(
        cmd!(
            sh,
            "cargo build --locked --profile {PROFILE} --target {triple} --package {package} {features...} --message-format=json-render-diagnostics"
        ),
        ws,
        stamp,
    );
    let build_dir = cargo::build_dir(ws);
    let mut link_maps = None;
    if let Some(linker) = default_linker(target)
        && user_linker(target, &ws.root).is_none()
    {
        match link::through_xtask(&build_dir.join("link"), triple)? {
            Some(through) => {
                command = command
                    .env(linker_env_var(target), &through.linker)
                    .env(link::MAPS_ENV, &through.maps);
                link_maps = Some(through.maps);
            }
            None => command = command.env(linker_env_var(target), linker),
        }
    }
    command = command.arg("--config").arg(cargo::build_dir_config(ws));
    if let Some(compiler) = c_compiler {
        let remaps = remaps(ws, cargo_home.as_deref());
        for (key, value) in ctool::env(compiler, target, &build_dir.join("cc"), &remaps)? {
            command = command.env(key, value);
        }
    }
    match &via {
        FlagsVia::Config(config) => command = command.arg("--config").arg(config),
        FlagsVia::EncodedEnv(encoded) => {
            command = command
                .env("CARGO_ENCODED_RUSTFLAGS", encoded)
                .env_remove("RUSTFLAGS")
        }
    }
    let log = build_dir.join(format!("cargo-{triple}.log"));
    // Binaries linked with other dependency data are linked again: cargo
    // does not know the object file changed.
    let built_from = format!("{} {}", stamp.commit, deps.digest);
    let unclean = commit::forget_other_commits(sh, ws, PROFILE, triple, &built_from);
    let stdout = run_checked(command.into(), &log, &format!("{package} for {triple}"))?;
    if let Some(why) = unclean {
        return Err(commit::unclean(triple, &why));
    }
    commit::remember(ws, triple, &built_from)?;
    let binaries = executables(&stdout, &app.manifest_path);
    if binaries.is_empty() {
        bail!(
            "`cargo build` of {package} for {triple} reported no executable; does the package have a binary target?"
        );
    }
    Ok(Compiled {
        binaries,
        crates: deps.crates,
        link_maps,
    })
}

/// Builds `app` for this machine, quickly (the dev profile), with the same
/// features: what `[dist.docs]` runs for a target whose binaries cannot run here.
pub(crate) fn build_for_host(
    sh: &Shell,
    ws: &Workspace,
    app: &Package,
    stamp: &Stamp,
    features: &[String],
) -> Result<Vec<BuiltBinary>> {
    let package = &app.name;
    let _dir = sh.push_dir(&ws.root);
    let command = stamped(
        cmd!(
            sh,
            "cargo build --locked --package {package} --bins {features...} --message-format=json-render-diagnostics"
        ),
        ws,
        stamp,
    );
    let log = cargo::build_dir(ws).join("cargo-host.log");
    let stdout = run_checked(command.into(), &log, &format!("{package} for this machine"))?;
    Ok(executables(&stdout, &app.manifest_path))
}

/// A cargo command building into `ws`'s target directory, given the date
/// and commit build scripts may embed.
fn stamped<'a>(command: xshell::Cmd<'a>, ws: &Workspace, stamp: &Stamp) -> xshell::Cmd<'a> {
    command
        .arg("--target-dir")
        .arg(&ws.target_dir)
        .env("SOURCE_DATE_EPOCH", stamp.source_date_epoch.to_string())
        .env("GIT_COMMIT", &stamp.commit)
        .quiet()
}

/// The executables of the package at `manifest_path`, from cargo's JSON messages.
pub(crate) fn executables(messages: &str, manifest_path: &Path) -> Vec<BuiltBinary> {
    let mut found = Vec::new();
    for line in messages.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact"
            || msg["manifest_path"].as_str().map(Path::new) != Some(manifest_path)
        {
            continue;
        }
        let is_bin = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "bin"));
        if let (true, Some(name), Some(exe)) = (
            is_bin,
            msg["target"]["name"].as_str(),
            msg["executable"].as_str(),
        ) {
            found.push(BuiltBinary {
                name: name.to_owned(),
                path: PathBuf::from(exe),
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace {
            root: "/src/app".into(),
            target_dir: "/src/app/target".into(),
            packages: vec![],
        }
    }

    #[test]
    fn musl_gets_static_flags_and_remaps_in_order() {
        let t = Target::parse("x86_64-unknown-linux-musl").unwrap();
        let flags = rustflags(&t, &ws(), Some(Path::new("/home/u/.cargo")));
        assert!(flags.contains(&"target-feature=+crt-static".to_owned()));
        let remaps: Vec<&String> = flags.iter().filter(|f| f.starts_with("--remap")).collect();
        assert_eq!(
            remaps,
            [
                "--remap-path-prefix=/src/app=/workspace",
                "--remap-path-prefix=/src/app/target=/target",
                "--remap-path-prefix=/home/u/.cargo=/cargo"
            ]
        );
    }

    #[test]
    fn every_musl_target_links_with_rust_lld_unless_configured() {
        let t = |s| Target::parse(s).unwrap();
        for musl in [
            "aarch64-unknown-linux-musl",
            "i686-unknown-linux-musl",
            "x86_64-unknown-linux-musl",
        ] {
            assert_eq!(default_linker(&t(musl)), Some("rust-lld"), "{musl}");
        }
        assert_eq!(default_linker(&t("x86_64-pc-windows-gnu")), None);
        assert_eq!(default_linker(&t("x86_64-apple-darwin")), None);
        assert_eq!(
            linker_env_var(&t("aarch64-unknown-linux-musl")),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER"
        );
        let config = "[target.aarch64-unknown-linux-musl]\nlinker = \"aarch64-linux-musl-gcc\"\n";
        assert_eq!(
            linker_in_config(config, "aarch64-unknown-linux-musl").as_deref(),
            Some("aarch64-linux-musl-gcc")
        );
        assert_eq!(linker_in_config(config, "i686-unknown-linux-musl"), None);
        assert_eq!(linker_in_config("not toml [", "x"), None);
    }

    #[test]
    fn windows_links_its_c_runtime_statically() {
        let t = Target::parse("x86_64-pc-windows-msvc").unwrap();
        let flags = rustflags(&t, &ws(), None);
        assert_eq!(
            flags[..2],
            ["-C".to_owned(), "target-feature=+crt-static".to_owned()]
        );
    }

    #[test]
    fn user_rustflags_are_kept() {
        let t = Target::parse("x86_64-unknown-linux-musl").unwrap();
        let ours = vec!["-C".to_owned(), "x=y".to_owned()];
        let FlagsVia::Config(c) = flags_via(&t, &ours, None, None) else {
            panic!()
        };
        assert_eq!(
            c,
            r#"target.x86_64-unknown-linux-musl.rustflags=["-C", "x=y"]"#
        );
        let via = flags_via(&t, &ours, None, Some("-C opt-level=2".into()));
        assert_eq!(
            via,
            FlagsVia::EncodedEnv("-C\x1fopt-level=2\x1f-C\x1fx=y".into())
        );
        assert_eq!(toml_string(r#"C:\a"b"#), r#""C:\\a\"b""#);
    }

    #[test]
    fn executables_come_from_cargo_messages() {
        let msgs = r#"{"reason":"compiler-artifact","manifest_path":"/w/crates/toolbox/Cargo.toml","target":{"kind":["lib"],"name":"toolbox"},"executable":null}
{"reason":"compiler-artifact","manifest_path":"/w/crates/toolbox/Cargo.toml","target":{"kind":["bin"],"name":"toolbox"},"executable":"/t/x/dist/toolbox"}
{"reason":"compiler-artifact","manifest_path":"/w/other/Cargo.toml","target":{"kind":["bin"],"name":"other"},"executable":"/t/x/dist/other"}
not json
{"reason":"build-finished","success":true}"#;
        let found = executables(msgs, Path::new("/w/crates/toolbox/Cargo.toml"));
        assert_eq!(
            found,
            [BuiltBinary {
                name: "toolbox".into(),
                path: "/t/x/dist/toolbox".into()
            }]
        );
    }
}
