//! Embeds the target triple so `--version` can say which build this is.
fn main() {
    // TARGET is always set by cargo for build scripts.
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=BUILD_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
