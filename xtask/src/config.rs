//! `dist-workspace.toml`: the release configuration, read strictly.
//!
//! Key names follow cargo-dist where the meaning is the same (`targets`,
//! `include`, `checksum`, `unix-archive`). Every mistake is reported as one
//! line naming the file, the line and the key, and exits with code 2.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::package::ArchiveFormat;
use crate::suggest::did_you_mean;
use crate::target::{self, Target};

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
    /// Debian's musl-gcc for x86_64 when installed, else zig, else none.
    Auto,
    Zig,
    MuslGcc,
    /// Set nothing: the environment (CC_<target>, cargo config) decides.
    None,
    /// This compiler for every musl target.
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

const DIST_KEYS: &[&str] = &[
    "app",
    "targets",
    "include",
    "checksum",
    "unix-archive",
    "windows-archive",
    "tag-pattern",
    "repository",
    "c-compiler",
    "features",
    "default-features",
    "all-features",
    "smoke",
    "docs",
    "github-attestations",
];

/// Reads and validates `dist-workspace.toml` in `root`.
pub(crate) fn load(root: &Path) -> Result<DistConfig, ConfigError> {
    let file = root.join(FILE_NAME);
    let text = std::fs::read_to_string(&file).map_err(|err| ConfigError {
        file: file.clone(),
        line: None,
        message: format!(
            "cannot read the release configuration ({err}); create it with a [dist] table"
        ),
    })?;
    parse(&text, &file)
}

/// Parses configuration text; `file` only labels errors.
pub(crate) fn parse(text: &str, file: &Path) -> Result<DistConfig, ConfigError> {
    let reader = Reader { text, file };
    let doc = DeTable::parse(text).map_err(|err| {
        // toml's message is one sentence; the location goes in front, as for our own errors.
        let line = err.span().map(|s| reader.line_of(s.start));
        let message = format!(
            "invalid TOML: {}",
            err.message().trim_end().replace('\n', " ")
        );
        ConfigError {
            file: file.to_owned(),
            line,
            message,
        }
    })?;
    let doc = doc.get_ref();

    for (key, _) in sorted(doc) {
        if key.get_ref() != "dist" {
            let hint = did_you_mean(key.get_ref(), ["dist"]);
            return Err(reader.error(
                key.span(),
                format!(
                    "unknown table `[{}]`{hint}; release settings go in [dist]",
                    key.get_ref()
                ),
            ));
        }
    }
    let Some((dist_key, dist)) = doc.iter().find(|(k, _)| k.get_ref() == "dist") else {
        return Err(reader.error(
            0..0,
            "no [dist] table; add one with at least `app = \"<package>\"`".into(),
        ));
    };
    let DeValue::Table(dist) = dist.get_ref() else {
        return Err(reader.error(
            dist_key.span(),
            "`dist` must be a table: write `[dist]` above its keys".into(),
        ));
    };

    for (key, _) in sorted(dist) {
        if !DIST_KEYS.contains(&key.get_ref().as_ref()) {
            let hint = did_you_mean(key.get_ref(), DIST_KEYS.iter().copied());
            return Err(reader.error(
                key.span(),
                format!("unknown key `[dist].{}`{hint}", key.get_ref()),
            ));
        }
    }
    let get = |name: &str| {
        dist.iter()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, v)| v)
    };

    let app = match get("app") {
        Some(v) => reader.string(v, "app")?.to_owned(),
        None => {
            return Err(reader.error(
                dist_key.span(),
                "missing `[dist].app`: name the package to release, e.g. `app = \"<package>\"`"
                    .into(),
            ));
        }
    };

    let targets = match get("targets") {
        None => target::default_targets(),
        Some(v) => {
            let items = reader.strings(v, "targets")?;
            if items.is_empty() {
                return Err(reader.error(
                    v.span(),
                    "`[dist].targets` is empty: list at least one target, or remove the key for the defaults".into(),
                ));
            }
            let mut targets: Vec<Target> = Vec::new();
            for (triple, span) in items {
                let target = Target::parse(triple)
                    .map_err(|e| reader.error(span.clone(), format!("`[dist].targets`: {e}")))?;
                if targets.contains(&target) {
                    return Err(
                        reader.error(span, format!("`[dist].targets` lists `{triple}` twice"))
                    );
                }
                targets.push(target);
            }
            targets
        }
    };

    let include = match get("include") {
        None => None,
        Some(v) => Some(includes(&reader, v)?),
    };

    let features = Features {
        features: match get("features") {
            None => Vec::new(),
            Some(v) => {
                let mut names: Vec<String> = Vec::new();
                for (name, span) in reader.strings(v, "features")? {
                    if name.is_empty() || name.contains([',', ' ']) {
                        let why = "one feature per string, e.g. `features = [\"a\", \"b\"]`";
                        return Err(
                            reader.error(span, format!("`[dist].features`: `{name}`: {why}"))
                        );
                    }
                    if names.iter().any(|n| n == name) {
                        return Err(
                            reader.error(span, format!("`[dist].features` lists `{name}` twice"))
                        );
                    }
                    names.push(name.to_owned());
                }
                names
            }
        },
        no_default_features: !get("default-features")
            .map(|v| reader.boolean(v, "default-features"))
            .transpose()?
            .unwrap_or(true),
        all_features: get("all-features")
            .map(|v| reader.boolean(v, "all-features"))
            .transpose()?
            .unwrap_or(false),
    };

    let smoke = match get("smoke") {
        None => None,
        Some(v) => Some(smoke_commands(&reader, v)?),
    };

    let docs = match get("docs") {
        None => Vec::new(),
        Some(v) => doc_files(&reader, v)?,
    };

    if let Some(v) = get("checksum") {
        let algo = reader.string(v, "checksum")?;
        if algo != "sha256" {
            return Err(reader.error(
                v.span(),
                format!("`[dist].checksum = \"{algo}\"` is not supported; use \"sha256\""),
            ));
        }
    }

    let archive = |key: &str, default: ArchiveFormat| -> Result<ArchiveFormat, ConfigError> {
        let Some(v) = get(key) else {
            return Ok(default);
        };
        let ext = reader.string(v, key)?;
        ArchiveFormat::from_extension(ext).ok_or_else(|| {
            let hint = did_you_mean(ext, [".tar.xz", ".tar.gz", ".zip"]);
            let message =
                format!("`[dist].{key} = \"{ext}\"` is not supported{hint}; use \".tar.xz\", \".tar.gz\" or \".zip\"");
            reader.error(v.span(), message)
        })
    };
    let unix_archive = archive("unix-archive", ArchiveFormat::TarXz)?;
    let windows_archive = archive("windows-archive", ArchiveFormat::Zip)?;

    let tag_pattern = match get("tag-pattern") {
        None => TagPattern(DEFAULT_TAG_PATTERN.to_owned()),
        Some(v) => TagPattern::parse(reader.string(v, "tag-pattern")?)
            .map_err(|why| reader.error(v.span(), format!("`[dist].tag-pattern`: {why}")))?,
    };

    let repository = match get("repository") {
        None => None,
        Some(v) => Some(
            check_repository(reader.string(v, "repository")?)
                .map_err(|why| reader.error(v.span(), format!("`[dist].repository`: {why}")))?,
        ),
    };

    let c_compiler = match get("c-compiler") {
        None => CCompiler::Auto,
        Some(v) => match reader.string(v, "c-compiler")? {
            "auto" => CCompiler::Auto,
            "zig" => CCompiler::Zig,
            "musl-gcc" => CCompiler::MuslGcc,
            "none" => CCompiler::None,
            path if path.contains('/') => CCompiler::Path(PathBuf::from(path)),
            other => {
                let hint = did_you_mean(other, ["auto", "zig", "musl-gcc", "none"]);
                return Err(reader.error(
                    v.span(),
                    format!(
                        "`[dist].c-compiler = \"{other}\"` is not known{hint}; use \"auto\", \"zig\", \"musl-gcc\", \"none\" or a path such as \"/usr/bin/musl-gcc\""
                    ),
                ));
            }
        },
    };

    let github_attestations = get("github-attestations")
        .map(|v| reader.boolean(v, "github-attestations"))
        .transpose()?
        .unwrap_or(true);

    Ok(DistConfig {
        github_attestations,
        app,
        targets,
        include,
        features,
        smoke,
        docs,
        unix_archive,
        windows_archive,
        tag_pattern,
        repository,
        c_compiler,
    })
}

/// `include = ["README.md", { from = "doc/CHANGES.md", to = "doc/CHANGELOG.md" }]`.
fn includes(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<Include>, ConfigError> {
    let mut files: Vec<Include> = Vec::new();
    for item in reader.array(value, "include")? {
        let (from, to) = match item.get_ref() {
            DeValue::String(from) => {
                let name = from.rsplit(['/', '\\']).next().unwrap_or_default();
                (from.to_string(), name.to_owned())
            }
            DeValue::Table(table) => {
                let fields = reader.fields(table, "include", &["from", "to"])?;
                let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                let Some(from) = field("from") else {
                    let why = "an include table needs `from` (and `to`), e.g. `{ from = \"doc/CHANGES.md\", to = \"CHANGELOG.md\" }`";
                    return Err(reader.error(item.span(), format!("`[dist].include`: {why}")));
                };
                let from = reader.string(from, "include.from")?.to_owned();
                let to = match field("to") {
                    Some(to) => reader.string(to, "include.to")?.to_owned(),
                    None => from
                        .rsplit(['/', '\\'])
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                };
                (from, to)
            }
            other => {
                let found = other.type_str();
                let why = format!(
                    "entries are paths or `{{ from = \"…\", to = \"…\" }}` tables, found {found}"
                );
                return Err(reader.error(item.span(), format!("`[dist].include`: {why}")));
            }
        };
        if from.is_empty()
            || Path::new(&from).is_absolute()
            || Path::new(&from).components().any(|c| c.as_os_str() == "..")
        {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include`: `{from}` must be a path inside the workspace, relative to its root"),
            ));
        }
        if let Some(why) = archive_path_problem(&to) {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include`: the archive path `{to}` {why}"),
            ));
        }
        if files.iter().any(|f| f.from == from) {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include` lists `{from}` twice"),
            ));
        }
        if files.iter().any(|f| f.to == to) {
            return Err(reader.error(
                item.span(),
                format!("`[dist].include`: two files would be stored as `{to}` in the archive; give one a `to`"),
            ));
        }
        files.push(Include { from, to });
    }
    Ok(files)
}

/// `smoke = [["--version"], { args = ["greet"], expect = "Hello", bin = "…" }]`.
fn smoke_commands(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<SmokeCommand>, ConfigError> {
    let mut commands = Vec::new();
    for item in reader.array(value, "smoke")? {
        let command = match item.get_ref() {
            DeValue::Array(_) => SmokeCommand {
                bin: None,
                args: reader.owned_strings(item, "smoke")?,
                expect: None,
            },
            DeValue::Table(table) => {
                let fields = reader.fields(table, "smoke", &["args", "expect", "bin"])?;
                let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                let Some(args) = field("args") else {
                    let why = "a smoke table needs `args`, e.g. `{ args = [\"--help\"], expect = \"Usage\" }`";
                    return Err(reader.error(item.span(), format!("`[dist].smoke`: {why}")));
                };
                let expect = match field("expect") {
                    None => None,
                    Some(v) if reader.string(v, "smoke.expect")?.is_empty() => {
                        return Err(reader.error(v.span(), "`[dist].smoke`: `expect` is empty; leave it out to only check the exit code".into()));
                    }
                    Some(v) => Some(reader.string(v, "smoke.expect")?.to_owned()),
                };
                let bin = field("bin")
                    .map(|v| reader.string(v, "smoke.bin").map(str::to_owned))
                    .transpose()?;
                SmokeCommand {
                    bin,
                    args: reader.owned_strings(args, "smoke.args")?,
                    expect,
                }
            }
            other => {
                let found = other.type_str();
                let why = format!(
                    "entries are argument lists or `{{ args = […], expect = \"…\" }}` tables, found {found}"
                );
                return Err(reader.error(item.span(), format!("`[dist].smoke`: {why}")));
            }
        };
        commands.push(command);
    }
    if commands.is_empty() {
        return Err(reader.error(
            value.span(),
            "`[dist].smoke` is empty: list at least one command, or remove the key for `--version`"
                .into(),
        ));
    }
    Ok(commands)
}

/// `[dist.docs]`: `"complete/app.bash" = ["--generate", "complete-bash"]`, or
/// `{ bin = "…", args = […] }` for another binary than the main one.
fn doc_files(
    reader: &Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<DocFile>, ConfigError> {
    let DeValue::Table(table) = value.get_ref() else {
        let found = value.get_ref().type_str();
        let why = format!(
            "must be a table of archive paths and arguments, found {found}: write `[dist.docs]` above `\"doc/app.1\" = [\"--generate\", \"man\"]`"
        );
        return Err(reader.error(value.span(), format!("`[dist].docs` {why}")));
    };
    let mut files = Vec::new();
    for (key, item) in sorted(table) {
        let path = key.get_ref().to_string();
        if let Some(why) = archive_path_problem(&path) {
            return Err(reader.error(
                key.span(),
                format!("`[dist.docs]`: the archive path `{path}` {why}"),
            ));
        }
        let (bin, args) = match item.get_ref() {
            DeValue::Array(_) => (None, reader.owned_strings(item, "docs")?),
            DeValue::Table(t) => {
                let fields = reader.fields(t, "docs", &["args", "bin"])?;
                let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                let Some(args) = field("args") else {
                    return Err(
                        reader.error(item.span(), format!("`[dist.docs]`: `{path}` needs `args`"))
                    );
                };
                let bin = field("bin")
                    .map(|v| reader.string(v, "docs.bin").map(str::to_owned))
                    .transpose()?;
                (bin, reader.owned_strings(args, "docs.args")?)
            }
            other => {
                let found = other.type_str();
                return Err(reader.error(
                    item.span(),
                    format!("`[dist.docs]`: `{path}` must be the binary's arguments, e.g. [\"--generate\", \"man\"], found {found}"),
                ));
            }
        };
        files.push(DocFile { path, bin, args });
    }
    Ok(files)
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

/// The value of `key` in a TOML table read without a schema (Cargo.lock,
/// cargo config files).
pub(crate) fn toml_field<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a DeValue<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v.get_ref())
}

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

/// Table entries in file order, so the first mistake reported is the first in the file.
fn sorted<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

struct Reader<'t> {
    text: &'t str,
    file: &'t Path,
}

impl Reader<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line: Some(self.line_of(span.start)),
            message,
        }
    }

    fn string<'v>(
        &self,
        value: &'v Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<&'v str, ConfigError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            other => Err(self.error(
                value.span(),
                format!(
                    "`[dist].{key}` must be a string, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn boolean(&self, value: &Spanned<DeValue<'_>>, key: &str) -> Result<bool, ConfigError> {
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            other => Err(self.error(
                value.span(),
                format!(
                    "`[dist].{key}` must be true or false, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn array<'v, 'i>(
        &self,
        value: &'v Spanned<DeValue<'i>>,
        key: &str,
    ) -> Result<&'v [Spanned<DeValue<'i>>], ConfigError> {
        match value.get_ref() {
            DeValue::Array(items) => Ok(items),
            other => Err(self.error(
                value.span(),
                format!(
                    "`[dist].{key}` must be an array, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn owned_strings(
        &self,
        value: &Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .strings(value, key)?
            .into_iter()
            .map(|(s, _)| s.to_owned())
            .collect())
    }

    /// The fields of an inline table, each of which must be one of `known`.
    fn fields<'v, 'i>(
        &self,
        table: &'v DeTable<'i>,
        key: &str,
        known: &[&str],
    ) -> Result<Vec<(&'v str, &'v Spanned<DeValue<'i>>)>, ConfigError> {
        let mut fields = Vec::new();
        for (key_name, field) in sorted(table) {
            let name: &str = key_name.get_ref();
            if !known.contains(&name) {
                let hint = did_you_mean(name, known.iter().copied());
                let list = known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(self.error(
                    key_name.span(),
                    format!("`[dist].{key}`: unknown field `{name}`{hint}; known: {list}"),
                ));
            }
            fields.push((name, field));
        }
        Ok(fields)
    }

    fn strings<'v>(
        &self,
        value: &'v Spanned<DeValue<'_>>,
        key: &str,
    ) -> Result<Vec<(&'v str, std::ops::Range<usize>)>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            let found = value.get_ref().type_str();
            return Err(self.error(
                value.span(),
                format!("`[dist].{key}` must be an array of strings, found {found}"),
            ));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) => Ok((s.as_ref(), item.span())),
                other => Err(self.error(
                    item.span(),
                    format!(
                        "`[dist].{key}` must hold strings, found {}",
                        other.type_str()
                    ),
                )),
            })
            .collect()
    }
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
        assert_eq!(cfg.targets, target::default_targets());
        assert_eq!(cfg.include, None);
        assert_eq!(cfg.unix_archive, ArchiveFormat::TarXz);
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
