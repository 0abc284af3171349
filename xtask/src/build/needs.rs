//! What a machine must have to build and check a target — a rustup
//! target, MinGW, a static qemu-user — decided for any host, so `setup`
//! installs exactly it and the rules are testable for runners this machine
//! is not. The C compiler's needs are `ctool::needs`, beside its choice.

use xtask_inspect::target::{Arch, Os, Target};

use crate::model::plan::{self, Buildable, MINGW_GCC};
use crate::run::launch::{self, Route};

/// Something a target needs on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    RustTarget(&'static str),
    /// A program, and the Debian package that provides it.
    Program {
        program: &'static str,
        package: &'static str,
        why: String,
    },
    /// The zig this xtask pins (`build::zig`), fetched into the user's cache.
    Zig {
        why: String,
    },
}

/// What `target` needs on a `host` machine. Pure, so the rules are testable
/// for runners this machine is not.
pub(crate) fn for_target(
    target: &Target,
    host: Option<Os>,
    host_arch: Option<Arch>,
    verify_only: bool,
) -> Vec<Need> {
    let mut needs = Vec::new();
    // With every tool it might install, could this host build it at all?
    let buildable = plan::buildable(target, host, |_| true) == Buildable::Yes;
    if !verify_only && buildable {
        // A universal target is built as its slices' targets.
        for slice in target.slice_targets() {
            needs.push(Need::RustTarget(slice.triple));
        }
        if target.os == Os::Windows && host == Some(Os::Linux) {
            needs.push(Need::Program {
                program: MINGW_GCC,
                package: "gcc-mingw-w64-x86-64",
                why: format!("{} links with MinGW", target.triple),
            });
        }
    }
    // verify runs Linux binaries of a foreign CPU under a static qemu-user,
    // which it copies into its sandbox's empty root.
    if let Route::Qemu(arch) = launch::route(target.os, Some(target.arch), host, host_arch) {
        needs.push(Need::Program {
            program: arch.qemu_static(),
            package: "qemu-user-static",
            why: format!("verify runs {} binaries under qemu", target.arch.name()),
        });
    }
    needs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_universal_target_needs_each_slice_s_rust_target_on_a_mac() {
        let universal = Target::parse(xtask_inspect::target::UNIVERSAL_MACOS).unwrap();
        assert_eq!(
            for_target(&universal, Some(Os::Macos), Some(Arch::Aarch64), false),
            [
                Need::RustTarget("x86_64-apple-darwin"),
                Need::RustTarget("aarch64-apple-darwin")
            ]
        );
        // Elsewhere it is the macOS runner's to build, and nothing runs here.
        assert_eq!(
            for_target(&universal, Some(Os::Linux), Some(Arch::X86_64), false),
            []
        );
    }

    fn t(triple: &str) -> Target {
        Target::parse(triple).unwrap()
    }

    fn programs(needs: &[Need]) -> Vec<&str> {
        needs
            .iter()
            .filter_map(|n| {
                if let Need::Program { program, .. } = n {
                    Some(*program)
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn linux_runner_needs_qemu_for_foreign_cpus_only() {
        let linux = Some(Os::Linux);
        let x86 = Some(Arch::X86_64);
        assert_eq!(
            for_target(&t("x86_64-unknown-linux-musl"), linux, x86, false),
            [Need::RustTarget("x86_64-unknown-linux-musl")]
        );
        assert!(
            programs(&for_target(
                &t("i686-unknown-linux-musl"),
                linux,
                x86,
                false
            ))
            .is_empty()
        );
        for (triple, qemu) in [
            ("armv7-unknown-linux-musleabihf", "qemu-arm-static"),
            ("riscv64gc-unknown-linux-musl", "qemu-riscv64-static"),
            ("powerpc64le-unknown-linux-musl", "qemu-ppc64le-static"),
        ] {
            assert_eq!(programs(&for_target(&t(triple), linux, x86, false)), [qemu]);
        }
        let arm = for_target(&t("aarch64-unknown-linux-musl"), linux, x86, false);
        assert_eq!(arm[0], Need::RustTarget("aarch64-unknown-linux-musl"));
        assert_eq!(programs(&arm), ["qemu-aarch64-static"]);
        assert!(
            programs(&for_target(
                &t("aarch64-unknown-linux-musl"),
                linux,
                Some(Arch::Aarch64),
                false
            ))
            .is_empty()
        );
    }

    #[test]
    fn verify_only_needs_no_rust_targets() {
        let needs = for_target(
            &t("aarch64-unknown-linux-musl"),
            Some(Os::Linux),
            Some(Arch::X86_64),
            true,
        );
        assert_eq!(programs(&needs), ["qemu-aarch64-static"]);
        assert_eq!(needs.len(), 1);
        assert!(
            for_target(
                &t("aarch64-apple-darwin"),
                Some(Os::Linux),
                Some(Arch::X86_64),
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn windows_gnu_on_linux_needs_mingw_and_other_systems_need_nothing_here() {
        let needs = for_target(
            &t("x86_64-pc-windows-gnu"),
            Some(Os::Linux),
            Some(Arch::X86_64),
            false,
        );
        assert_eq!(programs(&needs), [MINGW_GCC]);
        assert!(
            for_target(
                &t("x86_64-pc-windows-msvc"),
                Some(Os::Linux),
                Some(Arch::X86_64),
                false
            )
            .is_empty()
        );
        assert_eq!(
            for_target(
                &t("x86_64-pc-windows-msvc"),
                Some(Os::Windows),
                Some(Arch::X86_64),
                false
            ),
            [Need::RustTarget("x86_64-pc-windows-msvc")]
        );
        assert_eq!(
            for_target(
                &t("x86_64-apple-darwin"),
                Some(Os::Macos),
                Some(Arch::Aarch64),
                false
            ),
            [Need::RustTarget("x86_64-apple-darwin")]
        );
    }
}
