//! Archive formats releases come in, known by their file names.

/// The container and compression of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    TarXz,
    TarGz,
    /// Windows' own format: Explorer opens it without extra tools.
    Zip,
}

/// Every format. A new variant does not compile until `index` handles it,
/// which points here; then every `match` on the format points at the rest.
pub const ALL_FORMATS: [ArchiveFormat; 3] = [
    ArchiveFormat::TarXz,
    ArchiveFormat::TarGz,
    ArchiveFormat::Zip,
];

impl ArchiveFormat {
    /// Its place in [`ALL_FORMATS`].
    pub const fn index(self) -> usize {
        match self {
            ArchiveFormat::TarXz => 0,
            ArchiveFormat::TarGz => 1,
            ArchiveFormat::Zip => 2,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarXz => ".tar.xz",
            ArchiveFormat::TarGz => ".tar.gz",
            ArchiveFormat::Zip => ".zip",
        }
    }

    pub fn from_extension(ext: &str) -> Option<ArchiveFormat> {
        ALL_FORMATS.into_iter().find(|f| f.extension() == ext)
    }

    /// The flag that makes `tar` create this format (`tar -cJf a.tar.xz …`);
    /// `None` for zip, which tar does not write.
    pub fn tar_create_flag(self) -> Option<&'static str> {
        match self {
            ArchiveFormat::TarXz => Some("-cJf"),
            ArchiveFormat::TarGz => Some("-czf"),
            ArchiveFormat::Zip => None,
        }
    }

    /// The format of an archive, judged by its file name.
    pub fn of_file(name: &str) -> Option<ArchiveFormat> {
        ALL_FORMATS
            .into_iter()
            .find(|f| name.ends_with(f.extension()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_listed_once_in_its_place_and_known_by_its_name() {
        for (i, format) in ALL_FORMATS.into_iter().enumerate() {
            assert_eq!(format.index(), i, "{format:?}");
            let name = format!("tool-1.0.0-x86_64-unknown-linux-musl{}", format.extension());
            assert_eq!(ArchiveFormat::of_file(&name), Some(format));
            assert_eq!(
                ArchiveFormat::from_extension(format.extension()),
                Some(format)
            );
        }
        assert_eq!(ArchiveFormat::of_file("tool.exe"), None);
        assert_eq!(ArchiveFormat::TarXz.tar_create_flag(), Some("-cJf"));
        assert_eq!(ArchiveFormat::Zip.tar_create_flag(), None);
    }
}
