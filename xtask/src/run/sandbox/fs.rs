//! The helper's work on the new root's files: what it copies in (made
//! read-only), and for wine the host's `/usr` bound read-only with a
//! `/proc` of the sandbox's own (Linux system calls through libc).

use std::path::Path;

use super::linux::{check, cstr};

/// The host's `/usr` in the root, read-only, no set-uid, no devices, and
/// `/lib`, `/lib64` and `/bin` as the host has them (links into `/usr` on a
/// merged-/usr system, else read-only too), and a `/proc` of the sandbox's
/// own processes: what wine's loader and libraries need, and nothing of
/// `/etc`, `/home` or `/root`.
pub(super) unsafe fn system_read_only(new_root: &str) -> Result<(), String> {
    for dir in ["usr", "lib", "lib64", "bin"] {
        let host = format!("/{dir}");
        let inside = format!("{new_root}/{dir}");
        match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target =
                    std::fs::read_link(&host).map_err(|e| format!("reading {host}: {e}"))?;
                std::os::unix::fs::symlink(&target, &inside)
                    .map_err(|e| format!("linking {inside}: {e}"))?;
            }
            Ok(meta) if meta.is_dir() => {
                std::fs::create_dir(&inside).map_err(|e| format!("creating {inside}: {e}"))?;
                // SAFETY: the caller's contract (the sandbox's init, before exec).
                unsafe { bind_read_only(&host, &inside)? };
            }
            _ => {}
        }
    }
    // Wine finds its own libraries through /proc/self/exe: a /proc of this
    // PID namespace, which shows the sandbox's processes only.
    let proc_dir = format!("{new_root}/proc");
    std::fs::create_dir(&proc_dir).map_err(|e| format!("creating {proc_dir}: {e}"))?;
    let (proc, at) = (cstr("proc")?, cstr(&proc_dir)?);
    // SAFETY: valid C strings; this process is the PID namespace's init.
    check("mounting /proc", unsafe {
        libc::mount(
            proc.as_ptr(),
            at.as_ptr(),
            proc.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        )
    })
}

unsafe fn bind_read_only(host: &str, inside: &str) -> Result<(), String> {
    let none = std::ptr::null::<libc::c_char>();
    let (from, to) = (cstr(host)?, cstr(inside)?);
    // SAFETY: valid C strings; the mount namespace is this process's own.
    unsafe {
        check(
            &format!("binding {host} into the root"),
            libc::mount(
                from.as_ptr(),
                to.as_ptr(),
                none,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ),
        )?;
        check(
            &format!("making {host} read-only in the root"),
            libc::mount(
                none,
                to.as_ptr(),
                none,
                libc::MS_BIND
                    | libc::MS_REMOUNT
                    | libc::MS_RDONLY
                    | libc::MS_NOSUID
                    | libc::MS_NODEV,
                std::ptr::null(),
            ),
        )
    }
}

pub(super) fn copy(from: &str, to: &str) -> Result<(), String> {
    std::fs::copy(from, to).map_err(|e| {
        format!(
            "copying {} into the sandbox: {e}",
            Path::new(from).display()
        )
    })?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o555))
        .map_err(|e| format!("chmod: {e}"))
}
