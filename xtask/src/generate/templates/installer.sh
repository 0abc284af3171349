#!/bin/sh
@header@
#
# Installs @package@ from its release: the build for this machine's OS and CPU (on
# Linux the static musl one, which runs on every distribution), checked
# against its published SHA-256 before anything is installed; with its shell
# completions and man pages where the shells and `man` look for them. A
# receipt beside the binaries lists what was installed, for --uninstall.
#
#   sh @package@-installer.sh [--version VERSION] [--to DIR] [--no-docs]
#   sh @package@-installer.sh --uninstall [--to DIR]
#   curl -fsSL <release URL>/@package@-installer.sh | sh -s -- [OPTIONS]
set -eu

PACKAGE="@package@"
APP="@bin@"
BINS="@bins@"
REPOSITORY="@repository@"
TAG_PREFIX="@tag-prefix@"
EXT="@ext@"
# Files of the archive installed besides the binaries: kind, path in the
# archive, installed name.
DOCS="@docs@"
# The release this installer was published with, and the SHA-256 of each of
# its archives (`name:sha256`): what it checks the download against, so a
# changed .sha256 or a mirror cannot slip another archive in.
RELEASE_VERSION=""
RELEASE_SUMS=""

usage() {
    cat <<EOF
Usage: sh $PACKAGE-installer.sh [--version VERSION] [--to DIR] [--no-docs]
       sh $PACKAGE-installer.sh --uninstall [--to DIR]

Installs $PACKAGE ($BINS) for this machine from its release, after checking its
SHA-256, with its shell completions and man pages.

  --version VERSION  install this release (default: the latest)
  --to DIR           install into DIR (default: \$@env@_INSTALL_DIR, else ~/.local/bin);
                     with a system directory such as /usr/local/bin (as root),
                     completions and man pages go below /usr/local/share
  --no-docs          install the binaries only
  --uninstall        remove what this installer installed into DIR, as its
                     receipt DIR/.$PACKAGE.install-receipt lists it

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
        ppc64le) arch=powerpc64le ;;
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

# The staging name of a file to be installed at $1, in its own directory.
staged() {
    printf '%s/.%s.installing.%s' "${1%/*}" "${1##*/}" "$$"
}

cleanup() {
    for bin in $BINS; do
        rm -f "$to/.$bin.installing.$$"
    done
    if [ -f "$tmp/docs" ]; then
        while IFS= read -r dest; do
            rm -f "$(staged "$dest")"
        done <"$tmp/docs"
    fi
    rm -f "$(staged "$receipt")"
    rm -rf "$tmp"
}

# Where completions and man pages go: beside a system-wide bin directory's
# prefix, as a package puts them (--to /usr/local/bin); else where the
# user's own shells and man look.
set_locations() {
    receipt="$to/.$PACKAGE.install-receipt"
    system=false
    case "$to" in
        "${HOME:-/nonexistent}"/*) ;;
        */bin) system=true ;;
    esac
    if [ "$system" = true ]; then
        prefix=${to%/bin}
        share="${prefix:-/usr}/share"
        bash_dir="$share/bash-completion/completions"
        zsh_dir="$share/zsh/site-functions"
        fish_dir="$share/fish/vendor_completions.d"
        man_dir="$share/man"
    elif [ -n "${HOME:-}" ]; then
        data="${XDG_DATA_HOME:-$HOME/.local/share}"
        bash_dir="${BASH_COMPLETION_USER_DIR:-$data/bash-completion}/completions"
        zsh_dir="$data/zsh/site-functions"
        fish_dir="${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions"
        # man finds ~/.local/share/man through ~/.local/bin on PATH.
        man_dir="$HOME/.local/share/man"
    else
        bash_dir="" zsh_dir="" fish_dir="" man_dir=""
    fi
}

# The directory a file of kind $1 goes to; empty when there is none.
doc_dir() {
    case "$1" in
        bash) printf '%s' "$bash_dir" ;;
        zsh) printf '%s' "$zsh_dir" ;;
        fish) printf '%s' "$fish_dir" ;;
        man[1-9]) [ -z "$man_dir" ] || printf '%s/%s' "$man_dir" "$1" ;;
    esac
}

describe() {
    case "$1" in
        bash | zsh | fish) printf '%s completion' "$1" ;;
        man*) printf 'man page' ;;
    esac
}

# mkdir -p "$1", appending to $tmp/created each directory it creates,
# outermost first, so that --uninstall can remove them again.
make_dir() {
    missing=""
    d=$1
    while [ -n "$d" ] && [ ! -d "$d" ]; do
        missing="$d
$missing"
        d=${d%/*}
    done
    mkdir -p "$1" || return 1
    printf '%s' "$missing" >>"$tmp/created"
}

# Removes the files receipt $1 lists, each only if it is still the file
# that was installed, except those listed in file $2; prints what it did.
remove_listed() {
    while IFS= read -r line; do
        case "$line" in
            "file "*) ;;
            *) continue ;;
        esac
        rest=${line#file }
        sum=${rest%% *}
        path=${rest#* }
        if [ -n "$2" ] && grep -Fxq -- "$path" "$2"; then
            continue
        fi
        if [ ! -e "$path" ] && [ ! -L "$path" ]; then
            continue
        fi
        if [ -f "$path" ] && [ "$(sha256 "$path")" = "$sum" ]; then
            rm -f "$path" && say "removed $path"
        else
            say "kept $path: it changed since it was installed"
        fi
    done <"$1"
}

uninstall() {
    [ -f "$receipt" ] || die "there is no receipt of $PACKAGE in $to ($receipt), so nothing was removed; use --to DIR where it was installed"
    remove_listed "$receipt" ""
    # The directories the installs created, innermost first; removed where empty.
    dirs=$(sed -n 's/^dir //p' "$receipt" | sed -n '1!G;h;$p')
    rm -f "$receipt"
    printf '%s\n' "$dirs" | while IFS= read -r d; do
        [ -z "$d" ] || rmdir "$d" 2>/dev/null || true
    done
    say "uninstalled $PACKAGE from $to"
}

# Prints the one line a shell needs to find what was installed, when it
# does not look there yet; never edits a startup file itself.
print_hints() {
    if [ "$system" = false ] && [ -n "$zsh_dir" ] && grep -qF "$zsh_dir/" "$tmp/docs" &&
        command -v zsh >/dev/null 2>&1 &&
        ! grep -qsF "zsh/site-functions" "${ZDOTDIR:-$HOME}/.zshrc"; then
        say "zsh finds the completion once ~/.zshrc has, before compinit:"
        say "    fpath=(\"$zsh_dir\" \$fpath)"
    fi
}

main() {
    version=""
    to="${@env@_INSTALL_DIR:-}"
    docs=true
    action=install
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
            --no-docs)
                docs=false
                shift
                ;;
            --uninstall)
                action=uninstall
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
    # Without --version: the release this installer came with.
    if [ -z "$version" ]; then
        version=$RELEASE_VERSION
    fi
    if [ -z "$to" ]; then
        [ -n "${HOME:-}" ] || die "HOME is not set; choose a directory with --to DIR"
        to="$HOME/.local/bin"
    fi
    case "$to" in
        /*) ;;
        *) to="$(pwd)/$to" ;;
    esac
    to=${to%/}
    case "$to" in
        *"
"*) die "--to: a directory name with a line break is not supported" ;;
    esac
    set_locations

    if ! command -v sha256sum >/dev/null 2>&1 && ! command -v shasum >/dev/null 2>&1; then
        die "neither sha256sum nor shasum is installed, so the download cannot be checked; install coreutils and run this again"
    fi
    if [ "$action" = uninstall ]; then
        uninstall
        return
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
    expected=""
    if [ -n "$RELEASE_VERSION" ] && [ "$version" = "$RELEASE_VERSION" ]; then
        for pair in $RELEASE_SUMS; do
            if [ "${pair%%:*}" = "$archive" ]; then
                expected=${pair#*:}
            fi
        done
    fi
    if [ -n "$expected" ]; then
        known="the SHA-256 this installer carries"
    else
        if [ -n "$RELEASE_VERSION" ]; then
            say "checking $archive against its published .sha256: this installer carries the hashes of $PACKAGE $RELEASE_VERSION only"
        fi
        download "$base/$archive.sha256" "$tmp/$archive.sha256"
        # Exactly one line `<sha256>  <archive>`, as `cargo xtask verify` reads it.
        sums="$tmp/$archive.sha256"
        line=$(sed -n '/[^[:space:]]/p' "$sums")
        expected=$(printf '%s\n' "$line" | sed -n 's/^\([0-9a-fA-F]\{64\}\) [ *]\(.*\)$/\1/p' | tr 'A-F' 'a-f')
        named=$(printf '%s\n' "$line" | sed -n 's/^[0-9a-fA-F]\{64\} [ *]\(.*\)$/\1/p')
        if [ "$(printf '%s\n' "$line" | sed -n '$=')" != 1 ] || [ -z "$expected" ] || [ "$named" != "$archive" ]; then
            die "$archive.sha256 does not hold one line \`<sha256>  $archive\`; nothing was installed"
        fi
        known="its published SHA-256"
    fi
    actual=$(sha256 "$tmp/$archive")
    if [ "$actual" != "$expected" ]; then
        die "$archive does not match $known (expected $expected, got $actual): the download is damaged or was tampered with; nothing was installed"
    fi

    mkdir "$tmp/unpacked"
    (cd "$tmp/unpacked" && @unpack@ "../$archive") || die "cannot unpack $archive@unpack-hint@; nothing was installed"
    dir="$tmp/unpacked/${archive%"$EXT"}"
    for bin in $BINS; do
        [ -f "$dir/$bin" ] || die "$archive holds no ${archive%"$EXT"}/$bin; nothing was installed"
    done

    : >"$tmp/created"
    : >"$tmp/bins"
    : >"$tmp/docs"
    : >"$tmp/shown"
    make_dir "$to" || die "cannot create $to; choose another directory with --to DIR"
    for bin in $BINS; do
        staged="$to/.$bin.installing.$$"
        if ! { cp "$dir/$bin" "$staged" && chmod 755 "$staged"; }; then
            die "cannot write to $to; choose another directory with --to DIR"
        fi
        printf '%s\n' "$to/$bin" >>"$tmp/bins"
    done
    if [ "$docs" = true ] && [ -n "$DOCS" ] && [ -z "$bash_dir" ]; then
        say "HOME is not set: installing no completions or man pages"
    elif [ "$docs" = true ]; then
        while read -r kind path name; do
            if [ -z "$kind" ] || [ ! -f "$dir/$path" ]; then
                continue
            fi
            dest="$(doc_dir "$kind")/$name"
            # Another file of the archive already goes there.
            if grep -Fxq -- "$dest" "$tmp/docs"; then
                continue
            fi
            make_dir "${dest%/*}" || die "cannot create ${dest%/*}; run again with --no-docs to install the binaries only"
            if ! { cp "$dir/$path" "$(staged "$dest")" && chmod 644 "$(staged "$dest")"; }; then
                die "cannot write to ${dest%/*}; run again with --no-docs to install the binaries only"
            fi
            printf '%s\n' "$dest" >>"$tmp/docs"
            printf '%s: %s\n' "$(describe "$kind")" "$dest" >>"$tmp/shown"
        done <<EOF
$DOCS
EOF
    fi
    # Started where it will live, before it replaces anything: a binary that
    # cannot run on this machine is never installed.
    if ! out=$("$to/.$APP.installing.$$" --version 2>&1); then
        die "the downloaded $APP does not start on this machine ($out); nothing was installed"
    fi

    # The receipt: each file with the SHA-256 it was installed with, and
    # the directories made for them (an earlier install's too).
    installed_version=${archive#"$PACKAGE-"}
    installed_version=${installed_version%"-$target$EXT"}
    {
        printf '# %s\n' "Written by $PACKAGE's installer: what it installed. \`sh $PACKAGE-installer.sh --uninstall --to $to\` removes these files, each only if unchanged."
        printf 'installed %s %s %s\n' "$PACKAGE" "$installed_version" "$target"
        cat "$tmp/bins" "$tmp/docs" | while IFS= read -r dest; do
            printf 'file %s %s\n' "$(sha256 "$(staged "$dest")")" "$dest"
        done
        [ ! -f "$receipt" ] || sed -n 's/^dir //p' "$receipt" >"$tmp/dirs"
        cat "$tmp/created" >>"$tmp/dirs"
        : >"$tmp/listed"
        while IFS= read -r d; do
            if ! grep -Fxq -- "$d" "$tmp/listed"; then
                printf '%s\n' "$d" >>"$tmp/listed"
                printf 'dir %s\n' "$d"
            fi
        done <"$tmp/dirs"
    } >"$(staged "$receipt")" || die "cannot write $receipt; nothing was installed"

    # Renames within one directory: the old file or the new, never half of one.
    while IFS= read -r dest; do
        mv -f "$(staged "$dest")" "$dest"
    done <"$tmp/bins"
    while IFS= read -r dest; do
        mv -f "$(staged "$dest")" "$dest"
    done <"$tmp/docs"
    # What an earlier install placed that this one does not is removed.
    if [ -f "$receipt" ]; then
        cat "$tmp/bins" "$tmp/docs" >"$tmp/kept"
        remove_listed "$receipt" "$tmp/kept"
    fi
    mv -f "$(staged "$receipt")" "$receipt"

    say "installed $(printf '%s\n' "$out" | head -n 1) as $to/$APP"
    while IFS= read -r line; do
        say "    $line"
    done <"$tmp/shown"
    case ":${PATH:-}:" in
        *":$to:"*) say "run '$APP --help' to get started" ;;
        *)
            say "$to is not on your PATH; add it, for example in ~/.profile:"
            say "    export PATH=\"$to:\$PATH\""
            ;;
    esac
    print_hints
    say "to remove it: sh $PACKAGE-installer.sh --uninstall --to \"$to\" (the receipt: $receipt)"
}

main "$@"
