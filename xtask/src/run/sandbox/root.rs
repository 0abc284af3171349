//! `[dist].smoke-root`: the named parts of a minimal real system a smoke
//! run may be given, staged from this machine's usual paths into a tree the
//! helper copies into the empty root (files read-only, nobody's to change).
//! Only these fixed paths are ever read: a smoke run's output reaches CI
//! logs, so no configuration can hand it an arbitrary host file.

use std::path::Path;

use crate::model::config::RootItem;

/// Where the CA bundle is on Debian/Ubuntu/Arch, Fedora/RHEL, Alpine/macOS.
const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];
/// Where programs look for it first (openssl-probe, rustls-native-certs).
const CA_BUNDLE_INSIDE: &str = "etc/ssl/certs/ca-certificates.crt";
const ZONEINFO: &str = "/usr/share/zoneinfo";
/// A file count the sandbox's tmpfs has room for, with margin.
const MAX_FILES: usize = 3000;

/// Stages `items` under `tree` (`tree/etc/ssl/…`, `tree/usr/share/…`).
pub(super) fn stage(items: &[RootItem], tree: &Path) -> Result<(), String> {
    for item in items {
        match item {
            RootItem::CaCertificates => {
                let Some(bundle) = CA_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) else {
                    return Err(format!(
                        "`smoke-root` item `ca-certificates`: this machine has no CA bundle ({}); install the \
                         ca-certificates package",
                        CA_BUNDLES.join(", ")
                    ));
                };
                let inside = tree.join(CA_BUNDLE_INSIDE);
                create_parent(&inside)?;
                std::fs::copy(bundle, &inside)
                    .map_err(|e| format!("copying {} for the smoke runs: {e}", bundle.display()))?;
                // Alpine's and the BSDs' name for the same bundle.
                symlink("certs/ca-certificates.crt", &tree.join("etc/ssl/cert.pem"))?;
            }
            RootItem::Tzdata => {
                let zoneinfo = Path::new(ZONEINFO);
                if !zoneinfo.join("Etc/UTC").is_file() {
                    return Err(format!(
                        "`smoke-root` item `tzdata`: this machine has no {ZONEINFO}/Etc/UTC; install the tzdata package"
                    ));
                }
                let mut count = 0;
                copy_tree(zoneinfo, &tree.join("usr/share/zoneinfo"), &mut count)?;
                symlink("/usr/share/zoneinfo/Etc/UTC", &tree.join("etc/localtime"))?;
            }
        }
    }
    Ok(())
}

fn create_parent(path: &Path) -> Result<(), String> {
    let dir = path.parent().expect("staged paths have a parent");
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))
}

fn symlink(target: &str, link: &Path) -> Result<(), String> {
    create_parent(link)?;
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, link)
            .map_err(|e| format!("linking {}: {e}", link.display()))
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Err("the sandbox needs Linux".into())
    }
}

/// Directories, regular files and links that stay inside the tree (the
/// zone aliases); `right/` (leap-second variants) is left out for room.
fn copy_tree(from: &Path, to: &Path, count: &mut usize) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", from.display()))?;
        *count += 1;
        if *count > MAX_FILES {
            return Err(format!(
                "{} holds more than {MAX_FILES} files",
                from.display()
            ));
        }
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(|e| format!("reading {}: {e}", source.display()))?;
        if kind.is_dir() && entry.file_name() != "right" {
            copy_tree(&source, &dest, count)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &dest)
                .map_err(|e| format!("copying {}: {e}", source.display()))?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&source)
                .map_err(|e| format!("reading {}: {e}", source.display()))?;
            let target = target.to_string_lossy();
            if target.starts_with('/') || target.split('/').filter(|p| *p == "..").count() > 2 {
                continue;
            }
            symlink(&target, &dest)?;
        }
    }
    Ok(())
}

/// The staged tree into the sandbox's root, by its helper: directories the binary
/// cannot write to, files it can only read, links as they were staged.
#[cfg(target_os = "linux")]
pub(super) fn install(from: &Path, to: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |what: &Path, e: std::io::Error| {
        format!("copying {} into the sandbox: {e}", what.display())
    };
    std::fs::create_dir_all(to).map_err(|e| failed(to, e))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| failed(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| failed(from, e))? {
        let entry = entry.map_err(|e| failed(from, e))?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| failed(&source, e))?;
        if kind.is_dir() {
            install(&source, &dest)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&source).map_err(|e| failed(&source, e))?;
            std::os::unix::fs::symlink(target, &dest).map_err(|e| failed(&source, e))?;
        } else {
            std::fs::copy(&source, &dest).map_err(|e| failed(&source, e))?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o444))
                .map_err(|e| failed(&dest, e))?;
        }
    }
    Ok(())
}
