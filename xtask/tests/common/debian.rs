//! Debian roots for tests that need another machine: a minbase root of a
//! suite with some packages, made by debootstrap once per checkout and
//! kept (under a lock, so every test of every run of this checkout shares
//! it), then entered as root through an overlay — a test never changes the
//! kept root — in a mount namespace of its own, with pivot_root rather than
//! chroot so that the smoke runs' user namespaces work inside.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{assert_ok, e2e_dir, skip, text};

/// How to run a command as root: directly, or through `sudo -n` (GitHub's
/// runners); `None` (the test is skipped, `why` saying what for) otherwise.
pub fn as_root(why: &str) -> Option<Vec<&'static str>> {
    if uid() == "0" {
        return Some(vec![]);
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).output();
    if sudo.is_ok_and(|o| o.status.success()) {
        return Some(vec!["sudo", "-n"]);
    }
    skip(&format!("needs root or `sudo -n` {why}"));
    None
}

fn uid() -> String {
    let out = Command::new("id").arg("-u").output().unwrap();
    text(&out.stdout).trim().to_owned()
}

/// `uid:gid` of this process, to give back what root wrote for it.
pub fn owner() -> String {
    let gid = Command::new("id").arg("-g").output().unwrap();
    format!("{}:{}", uid(), text(&gid.stdout).trim())
}

/// The Debian mirror apt uses here, else Debian's own.
pub fn mirror() -> String {
    let sources = fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    sources
        .lines()
        .find_map(|l| l.strip_prefix("URIs:"))
        .and_then(|uris| uris.split_whitespace().next())
        .unwrap_or("http://deb.debian.org/debian")
        .to_owned()
}

/// A kept root and how to become root to use it.
pub struct Root {
    pub dir: PathBuf,
    sudo: Vec<&'static str>,
}

/// Makes the kept root, as root.
const DEBOOTSTRAP: &str = r#"
set -eu
root=$1 suite=$2 packages=$3 mirror=$4
rm -rf "$root"
mkdir -p "$root"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ -e "$keyring" ]; then keyring="--keyring=$keyring"; else keyring=--no-check-gpg; fi
if ! debootstrap --variant=minbase --include="$packages" "$keyring" "$suite" "$root" "$mirror" >"$root.log" 2>&1; then
    tail -20 "$root.log" >&2
    exit 1
fi
touch "$root/.complete"
"#;

/// The minbase root of Debian `suite` with `packages`, made on first use;
/// `None` when this machine cannot (the test is skipped; under `CI=true`
/// it fails).
pub fn root(suite: &str, packages: &[&str]) -> Option<Root> {
    let sudo = as_root("to make a Debian root (debootstrap, mount)")?;
    let found = ["/usr/sbin/debootstrap", "/sbin/debootstrap"]
        .iter()
        .any(|p| Path::new(p).is_file());
    if !found
        && !super::require_tool(
            "debootstrap",
            "apt-get install debootstrap debian-archive-keyring",
        )
    {
        return None;
    }
    let base = e2e_dir("debian-roots");
    fs::create_dir_all(&base).unwrap();
    let name = format!("{suite}-{}", packages.join("-"));
    let dir = base.join(&name);
    // One test makes it; the others of this checkout wait, then use it.
    let lock = fs::File::create(base.join(format!("{name}.lock"))).unwrap();
    // SAFETY: flock(2) on a descriptor this function owns; released on close.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    if !dir.join(".complete").exists() {
        let out = as_root_command(&sudo, DEBOOTSTRAP)
            .arg(&dir)
            .arg(suite)
            .arg(packages.join(","))
            .arg(mirror())
            .output()
            .unwrap();
        assert_ok(&format!("debootstrap {suite} into {}", dir.display()), &out);
    }
    drop(lock);
    Some(Root { dir, sudo })
}

/// `sh -c script sh …` as root.
fn as_root_command(sudo: &[&str], script: &str) -> Command {
    let mut command = match sudo.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg("sh");
            c
        }
        None => Command::new("sh"),
    };
    command.args(["-c", script, "sh"]);
    command
}

/// Enters the root through an overlay in `scratch` (emptied first): runs
/// `setup` on this machine with `$root` the root to fill (files copied in,
/// directories bind-mounted), then `inside` in the root, with a clean
/// environment but for `HOME=/root` and PATH, both as root, both `sh -eu`
/// scripts given `args`.
const ENTER: &str = r#"
set -eu
lower=$1 scratch=$2 setup=$3 inside=$4
shift 4
rm -rf "$scratch/upper" "$scratch/work"
mkdir -p "$scratch/upper" "$scratch/work" "$scratch/merged"
exec unshare --mount --propagation private sh -euc '
lower=$1 scratch=$2 setup=$3 inside=$4
shift 4
root=$scratch/merged
if ! mount -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch/upper,workdir=$scratch/work" "$root" 2>/dev/null; then
    # No overlay on this file system: a copy does the same, slower.
    cp -a "$lower/." "$root"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
root=$root sh -euc "$setup" setup "$@"
cd "$root"
mkdir -p .old-root
pivot_root . .old-root
umount -l /.old-root
exec env -i HOME=/root PATH=/root/.cargo/bin:/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    sh -euc "$inside" inside "$@"
' sh "$lower" "$scratch" "$setup" "$inside" "$@"
"#;

impl Root {
    /// Runs `setup` here and `inside` in a throwaway copy of the root
    /// (see [`ENTER`]); the copy's changes are left in `scratch/upper`.
    pub fn run(&self, scratch: &Path, setup: &str, inside: &str, args: &[&str]) -> Output {
        self.command(scratch, setup, inside, args)
            .output()
            .expect("run sh")
    }

    /// What [`Root::run`] runs, for a caller that runs it its own way.
    pub fn command<S: AsRef<std::ffi::OsStr>>(
        &self,
        scratch: &Path,
        setup: &str,
        inside: &str,
        args: &[S],
    ) -> Command {
        fs::create_dir_all(scratch).unwrap();
        let mut command = as_root_command(&self.sudo, ENTER);
        command
            .arg(&self.dir)
            .arg(scratch)
            .arg(setup)
            .arg(inside)
            .args(args);
        command
    }

    /// Removes what [`Root::run`] left in `scratch` (the root's files, as
    /// root) unless the test is failing: see [`super::discard_scratch`].
    pub fn discard(&self, scratch: &Path) {
        if super::keep_scratch() {
            return;
        }
        let out = self.as_root("rm -rf \"$1\"", &[&scratch.to_string_lossy()]);
        if !out.status.success() {
            eprintln!(
                "note: could not remove {}: {}",
                scratch.display(),
                super::text(&out.stderr)
            );
        }
    }

    /// Runs `script` as root on this machine (to give files back, say).
    pub fn as_root(&self, script: &str, args: &[&str]) -> Output {
        as_root_command(&self.sudo, script)
            .args(args)
            .output()
            .expect("run sh")
    }
}
