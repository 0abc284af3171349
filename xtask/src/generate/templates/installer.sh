#!/bin/sh
@header@
#
# Installs @package@ from its release: the build for this machine's OS and CPU (on
# Linux the static musl one, which runs on every distribution), checked
# against its published SHA-256 before anything is installed.
#
#   sh @package@-installer.sh [--version VERSION] [--to DIR]
#   curl -fsSL <release URL>/@package@-installer.sh | sh -s -- [OPTIONS]
set -eu

PACKAGE="@package@"
APP="@bin@"
BINS="@bins@"
REPOSITORY="@repository@"
TAG_PREFIX="@tag-prefix@"
EXT="@ext@"

usage() {
    cat <<EOF
Usage: sh $PACKAGE-installer.sh [--version VERSION] [--to DIR]

Installs $PACKAGE ($BINS) for this machine from its release, after checking its SHA-256.

  --version VERSION  install this release (default: the latest)
  --to DIR           install into DIR (default: \$@env@_INSTALL_DIR, else ~/.local/bin)

@env@_DOWNLOAD_URL, if set, is where the release files are downloaded from
(a mirror), instead of $REPOSITORY.
EOF
}

say() {
    printf '%s\n' "$PACKAGE installer: $*" >&2
}

die() {
    say "error: $*"
    exit 1
}

# Prints the target to install for `uname -s` ($1) and `uname -m` ($2).
target_for() {
    case "$2" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        i386 | i486 | i586 | i686) arch=i686 ;;
        armv7*) arch=armv7 ;;
        riscv64) arch=riscv64 ;;
        *) arch=$2 ;;
    esac
    case "$1" in
        Linux) os=linux ;;
        Darwin)
            os=macos
@rosetta@            ;;
        *) os=$1 ;;
    esac
    case "$os/$arch" in
@cases@        *) return 1 ;;
    esac
}

download() {
    if [ "$downloader" = curl ]; then
        curl -fsSL --retry 3 -o "$2" "$1"
    else
        wget -q -O "$2" "$1"
    fi || die "cannot download $1"
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1"
    else
        shasum -a 256 "$1"
    fi | cut -d ' ' -f 1
}

cleanup() {
    rm -rf "$tmp"
    for bin in $BINS; do
        rm -f "$to/.$bin.installing.$$"
    done
}

main() {
    version=""
    to="${@env@_INSTALL_DIR:-}"
    while [ $# -gt 0 ]; do
        case "$1" in
            --version)
                [ $# -ge 2 ] || die "--version needs a version, e.g. --version 1.2.3"
                version=$2
                shift 2
                ;;
            --version=*)
                version=${1#--version=}
                shift
                ;;
            --to)
                [ $# -ge 2 ] || die "--to needs a directory"
                to=$2
                shift 2
                ;;
            --to=*)
                to=${1#--to=}
                shift
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *) die "unknown argument '$1' (see --help)" ;;
        esac
    done
    version=${version#"$TAG_PREFIX"}
    if [ -z "$to" ]; then
        [ -n "${HOME:-}" ] || die "HOME is not set; choose a directory with --to DIR"
        to="$HOME/.local/bin"
    fi

    if ! target=$(target_for "$(uname -s)" "$(uname -m)"); then
        die "there is no $PACKAGE build for $(uname -s) $(uname -m); there are builds for @supported@"
    fi

    if command -v curl >/dev/null 2>&1; then
        downloader=curl
    elif command -v wget >/dev/null 2>&1; then
        downloader=wget
    else
        die "neither curl nor wget is installed; install one of them and run this again"
    fi
    if ! command -v sha256sum >/dev/null 2>&1 && ! command -v shasum >/dev/null 2>&1; then
        die "neither sha256sum nor shasum is installed, so the download cannot be checked; install coreutils and run this again"
    fi

    if [ -n "${@env@_DOWNLOAD_URL:-}" ]; then
        base=${@env@_DOWNLOAD_URL%/}
    elif [ -z "$REPOSITORY" ]; then
        die "this installer does not know where $PACKAGE is released; set @env@_DOWNLOAD_URL to the URL of the release files"
    elif [ -n "$version" ]; then
        base="$REPOSITORY/releases/download/$TAG_PREFIX$version"
    else
        base="$REPOSITORY/releases/latest/download"
    fi

    # A template mktemp takes everywhere (GNU and BSD), in the first of these that is writable.
    tmp=""
    for tmp_parent in "${TMPDIR:-}" /tmp "${HOME:-}"; do
        [ -n "$tmp_parent" ] || continue
        if tmp=$(mktemp -d "$tmp_parent/$PACKAGE-install.XXXXXXXX" 2>/dev/null); then
            break
        fi
        tmp=""
    done
    [ -n "$tmp" ] || die "cannot create a temporary directory in \$TMPDIR, /tmp or \$HOME"
    trap cleanup EXIT
    trap 'cleanup; exit 1' HUP INT TERM

    if [ -n "$version" ]; then
        archive="$PACKAGE-$version-$target$EXT"
    else
        download "$base/SHA256SUMS" "$tmp/SHA256SUMS"
        archive=$(sed -n "s/^[0-9a-f]\{64\}  \($PACKAGE-.*-$target@ext-re@\)\$/\1/p" "$tmp/SHA256SUMS" | head -n 1)
        [ -n "$archive" ] || die "the latest release at $base has no archive for $target"
    fi

    say "downloading $archive for $target"
    download "$base/$archive" "$tmp/$archive"
    download "$base/$archive.sha256" "$tmp/$archive.sha256"
    # Exactly one line `<sha256>  <archive>`, as `cargo xtask verify` reads it.
    sums="$tmp/$archive.sha256"
    line=$(sed -n '/[^[:space:]]/p' "$sums")
    expected=$(printf '%s\n' "$line" | sed -n 's/^\([0-9a-fA-F]\{64\}\) [ *]\(.*\)$/\1/p' | tr 'A-F' 'a-f')
    named=$(printf '%s\n' "$line" | sed -n 's/^[0-9a-fA-F]\{64\} [ *]\(.*\)$/\1/p')
    if [ "$(printf '%s\n' "$line" | sed -n '$=')" != 1 ] || [ -z "$expected" ] || [ "$named" != "$archive" ]; then
        die "$archive.sha256 does not hold one line \`<sha256>  $archive\`; nothing was installed"
    fi
    actual=$(sha256 "$tmp/$archive")
    if [ "$actual" != "$expected" ]; then
        die "$archive does not match its published SHA-256 (expected $expected, got $actual): the download is damaged or was tampered with; nothing was installed"
    fi

    mkdir "$tmp/unpacked"
    (cd "$tmp/unpacked" && @unpack@ "../$archive") || die "cannot unpack $archive@unpack-hint@; nothing was installed"
    dir="$tmp/unpacked/${archive%"$EXT"}"
    for bin in $BINS; do
        [ -f "$dir/$bin" ] || die "$archive holds no ${archive%"$EXT"}/$bin; nothing was installed"
    done

    mkdir -p "$to" || die "cannot create $to; choose another directory with --to DIR"
    for bin in $BINS; do
        staged="$to/.$bin.installing.$$"
        if ! { cp "$dir/$bin" "$staged" && chmod 755 "$staged"; }; then
            die "cannot write to $to; choose another directory with --to DIR"
        fi
    done
    # Started where it will live, before it replaces anything: a binary that
    # cannot run on this machine is never installed.
    if ! out=$("$to/.$APP.installing.$$" --version 2>&1); then
        die "the downloaded $APP does not start on this machine ($out); nothing was installed"
    fi
    for bin in $BINS; do
        # A rename within one directory: the old binary or the new, never half of one.
        mv -f "$to/.$bin.installing.$$" "$to/$bin"
    done

    say "installed $(printf '%s\n' "$out" | head -n 1) as $to/$APP"
    case ":${PATH:-}:" in
        *":$to:"*) say "run '$APP --help' to get started" ;;
        *)
            say "$to is not on your PATH; add it, for example in ~/.profile:"
            say "    export PATH=\"$to:\$PATH\""
            ;;
    esac
}

main "$@"
