#!/bin/sh
# Install git-credential-copilot for this user from this checkout, with any Python >= 3.10,
# including a system Python that refuses `pip install` (PEP 668, "externally managed").
#
#   ./install.sh              install, or upgrade in place (run it again after `git pull`)
#   ./install.sh --uninstall  undo `configure`, remove the command and its venv; keep the login
#
# The package and its dependencies go into a private venv under
# ${XDG_DATA_HOME:-~/.local/share}/git-credential-copilot-venv/ (pip fetches them from the
# package index), and the command is linked into ~/.local/bin, where git looks for
# `git-credential-copilot` when ~/.local/bin is on PATH. The program lives apart from the
# login (${XDG_DATA_HOME:-~/.local/share}/git-credential-copilot/), so removing one never
# breaks the other. Set PYTHON=/path/to/python3 to choose the interpreter.
set -eu

app=git-credential-copilot
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

# The XDG spec says a relative value is invalid and must be ignored; the helper does the same.
xdg() { case ${1:-} in /*) printf %s "$1" ;; *) printf %s "$HOME/$2" ;; esac; }
data_home=$(xdg "${XDG_DATA_HOME:-}" .local/share)
state_home=$(xdg "${XDG_STATE_HOME:-}" .local/state)
config_home=$(xdg "${XDG_CONFIG_HOME:-}" .config)
root=$data_home/$app-venv
bin=$HOME/.local/bin
link=$bin/$app

say() { printf '%s\n' "$*" >&2; }
die() { say "install.sh: $*"; exit 1; }

# The user's way to write a path under $HOME, for messages.
tilde() { case $1 in "$HOME"/*) printf '~/%s' "${1#"$HOME"/}" ;; *) printf %s "$1" ;; esac; }

ours() {  # is $link a link into $root (made by this script)?
    [ -L "$link" ] || return 1
    case $(readlink "$link") in "$root"/*) return 0 ;; *) return 1 ;; esac
}

pick_python() {
    if [ -n "${PYTHON:-}" ]; then  # a path with spaces stays one word
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null ||
            die "PYTHON=$PYTHON is not a Python >= 3.10"
        printf %s "$PYTHON"
        return 0
    fi
    for py in python3 python3.13 python3.12 python3.11 python3.10 python; do
        command -v "$py" >/dev/null 2>&1 || continue
        "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || continue
        printf %s "$py"
        return 0
    done
    die "no Python >= 3.10 found (tried python3 python3.13 … python3.10); install one, or set PYTHON=/path/to/python3"
}

install() {
    py=$(pick_python)
    "$py" -c 'import ensurepip, venv' 2>/dev/null ||
        die "$py cannot create a virtual environment; install its venv module (Debian/Ubuntu: sudo apt install python3-venv) and run again"
    if [ -e "$link" ] || [ -L "$link" ]; then
        ours || die "$(tilde "$link") exists and was not made by install.sh (pip install --user? pipx?); remove it (pip uninstall $app, or pipx uninstall $app) and run again"
    fi

    # A new venv beside the old one, switched to only once it works: a failed upgrade
    # (no network, say) leaves the installed version running.
    new=$root/$(date +%Y%m%d%H%M%S)-$$
    mkdir -p "$root"
    say "Installing $app from $(tilde "$here") with $("$py" -c 'import sys; print(sys.executable)') …"
    if ! "$py" -m venv "$new" ||
        ! "$new/bin/python" -m pip install --quiet --disable-pip-version-check "$here" ||
        ! version=$("$new/bin/$app" --version); then
        rm -rf "$new"
        die "installation failed (see pip's message above); nothing was changed"
    fi

    mkdir -p "$bin"
    ln -s "$new/bin/$app" "$link.new.$$"
    mv -f "$link.new.$$" "$link"  # rename(2): git never sees the command missing
    for old in "$root"/*; do
        [ "$old" = "$new" ] || rm -rf "$old"
    done
    say "Installed $version: $(tilde "$link")"
    path_advice
}

path_advice() {
    case ":$PATH:" in
        *":$bin:"* | *":$bin/:"*)
            found=$(command -v "$app" 2>/dev/null || true)
            [ "$found" = "$link" ] ||
                say "Note: $found comes before it on your PATH; remove that copy, or git runs it instead."
            ;;
        *)
            if grep -qs '\.local/bin' "$HOME/.profile"; then
                say "$(tilde "$bin") is not on this shell's PATH yet; your ~/.profile adds it when you next log in. Until then:"
            else
                say "$(tilde "$bin") is not on your PATH, so git will not find the helper. Add this line to ~/.profile (zsh: ~/.zprofile), and run it in this shell too:"
            fi
            say "    export PATH=\"\$HOME/.local/bin:\$PATH\""
            ;;
    esac
}

uninstall() {
    if ours; then
        # Undo `configure` while the command still exists, if this version has it (its help
        # names it; an older version prints its general usage, which does not).
        if usage=$("$link" unconfigure --help 2>&1) && case $usage in *unconfigure*) ;; *) false ;; esac; then
            "$link" unconfigure || die "'$app unconfigure' failed; nothing was removed"
        else
            left=$(git config --global --get-regexp '^credential\..*helper$' 2>/dev/null | grep copilot || true)
            if [ -n "$left" ]; then
                say "Your ~/.gitconfig still names the helper; remove these lines:"
                say "$left"
            fi
        fi
        rm -f "$link"
        rm -rf "$root"
        say "Removed $app ($(tilde "$link") and $(tilde "$root"))."
    elif [ -e "$link" ] || [ -L "$link" ]; then
        die "$(tilde "$link") was not made by install.sh; remove it the way it was installed (pip uninstall $app, or pipx uninstall $app)"
    else
        rm -rf "$root"
        say "$app is not installed by install.sh; nothing to remove."
    fi
    say "Kept your login and settings; a reinstall finds them. To remove them too:"
    say "    rm -rf $(tilde "$data_home/$app") $(tilde "$state_home/$app") $(tilde "$config_home/$app")"
    say "and the keyring entries of service $app:"
    say "    secret-tool clear service $app    (macOS: security delete-generic-password -s $app)"
}

case ${1:-} in
    "") install ;;
    --uninstall) uninstall ;;
    -h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0" ;;
    *) die "unknown option '$1'; use no option to install or upgrade, --uninstall to remove" ;;
esac
