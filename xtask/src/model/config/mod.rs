//! `dist-workspace.toml`: the release configuration, read strictly.
//!
//! Key names follow cargo-dist where the meaning is the same (`targets`,
//! `include`, `checksum`, `unix-archive`). Every mistake is reported as one
//! line naming the file, the line and the key, and exits with code 2.

mod bench;
pub(crate) mod cargo_dist;
mod lists;
mod packages;
mod parse;
pub(crate) mod runners;
mod syntax;
pub(crate) mod targets;

pub(crate) use self::bench::BenchWorkload;
pub(crate) use self::packages::{PackageFormat, check_maintainer};
pub(crate) use self::parse::parse;
pub(crate) use self::syntax::{toml_field, toml_string};

use std::fmt;
use std::path::{Path, PathBuf};

use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::target::Target;

pub(crate) const FILE_NAME: &str = "dist-workspace.toml";

/// The release settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DistConfig {
    /// The workspace package to release.
    pub(crate) app: String,
    pub(crate) targets: Vec<Target>,
    /// Files shipped next to the binaries; `None` means the app's README,
    /// licence and changelog files (else the workspace root's).
    pub(crate) include: Option<Vec<Include>>,
    /// The cargo features every build of the release is made with.
    pub(crate) features: Features,
    /// Commands run on the released binaries before anything is published;
    /// `None` means `--version`, which must print the version.
    pub(crate) smoke: Option<Vec<SmokeCommand>>,
    /// Files made by running the built binary (completions, man pages).
    pub(crate) docs: Vec<DocFile>,
    /// `[dist.bench]`: the app's own workloads, which `cargo xtask bench`
    /// times on the released musl binary and a glibc build of the source.
    pub(crate) bench: Vec<BenchWorkload>,
    pub(crate) unix_archive: ArchiveFormat,
    pub(crate) windows_archive: ArchiveFormat,
    /// GitHub tag filter that starts the release workflow.
    pub(crate) tag_pattern: TagPattern,
    /// `https://github.com/<owner>/<repo>`: where releases are published.
    pub(crate) repository: Option<String>,
    /// Which C compiler musl builds give build scripts (`cc`, `cmake` crates).
    pub(crate) c_compiler: CCompiler,
    /// Whether the release workflow attests build provenance; private
    /// repositories on GitHub's Free, Pro and Team plans cannot.
    pub(crate) github_attestations: bool,
    /// `publish-crate`: the publish job runs `cargo publish` for the app
    /// after the GitHub release, and every run packages it first.
    pub(crate) publish_crate: bool,
    /// `rebuild-check`: the release workflow rebuilds every Linux file in
    /// another image and publishes only when each came out identical.
    pub(crate) rebuild_check: bool,
    /// `rebuild-runner`: the runner label of the rebuild jobs; never the
    /// build jobs' own.
    pub(crate) rebuild_runner: String,
    /// `linux-arm-runner`: where aarch64 Linux is built, natively; the
    /// x86_64 Linux runner means cross-built there.
    pub(crate) linux_arm_runner: String,
    /// How much of the release ci.yml's dry run does on a pull request.
    pub(crate) pr_run_mode: PrRunMode,
    /// When ci.yml runs the xtask's own test suite.
    pub(crate) xtask_tests: XtaskTests,
    /// What codegen does with the app's own `[package.metadata.binstall]`.
    pub(crate) binstall_metadata: BinstallMetadata,
    /// What a minimal real system has that smoke runs get in their root.
    pub(crate) smoke_root: Vec<RootItem>,
    /// The system packages made of each Linux archive.
    pub(crate) packages: Vec<PackageFormat>,
    /// `Name <email>` for the packages; else the app's `authors`.
    pub(crate) maintainer: Option<String>,
    /// `owner/repo` of a Homebrew tap the release workflow pushes the formula to.
    pub(crate) homebrew_tap: Option<String>,
}

/// `[dist].smoke-root`: a named part of every real Linux system, put into
/// the smoke runs' otherwise empty root at its usual paths. Named items
/// only, never host paths: a smoke run's output reaches CI logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootItem {
    /// The CA bundle, for HTTPS clients on the platform's certificate store.
    CaCertificates,
    /// `/usr/share/zoneinfo` and a UTC `/etc/localtime`.
    Tzdata,
}

impl RootItem {
    pub(crate) const ALL: [(&'static str, RootItem); 2] = [
        ("ca-certificates", RootItem::CaCertificates),
        ("tzdata", RootItem::Tzdata),
    ];

    /// Its name in dist-workspace.toml (the Debian package's).
    pub(crate) fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, item)| *item == self)
            .map_or("", |(name, _)| name)
    }
}

/// `[dist].binstall-metadata`: codegen writes the app's cargo-binstall
/// metadata; this says what it does when the app's Cargo.toml already has
/// a binstall table of its own (as fd's has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinstallMetadata {
    /// Write the generated block; stop, naming the line, if the app has its
    /// own table: taking it over would silently drop its overrides.
    Generate,
    /// Take the app's own table out and write the generated block.
    ReplaceOwn,
}

impl BinstallMetadata {
    pub(crate) const ALL: [(&'static str, BinstallMetadata); 2] = [
        ("generate", BinstallMetadata::Generate),
        ("replace-own", BinstallMetadata::ReplaceOwn),
    ];
}

/// `[dist].pr-run-mode`, with cargo-dist's values and meaning: what the
/// release dry run in ci.yml does on a pull request. A push to the default
/// branch always builds and verifies every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrRunMode {
    /// No release jobs on pull requests.
    Skip,
    /// Only the plan: the configuration, the generated files, the matrix.
    Plan,
    /// Every target built, packaged, verified (smoke runs included) and
    /// uploaded as the run's artifacts; nothing published.
    Upload,
}

impl PrRunMode {
    pub(crate) const ALL: [(&'static str, PrRunMode); 3] = [
        ("skip", PrRunMode::Skip),
        ("plan", PrRunMode::Plan),
        ("upload", PrRunMode::Upload),
    ];
}

/// `[dist].xtask-tests`: when ci.yml runs the xtask's own suite (its
/// integration tests and the tools only they need). The app's tests, fmt,
/// clippy and `codegen --check` run on every change either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XtaskTests {
    /// On every change: the template repository itself.
    Always,
    /// When a change can affect the xtask: its files, CI's, the toolchain,
    /// or its crates in Cargo.lock (`model::scope`). What `rename` sets.
    WhenChanged,
}

impl XtaskTests {
    pub(crate) const ALL: [(&'static str, XtaskTests); 2] = [
        ("always", XtaskTests::Always),
        ("when-changed", XtaskTests::WhenChanged),
    ];
}

/// One `[dist].include` entry: a file of the workspace and where it goes
/// in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Include {
    /// Relative to the workspace root.
    pub(crate) from: String,
    /// Relative to the archive's top directory, `/`-separated. A plain
    /// string entry keeps only the file name, as cargo-dist does.
    pub(crate) to: String,
}

/// `features`, `default-features` and `all-features`, with cargo-dist's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Features {
    pub(crate) features: Vec<String>,
    pub(crate) no_default_features: bool,
    pub(crate) all_features: bool,
}

impl Features {
    /// The `cargo build` arguments that select these features.
    pub(crate) fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.all_features {
            args.push("--all-features".to_owned());
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        args
    }
}

/// One `[dist].smoke` entry: a command the released binary must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmokeCommand {
    /// Which binary; `None` is the app's main binary.
    pub(crate) bin: Option<String>,
    pub(crate) args: Vec<String>,
    /// Text its output (stdout or stderr) must contain.
    pub(crate) expect: Option<String>,
}

/// One `[dist.docs]` entry: a file of every archive, the standard output of
/// the built binary run with `args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocFile {
    /// Relative to the archive's top directory, `/`-separated.
    pub(crate) path: String,
    /// Which binary; `None` is the app's main binary.
    pub(crate) bin: Option<String>,
    pub(crate) args: Vec<String>,
}

/// Why `path` cannot name a file inside an archive, if it cannot: it must
/// be relative, `/`-separated, without `.`, `..`, empty or hidden-control parts.
pub(crate) fn archive_path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("is empty");
    }
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Some("must be a relative path with `/` separators");
    }
    if path.chars().any(char::is_control) {
        return Some("holds a control character");
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Some("must not hold `.`, `..` or empty parts");
    }
    None
}

/// `[dist].c-compiler`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CCompiler {
    /// The zig the xtask pins, for every musl target, fetched the first
    /// time a build script compiles C: the same compiler on every machine.
    Auto,
    /// The pinned zig, fetched before the build.
    Zig,
    /// Debian's musl-gcc (x86_64 only): bytes depend on the machine's gcc.
    MuslGcc,
    /// Set nothing: the environment (CC_<target>, cargo config) decides.
    None,
    /// This compiler for every musl target; one named `zig` is run as zig.
    Path(PathBuf),
}

/// A GitHub Actions tag filter such as `v[0-9]+.[0-9]+.[0-9]+*`. A release tag
/// is its literal prefix followed by the app's version: `v0.1.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagPattern(String);

pub(crate) const DEFAULT_TAG_PATTERN: &str = "v[0-9]+.[0-9]+.[0-9]+*";

impl TagPattern {
    /// Checks that the pattern can be written into YAML as is and has a
    /// place for the version.
    pub(crate) fn parse(pattern: &str) -> Result<TagPattern, String> {
        if let Some(bad) = pattern
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_./+*?[]!".contains(*c)))
        {
            return Err(format!(
                "`{pattern}` holds `{bad}`; use letters, digits and the filter characters - _ . / + * ? [ ] !"
            ));
        }
        let pattern = TagPattern(pattern.to_owned());
        if pattern.prefix().len() == pattern.0.len() {
            return Err(format!(
                "`{}` matches one tag only; add a wildcard for the version, e.g. `v*`",
                pattern.0
            ));
        }
        Ok(pattern)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The literal text before the first wildcard: `v` for the default.
    pub(crate) fn prefix(&self) -> &str {
        let end = self
            .0
            .find(['*', '?', '+', '[', ']', '!'])
            .unwrap_or(self.0.len());
        &self.0[..end]
    }

    /// The tag that releases `version`.
    pub(crate) fn tag_for(&self, version: &str) -> String {
        format!("{}{version}", self.prefix())
    }
}

/// A mistake in the configuration file: always the user's to fix.
#[derive(Debug)]
pub(crate) struct ConfigError {
    pub(crate) file: PathBuf,
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads and validates `dist-workspace.toml` in `root`.
pub(crate) fn load(root: &Path) -> Result<DistConfig, ConfigError> {
    let file = root.join(FILE_NAME);
    let text = std::fs::read_to_string(&file).map_err(|err| {
        // cargo-dist's older home for its settings.
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
        let message = if cargo_dist_in_manifest(&manifest) {
            "cannot read the release configuration, and Cargo.toml has cargo-dist's \
             [workspace.metadata.dist]: run `cargo xtask migrate` to convert it into dist-workspace.toml, \
             keeping what maps and naming every key that does not"
                .to_owned()
        } else {
            format!("cannot read the release configuration ({err}); create it with a [dist] table")
        };
        ConfigError {
            file: file.clone(),
            line: None,
            message,
        }
    })?;
    parse(&text, &file)
}

/// cargo-dist's `[workspace.metadata.dist]` table in a Cargo.toml, if any.
pub(crate) fn cargo_dist_in_manifest(manifest: &str) -> bool {
    use toml::de::{DeTable, DeValue};
    let Ok(doc) = DeTable::parse(manifest) else {
        return false;
    };
    let mut table = doc.get_ref();
    for key in ["workspace", "metadata"] {
        match toml_field(table, key) {
            Some(DeValue::Table(inner)) => table = inner,
            _ => return false,
        }
    }
    toml_field(table, "dist").is_some()
}

/// The repository URL goes into a shell script and TOML as a literal, so it
/// may hold only what URLs of code hosts hold.
pub(crate) fn check_repository(url: &str) -> Result<String, String> {
    let url = url.trim_end_matches('/');
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(format!(
            "`{url}` must be an https:// URL, e.g. https://github.com/<owner>/<repo>"
        ));
    };
    if let Some(bad) = rest
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_./~".contains(*c)))
    {
        return Err(format!(
            "`{url}` holds `{bad}`; give the plain repository URL, e.g. https://github.com/<owner>/<repo>"
        ));
    }
    if rest.split('/').filter(|p| !p.is_empty()).count() < 3 {
        return Err(format!(
            "`{url}` is not a repository URL; expected https://<host>/<owner>/<repo>"
        ));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("dist-workspace.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_a_full_config() {
        let cfg = parse(
            "[dist]\napp = \"toolbox\"\ntargets = [\"x86_64-unknown-linux-musl\"]\ninclude = [\"README.md\"]\nchecksum = \"sha256\"\nunix-archive = \".tar.gz\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(cfg.app, "toolbox");
        assert_eq!(cfg.targets[0].triple, "x86_64-unknown-linux-musl");
        assert_eq!(
            cfg.include,
            Some(vec![Include {
                from: "README.md".into(),
                to: "README.md".into()
            }])
        );
        assert_eq!(cfg.unix_archive, ArchiveFormat::TarGz);
    }

    #[test]
    fn defaults_when_keys_are_absent() {
        let cfg = parse("[dist]\napp = \"toolbox\"\n", Path::new("x")).unwrap();
        assert_eq!(cfg.targets, targets::defaults());
        assert_eq!(cfg.include, None);
        assert_eq!(cfg.unix_archive, ArchiveFormat::TarXz);
        assert!(cfg.rebuild_check);
        assert_eq!(cfg.rebuild_runner, runners::REBUILD_RUNNER);
    }

    #[test]
    fn the_rebuild_is_turned_off_or_moved_and_never_onto_the_builds_runner() {
        let cfg = parse(
            "[dist]\napp = \"a\"\nrebuild-check = false\nrebuild-runner = \"ubuntu-25.04\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert!(!cfg.rebuild_check && runners::rebuilt_targets(&cfg).is_empty());
        assert_eq!(cfg.rebuild_runner, "ubuntu-25.04");
        assert_eq!(
            parse_err("[dist]\napp = \"a\"\nrebuild-runner = \"ubuntu-latest\"\n"),
            "dist-workspace.toml:3: `[dist].rebuild-runner`: `ubuntu-latest` is where the Linux builds run; \
             a rebuild there proves little: name another image, such as \"ubuntu-22.04\""
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\nrebuild-check = \"yes\"\n")
                .contains("must be true or false")
        );
    }

    #[test]
    fn unknown_key_names_key_line_and_closest() {
        let err =
            parse_err("[dist]\napp = \"toolbox\"\ntarget = [\"x86_64-unknown-linux-musl\"]\n");
        assert_eq!(
            err,
            "dist-workspace.toml:3: unknown key `[dist].target`; did you mean `targets`?"
        );
    }

    #[test]
    fn syntax_error_is_one_line_with_line_number() {
        let err = parse_err("[dist]\napp = \"toolbox\nx = 1\n");
        assert!(
            err.starts_with("dist-workspace.toml:2: invalid TOML:"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn wrong_types_empty_and_duplicate_targets() {
        assert!(
            parse_err("[dist]\napp = 1\n").contains("`[dist].app` must be a string, found integer")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\ntargets = \"x86_64-unknown-linux-musl\"\n")
                .contains("must be an array of strings")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\ntargets = []\n")
                .contains(":3: `[dist].targets` is empty")
        );
        let dup = "[dist]\napp = \"a\"\ntargets = [\"x86_64-unknown-linux-musl\",\n \"x86_64-unknown-linux-musl\"]\n";
        assert!(
            parse_err(dup).contains(":4: `[dist].targets` lists `x86_64-unknown-linux-musl` twice")
        );
    }

    #[test]
    fn misspelt_target_and_unknown_table() {
        let err = parse_err("[dist]\napp = \"a\"\ntargets = [\"x86_64-unknown-linux-mulс\"]\n");
        assert!(
            err.contains(":3:") && err.contains("did you mean `x86_64-unknown-linux-musl`"),
            "{err}"
        );
        assert!(
            parse_err("[dits]\napp = \"a\"\n")
                .contains("unknown table `[dits]`; did you mean `dist`?")
        );
        assert!(parse_err("").contains("no [dist] table"));
    }

    #[test]
    fn tag_pattern_gives_the_release_tag() {
        let cfg = parse("[dist]\napp = \"a\"\n", Path::new("x")).unwrap();
        assert_eq!(cfg.tag_pattern.as_str(), DEFAULT_TAG_PATTERN);
        assert_eq!(cfg.tag_pattern.tag_for("1.2.3"), "v1.2.3");
        let cfg = parse(
            "[dist]\napp = \"a\"\ntag-pattern = \"toolbox/v*\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(cfg.tag_pattern.tag_for("1.2.3"), "toolbox/v1.2.3");
        assert!(
            parse_err("[dist]\napp = \"a\"\ntag-pattern = \"v1.0\"\n")
                .contains(":3: `[dist].tag-pattern`")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\ntag-pattern = \"v\\\"*\"\n").contains("holds `\"`")
        );
    }

    #[test]
    fn repository_must_be_a_plain_https_url() {
        let cfg = parse(
            "[dist]\napp = \"a\"\nrepository = \"https://github.com/o/r/\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(cfg.repository.as_deref(), Some("https://github.com/o/r"));
        for bad in [
            "http://github.com/o/r",
            "https://github.com/o",
            "https://github.com/o/r$(reboot)",
        ] {
            let err = parse_err(&format!("[dist]\napp = \"a\"\nrepository = \"{bad}\"\n"));
            assert!(err.contains(":3: `[dist].repository`"), "{err}");
        }
    }

    #[test]
    fn c_compiler_choices() {
        let c = |v: &str| {
            parse(
                &format!("[dist]\napp = \"a\"\nc-compiler = \"{v}\"\n"),
                Path::new("x"),
            )
            .map(|c| c.c_compiler)
        };
        assert_eq!(
            parse("[dist]\napp = \"a\"\n", Path::new("x"))
                .unwrap()
                .c_compiler,
            CCompiler::Auto
        );
        assert_eq!(c("zig").unwrap(), CCompiler::Zig);
        assert_eq!(c("musl-gcc").unwrap(), CCompiler::MuslGcc);
        assert_eq!(c("/opt/cc").unwrap(), CCompiler::Path("/opt/cc".into()));
        let err = c("zgi").unwrap_err().to_string();
        assert!(
            err.contains(":3: `[dist].c-compiler = \"zgi\"` is not known; did you mean `zig`?"),
            "{err}"
        );
    }

    #[test]
    fn ci_choices_have_their_defaults_and_name_the_values() {
        let cfg = parse("[dist]\napp = \"a\"\n", Path::new("x")).unwrap();
        assert_eq!(cfg.pr_run_mode, PrRunMode::Upload);
        assert_eq!(cfg.xtask_tests, XtaskTests::WhenChanged);
        let cfg = parse(
            "[dist]\napp = \"a\"\npr-run-mode = \"plan\"\nxtask-tests = \"always\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(cfg.pr_run_mode, PrRunMode::Plan);
        assert_eq!(cfg.xtask_tests, XtaskTests::Always);
        assert_eq!(
            parse_err("[dist]\napp = \"a\"\npr-run-mode = \"uplaod\"\n"),
            "dist-workspace.toml:3: `[dist].pr-run-mode = \"uplaod\"` is not known; did you mean `upload`?; \
             use \"skip\" or \"plan\" or \"upload\""
        );
        assert!(parse_err("[dist]\napp = \"a\"\nxtask-tests = true\n").contains("xtask-tests"),);
    }

    #[test]
    fn unsupported_values() {
        assert!(parse_err("[dist]\napp = \"a\"\nchecksum = \"md5\"\n").contains("use \"sha256\""));
        assert!(parse_err("[dist]\napp = \"a\"\nunix-archive = \".rar\"\n").contains(":3:"));
        assert!(
            parse_err("[dist]\napp = \"a\"\ninclude = [\"../secret\"]\n")
                .contains("inside the workspace")
        );
    }

    #[test]
    fn include_tables_place_files_and_paths_are_checked() {
        let cfg = parse(
            "[dist]\napp = \"a\"\ninclude = [\"doc/GUIDE.md\", { from = \"doc/CHANGES.md\", to = \"doc/CHANGELOG.md\" }, { from = \"x/COPYING\" }]\n",
            Path::new("x"),
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = cfg
            .include
            .as_ref()
            .unwrap()
            .iter()
            .map(|i| (i.from.as_str(), i.to.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("doc/GUIDE.md", "GUIDE.md"),
                ("doc/CHANGES.md", "doc/CHANGELOG.md"),
                ("x/COPYING", "COPYING")
            ]
        );
        for (bad, why) in [
            ("{ to = \"x\" }", "needs `from`"),
            (
                "{ from = \"a\", to = \"../a\" }",
                "the archive path `../a` must not hold",
            ),
            ("{ from = \"a\", to = \"/a\" }", "must be a relative path"),
            ("{ from = \"a\", dest = \"b\" }", "unknown field `dest`"),
            (
                "\"a/README\", \"b/README\"",
                "two files would be stored as `README`",
            ),
            ("3", "found integer"),
        ] {
            let err = parse_err(&format!("[dist]\napp = \"a\"\ninclude = [{bad}]\n"));
            assert!(
                err.contains(":3: `[dist].include`") && err.contains(why),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn features_follow_cargo_dist() {
        let cfg = parse(
            "[dist]\napp = \"a\"\nfeatures = [\"x\", \"y\"]\ndefault-features = false\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(
            cfg.features.cargo_args(),
            ["--no-default-features", "--features", "x,y"]
        );
        assert!(
            parse("[dist]\napp = \"a\"\n", Path::new("x"))
                .unwrap()
                .features
                .cargo_args()
                .is_empty()
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\nall-features = \"yes\"\n")
                .contains("must be true or false")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\nfeatures = [\"x,y\"]\n")
                .contains("one feature per string")
        );
        assert!(
            parse_err("[dist]\napp = \"a\"\nfeatures = [\"x\", \"x\"]\n")
                .contains("lists `x` twice")
        );
    }

    #[test]
    fn smoke_commands_are_argument_lists_or_tables() {
        let cfg = parse(
            "[dist]\napp = \"a\"\nsmoke = [[\"--version\"], { args = [\"greet\", \"Ada\"], expect = \"Hello, Ada\" }, { bin = \"b\", args = [] }]\n",
            Path::new("x"),
        )
        .unwrap();
        let smoke = cfg.smoke.unwrap();
        assert_eq!(
            smoke[0],
            SmokeCommand {
                bin: None,
                args: vec!["--version".into()],
                expect: None
            }
        );
        assert_eq!(smoke[1].expect.as_deref(), Some("Hello, Ada"));
        assert_eq!(smoke[2].bin.as_deref(), Some("b"));
        assert!(
            parse("[dist]\napp = \"a\"\n", Path::new("x"))
                .unwrap()
                .smoke
                .is_none()
        );
        for (bad, why) in [
            ("[]", "is empty"),
            ("[\"--version\"]", "entries are argument lists or"),
            ("[{ expect = \"x\" }]", "needs `args`"),
            ("[{ args = [], expect = \"\" }]", "`expect` is empty"),
            ("[{ args = [], exepct = \"x\" }]", "did you mean `expect`?"),
            ("[[1]]", "must hold strings"),
        ] {
            let err = parse_err(&format!("[dist]\napp = \"a\"\nsmoke = {bad}\n"));
            assert!(err.contains(":3:") && err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn docs_map_archive_paths_to_arguments() {
        let cfg = parse(
            "[dist]\napp = \"a\"\n[dist.docs]\n\"complete/a.bash\" = [\"--generate\", \"complete-bash\"]\n\"doc/b.1\" = { bin = \"b\", args = [\"man\"] }\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(
            cfg.docs,
            [
                DocFile {
                    path: "complete/a.bash".into(),
                    bin: None,
                    args: vec!["--generate".into(), "complete-bash".into()]
                },
                DocFile {
                    path: "doc/b.1".into(),
                    bin: Some("b".into()),
                    args: vec!["man".into()]
                },
            ]
        );
        let err = parse_err("[dist]\napp = \"a\"\n[dist.docs]\n\"../x\" = [\"man\"]\n");
        assert!(
            err.contains(":4: `[dist.docs]`: the archive path `../x`"),
            "{err}"
        );
        let err = parse_err("[dist]\napp = \"a\"\n[dist.docs]\n\"doc/x.1\" = \"man\"\n");
        assert!(
            err.contains(":4:") && err.contains("must be the binary's arguments"),
            "{err}"
        );
        assert!(parse_err("[dist]\napp = \"a\"\ndocs = [\"x\"]\n").contains("must be a table"));
    }
}
