//! Archive formats releases come in, known by their file names.

/// The container and compression of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    TarXz,
    TarGz,
    /// Windows' own format: Explorer opens it without extra tools.
    Zip,
}

pub const ALL_FORMATS: [ArchiveFormat; 3] = [
    ArchiveFormat::TarXz,
    ArchiveFormat::TarGz,
    ArchiveFormat::Zip,
];

impl ArchiveFormat {
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
