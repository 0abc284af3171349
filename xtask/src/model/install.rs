//! Installers: their text and the release they carry (`Installer`), and
//! which files of an archive they put in place besides the binaries, and as
//! what — shell completions and man pages, recognised by the names the
//! shells and `man` look for; and which build each machine gets. Pure.

use xtask_inspect::target::{Arch, Os, Target};

use crate::model::config::DistConfig;

/// The build an installer (shell, PowerShell, Homebrew, binstall) gives a
/// machine of `os` and `arch`, among `targets`: on macOS a universal build
/// first (one binary, whichever CPU the Mac has or moves to), then one of
/// the machine's own CPU (MSVC before GNU on Windows), then one it runs:
/// i686 on x86_64 Linux and Windows, x64 under Windows 11's emulation on Arm.
pub(crate) fn build_for<'a>(
    targets: impl IntoIterator<Item = &'a Target> + Clone,
    os: Os,
    arch: Arch,
) -> Option<&'a Target> {
    let own = |arch: Arch| {
        targets
            .clone()
            .into_iter()
            .filter(|t| t.serves(os, arch))
            .min_by_key(|t| (!t.is_universal(), t.triple.ends_with("-gnu")))
    };
    let fallback = match (os, arch) {
        (Os::Linux | Os::Windows, Arch::X86_64) => Some(Arch::I686),
        (Os::Windows, Arch::Aarch64) => Some(Arch::X86_64),
        (Os::Linux | Os::Windows | Os::Macos, _) => None,
    };
    own(arch).or_else(|| fallback.and_then(own))
}

/// What a file of an archive is to an installer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DocKind {
    /// bash-completion loads `completions/<command>` on first use.
    Bash,
    /// zsh autoloads `_<command>` from a directory on its `fpath`.
    Zsh,
    /// fish loads `completions/<command>.fish`.
    Fish,
    /// `man<section>/<name>.<section>`.
    Man(u8),
}

impl DocKind {
    /// The installer's name for the kind, also its destination variable.
    pub(crate) fn key(self) -> String {
        match self {
            DocKind::Bash => "bash".into(),
            DocKind::Zsh => "zsh".into(),
            DocKind::Fish => "fish".into(),
            DocKind::Man(section) => format!("man{section}"),
        }
    }
}

/// The installer script of a release: its file name and text, as the
/// configuration makes it, with the release's version and sums left empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installer {
    pub(crate) name: String,
    pub(crate) text: String,
}

impl Installer {
    /// The installer as a release publishes it: its lines
    /// `RELEASE_VERSION=""` and `RELEASE_SUMS=""` filled with `version` and
    /// each archive's `name:sha256`, so it checks what it downloads against
    /// hashes it carries rather than a `.sha256` beside the archive. Only
    /// names of plain characters are carried (every archive name `dist`
    /// makes); another falls back to its sidecar. Those two lines are all
    /// that differs between two releases of one configuration, so merging
    /// build jobs' installers is this function applied to any of them.
    pub(crate) fn for_release(&self, version: &str, archives: &[(&str, &str)]) -> String {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        };
        let version = if plain(version) { version } else { "" };
        // By name: one dist run and a merge of its jobs give the same text.
        let mut sums: Vec<String> = archives
            .iter()
            .filter(|(name, sha)| plain(name) && plain(sha))
            .map(|(name, sha)| format!("{name}:{sha}"))
            .collect();
        sums.sort();
        let mut out = String::with_capacity(self.text.len() + sums.len() * 128);
        // The same two lines in the shell and the PowerShell installer.
        for line in self.text.split_inclusive('\n') {
            if line.starts_with("RELEASE_VERSION=") {
                out.push_str(&format!("RELEASE_VERSION=\"{version}\"\n"));
            } else if line.starts_with("RELEASE_SUMS=") {
                out.push_str(&format!("RELEASE_SUMS=\"{}\"\n", sums.join(" ")));
            } else if line.starts_with("$ReleaseVersion = ") {
                out.push_str(&format!("$ReleaseVersion = '{version}'\n"));
            } else if line.starts_with("$ReleaseSums = ") {
                out.push_str(&format!("$ReleaseSums = '{}'\n", sums.join(" ")));
            } else {
                out.push_str(line);
            }
        }
        out
    }
}

/// A file of every archive that is installed, and the name it gets there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstalledDoc {
    /// Below the archive's top directory, `/`-separated.
    pub(crate) path: String,
    pub(crate) kind: DocKind,
    /// The file name in its destination directory.
    pub(crate) name: String,
}

/// The kind of the file at archive path `path`, and its installed name;
/// `None` for files no installer places (README, licences, PowerShell or
/// elvish completions, which have no standard per-user directory).
pub(crate) fn classify(path: &str) -> Option<InstalledDoc> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let plain = file.strip_suffix(".gz").unwrap_or(file);
    // The command each file is for, and the name it is installed as.
    let (kind, command, name) = if let Some(command) = file.strip_suffix(".bash") {
        (DocKind::Bash, command, command.to_owned())
    } else if let Some(command) = file.strip_suffix(".fish") {
        (DocKind::Fish, command, file.to_owned())
    } else if let Some(command) = file.strip_suffix(".zsh") {
        (DocKind::Zsh, command, format!("_{command}"))
    } else if let Some(command) = file.strip_prefix('_').filter(|c| !c.contains('.')) {
        (DocKind::Zsh, command, file.to_owned())
    } else if let Some((command, section)) = man_page(plain) {
        (DocKind::Man(section), command, file.to_owned())
    } else {
        return None;
    };
    if command.is_empty() || command.starts_with('.') {
        return None;
    }
    Some(InstalledDoc {
        path: path.to_owned(),
        kind,
        name,
    })
}

/// `("fd", 1)` for `fd.1`; `None` unless the name ends in a one-digit
/// section, as man pages are named.
fn man_page(name: &str) -> Option<(&str, u8)> {
    let (stem, section) = name.rsplit_once('.')?;
    match section.as_bytes() {
        [d @ b'1'..=b'9'] => Some((stem, d - b'0')),
        _ => None,
    }
}

/// Characters an installed file's archive path may hold: the installer
/// writes the list into a script, and a shell word of these needs no quoting.
fn plain_path(path: &str) -> bool {
    path.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._/+-@".contains(&b))
}

/// The files of every archive of `config`'s release that installers put in
/// place: `[dist.docs]` and the configured `include` files, by archive path,
/// the first of two that would land on one destination winning.
pub(crate) fn installed_docs(config: &DistConfig) -> Vec<InstalledDoc> {
    let docs = config.docs.iter().map(|d| d.path.as_str());
    let includes = config.include.iter().flatten().map(|i| i.to.as_str());
    let mut found: Vec<InstalledDoc> = Vec::new();
    for path in docs.chain(includes).filter(|p| plain_path(p)) {
        let Some(doc) = classify(path) else { continue };
        if !found
            .iter()
            .any(|f| f.kind == doc.kind && f.name == doc.name)
        {
            found.push(doc);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_machine_gets_a_universal_mac_build_its_own_cpu_s_or_one_it_runs() {
        let targets: Vec<Target> = [
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
            "universal2-apple-darwin",
            "x86_64-pc-windows-gnu",
            "x86_64-pc-windows-msvc",
            "i686-unknown-linux-musl",
        ]
        .into_iter()
        .map(|t| Target::parse(t).unwrap())
        .collect();
        for (os, arch, picked) in [
            (Os::Macos, Arch::Aarch64, Some("universal2-apple-darwin")),
            (Os::Macos, Arch::X86_64, Some("universal2-apple-darwin")),
            (Os::Windows, Arch::X86_64, Some("x86_64-pc-windows-msvc")),
            (Os::Windows, Arch::Aarch64, Some("x86_64-pc-windows-msvc")),
            (Os::Linux, Arch::X86_64, Some("i686-unknown-linux-musl")),
            (Os::Linux, Arch::Aarch64, None),
        ] {
            let got = build_for(&targets, os, arch).map(|t| t.triple);
            assert_eq!(got, picked, "{os:?} {arch:?}");
        }
        let thin = &targets[..2];
        assert_eq!(
            build_for(thin, Os::Macos, Arch::Aarch64).map(|t| t.triple),
            Some("aarch64-apple-darwin")
        );
    }

    fn kind(path: &str) -> Option<(DocKind, String)> {
        classify(path).map(|d| (d.kind, d.name))
    }

    #[test]
    fn completions_and_man_pages_are_known_by_the_names_shells_look_for() {
        assert_eq!(kind("complete/fd.bash"), Some((DocKind::Bash, "fd".into())));
        assert_eq!(kind("autocomplete/_fd"), Some((DocKind::Zsh, "_fd".into())));
        assert_eq!(kind("complete/fd.zsh"), Some((DocKind::Zsh, "_fd".into())));
        assert_eq!(
            kind("autocomplete/fd.fish"),
            Some((DocKind::Fish, "fd.fish".into()))
        );
        assert_eq!(kind("doc/fd.1"), Some((DocKind::Man(1), "fd.1".into())));
        assert_eq!(
            kind("doc/fdd.8.gz"),
            Some((DocKind::Man(8), "fdd.8.gz".into()))
        );
    }

    #[test]
    fn other_files_are_not_installed() {
        for path in [
            "README.md",
            "LICENSE-MIT",
            "complete/_fd.ps1",
            "complete/fd.elv",
            "doc/CHANGELOG.md",
            "doc/.1",
            "doc/x.10",
            "complete/.bash",
            "complete/.fish",
            "_",
        ] {
            assert_eq!(classify(path), None, "{path}");
        }
    }

    #[test]
    fn docs_and_includes_are_listed_once_per_destination() {
        let cfg = crate::model::config::parse(
            "[dist]\napp = \"a\"\ninclude = [\"README.md\", { from = \"x/a.1\", to = \"doc/a.1\" }, { from = \"y\", to = \"other/a.bash\" }, { from = \"z\", to = \"odd name.fish\" }]\n[dist.docs]\n\"complete/a.bash\" = [\"c\"]\n\"complete/_a\" = [\"z\"]\n",
            std::path::Path::new("dist-workspace.toml"),
        )
        .unwrap();
        let listed: Vec<(String, DocKind)> = installed_docs(&cfg)
            .into_iter()
            .map(|d| (d.path, d.kind))
            .collect();
        assert_eq!(
            listed,
            [
                ("complete/a.bash".into(), DocKind::Bash),
                ("complete/_a".into(), DocKind::Zsh),
                ("doc/a.1".into(), DocKind::Man(1)),
            ]
        );
    }
}
