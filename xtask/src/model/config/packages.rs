//! `[dist].packages` and `[dist].maintainer`: which system packages a
//! release has, and the maintainer they name.

/// `Name <email>`, as both formats want a maintainer or packager.
pub(crate) fn check_maintainer(text: &str) -> Result<(), String> {
    let well_formed = text
        .strip_suffix('>')
        .and_then(|t| t.split_once(" <"))
        .is_some_and(|(name, email)| {
            !name.trim().is_empty() && email.contains('@') && !email.contains(['<', '>', ' '])
        });
    if well_formed && !text.contains(['\n', '\r']) {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not `Name <email>`, as Debian and RPM packages name their maintainer"
        ))
    }
}

/// `[dist].packages`: a system package made of each Linux archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PackageFormat {
    /// Debian, Ubuntu: `apt install ./x.deb`.
    Deb,
    /// Fedora, RHEL, openSUSE: `dnf install x.rpm`.
    Rpm,
}

impl PackageFormat {
    pub(crate) const ALL: [(&'static str, PackageFormat); 2] =
        [("deb", PackageFormat::Deb), ("rpm", PackageFormat::Rpm)];
}
