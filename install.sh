#!/bin/sh
# Install git-credential-copilot for this user from this checkout, with any Python >= 3.10,
# including a system Python that refuses `pip install` (PEP 668, "externally managed").
#
#   ./install.sh              install, or upgrade in place (run it again after `git pull`)
#   ./install.sh --uninstall  undo `configure`, remove the command and its venv; keep the login
#
# The package and its dependencies go into a private venv under
# ${XDG_DATA_HOME:-~/.local/share}/git-credential-copilot-venv/ (pip fetches them from the
# package index), and a launcher into ~/.local/bin, where git looks for
# `git-credential-copilot` when ~/.local/bin is on PATH. The program lives apart from the
# login (${XDG_DATA_HOME:-~/.local/share}/git-credential-copilot/), so removing one never
# breaks the other. Set PYTHON=/path/to/python3 to choose the interpreter.
#
# POSIX sh (dash, macOS's sh, BSD tools), and every path may hold spaces or quotes.
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
# The launcher's second line: how uninstall and upgrade know the command is theirs.
marker="# $app launcher, written by install.sh; \`install.sh --uninstall\` removes it"
# How the launcher starts Python: -I (no PYTHON* variables, no user site) and -S (no site,
# no .pth files): faster, and nothing in the environment injects code into the helper. The
# script then adds its venv's site-packages itself (scripts/git-credential-copilot).
py_flags=-IS  # one word: a #! line carries one argument

say() { printf '%s\n' "$*" >&2; }
die() { say "install.sh: $*"; exit 1; }

# $1 as one shell word: as it is when no character is special to a shell, else in '…'.
# The safe characters are spelled out: ranges and [:classes:] differ between shells.
quote() {
    case $1 in
        '' | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./@%+=:,-]*)
            printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")" ;;
        *) printf %s "$1" ;;
    esac
}

# A path for a command a person copies: ~/… under $HOME, quoted where it has to be.
shown() {
    case $1 in
        "$HOME"/*) printf '%s/%s' '~' "$(quote "${1#"$HOME"/}")" ;;
        *) quote "$1" ;;
    esac
}

# Is $link ours: the launcher this script writes, or the link an older install.sh made?
ours() {
    if [ -L "$link" ]; then
        case $(readlink "$link") in "$root"/*) return 0 ;; *) return 1 ;; esac
    fi
    [ -f "$link" ] || return 1
    case $(sed -n 2p "$link") in "$marker") return 0 ;; *) return 1 ;; esac
}

# Python's version as x.y.z, or a failure if $1 does not run.
version_of() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null; }

new_enough() {  # is version $1 (x.y.z) at least 3.10?
    case $1 in [0-9]*.[0-9]*) ;; *) return 1 ;; esac
    major=${1%%.*} rest=${1#*.}
    minor=${rest%%.*}
    [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 10 ]; }
}

# What to install when only an old Python is here (macOS ships 3.9 as /usr/bin/python3).
python_hint() {
    case $(uname -s 2>/dev/null) in
        Darwin) printf 'install a newer one (brew install python, or the installer from python.org)' ;;
        *) printf 'install python3 3.10 or newer (your package manager, or python.org)' ;;
    esac
}

pick_python() {
    if [ -n "${PYTHON:-}" ]; then  # a path with spaces stays one word
        v=$(version_of "$PYTHON") || die "PYTHON=$PYTHON does not run; set it to a Python >= 3.10"
        new_enough "$v" || die "PYTHON=$PYTHON is Python $v; $app needs 3.10 or newer: $(python_hint)"
        printf %s "$PYTHON"
        return 0
    fi
    old=""
    for py in python3 python3.14 python3.13 python3.12 python3.11 python3.10 python; do
        path=$(command -v "$py" 2>/dev/null) || continue
        v=$(version_of "$path") || continue
        if new_enough "$v"; then
            printf %s "$path"
            return 0
        fi
        [ -n "$old" ] || old="Python $v ($path)"
    done
    [ -z "$old" ] || die "$app needs Python 3.10 or newer and found only $old: $(python_hint), then run install.sh again (or set PYTHON=/path/to/python3)"
    die "no Python found (tried python3, python3.14 … python3.10, python): $(python_hint), then run install.sh again"
}

# The launcher for the venv $1, at $2: a copy of the venv's script whose #! line names the
# venv's Python with $py_flags, so the kernel starts Python directly. (pip writes the
# script's own #! line without flags, and unquoted.) A kernel cuts a long #! line short
# (127 bytes before Linux 5.1, 255 after), and cutting it drops the flags silently (or leaves
# "python -", which runs stdin): so a one-line probe with the same #! line must report both
# flags first. Where it does not, or the venv's path holds a space, a tab or a line break
# (each would end a #! line's path), the launcher is a sh script that runs that Python on the
# venv's script instead: a sh hop, about a millisecond more per run.
write_launcher() {
    python=$1/bin/python
    case $python in
        *[" 	
"]*) ;;
        *)
            printf '#!%s %s\nimport sys; print(sys.flags.isolated, sys.flags.no_site)\n' \
                "$python" "$py_flags" >"$2"
            chmod 755 "$2"
            if [ "$("$2" </dev/null 2>/dev/null)" = "1 1" ]; then
                {
                    printf '#!%s %s\n%s\n' "$python" "$py_flags" "$marker"
                    sed 1d "$1/bin/$app"
                } >"$2"
                return 0
            fi ;;
    esac
    {
        printf '#!/bin/sh\n%s\n' "$marker"
        printf 'exec %s %s %s "$@"\n' "$(quote "$python")" "$py_flags" "$(quote "$1/bin/$app")"
    } >"$2"
    chmod 755 "$2"
}

install() {
    py=$(pick_python)
    "$py" -c 'import ensurepip, venv' 2>/dev/null ||
        die "$py cannot create a virtual environment; install its venv module (Debian/Ubuntu: sudo apt install python3-venv) and run again"
    if [ -e "$link" ] || [ -L "$link" ]; then
        ours || die "$(shown "$link") exists and was not made by install.sh (pip install --user? pipx?); remove it (pip uninstall $app, or pipx uninstall $app) and run again"
    fi

    # A new venv beside the old one, switched to only once it works: a failed upgrade
    # (no network, say) leaves the installed version running.
    new=$root/$(date +%Y%m%d%H%M%S)-$$
    next=$link.new.$$
    mkdir -p "$root" "$bin"
    say "Installing $app from $(shown "$here") with $("$py" -c 'import sys; print(sys.executable)') …"
    if ! "$py" -m venv "$new" ||
        ! "$new/bin/python" -m pip install --quiet --disable-pip-version-check "$here" ||
        ! write_launcher "$new" "$next" ||
        ! version=$("$next" --version </dev/null); then
        rm -rf "$new" "$next"
        die "installation failed (see the message above); nothing was changed"
    fi

    mv -f "$next" "$link"  # rename(2): git never sees the command missing
    for old in "$root"/*; do
        [ "$old" = "$new" ] || rm -rf "$old"
    done
    say "Installed $version: $(shown "$link")"
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
                say "$(shown "$bin") is not on this shell's PATH yet; your ~/.profile adds it when you next log in. Until then:"
            else
                say "$(shown "$bin") is not on your PATH, so git will not find the helper. Add this line to ~/.profile (zsh: ~/.zprofile), and run it in this shell too:"
            fi
            # shellcheck disable=SC2016 # the person's shell expands it, whatever $HOME holds
            say '    export PATH="$HOME/.local/bin:$PATH"'
            ;;
    esac
}

# What `unconfigure` removes, by hand: in each section configure marked (copilotConfigured),
# the values "" and copilot of `helper`, then the marker. For when git could not read its
# config while the command still existed; tests/test_install.py runs it after a configure.
# shellcheck disable=SC2016 # printed for a person to run
unset_by_hand='git config --global --name-only --get-regexp '\''^credential\..*\.copilotconfigured$'\'' | while read -r key; do git config --global --unset-all "${key%.*}.helper" '\''^(copilot)?$'\''; git config --global --unset-all "$key"; done'

# Undo `configure` while the command still exists. On failure, sets $left_in_git to the one
# line that says what stays and how to remove it.
unconfigure_git() {
    # A version without `unconfigure` prints its general usage, which does not name it.
    if usage=$("$link" unconfigure --help 2>&1) && case $usage in *unconfigure*) ;; *) false ;; esac; then
        if out=$("$link" unconfigure 2>&1); then
            [ -z "$out" ] || say "$out"
            return 0
        fi
        # git's own reason when it cannot read the file (the helper's line would tell the
        # person to run the helper again, and it is about to go), else the helper's.
        why=$(git config --global --list 2>&1 >/dev/null | sed -n '$p') || true
        [ -n "$why" ] || why=$(printf '%s\n' "$out" | sed -n '$p')
        left_in_git="install.sh: could not remove the helper's entries from your git config (${why#"$app: "}); once that is fixed, run: $unset_by_hand"
        return 1
    fi
    names=$(git config --global --get-regexp '^credential\..*helper$' 2>/dev/null | grep copilot || true)
    if [ -n "$names" ]; then
        say "Your ~/.gitconfig still names the helper; remove these lines:"
        say "$names"
    fi
}

uninstall() {
    left_in_git=""
    if ours; then
        unconfigure_git || true  # removing the command goes on; the line below says what stays
        rm -f "$link"
        rm -rf "$root"
        say "Removed $app ($(shown "$link") and $(shown "$root"))."
    elif [ -e "$link" ] || [ -L "$link" ]; then
        die "$(shown "$link") was not made by install.sh; remove it the way it was installed (pip uninstall $app, or pipx uninstall $app)"
    else
        rm -rf "$root"
        say "$app is not installed by install.sh; nothing to remove."
    fi
    say "Kept your login and settings; a reinstall finds them. To remove them too:"
    say "    rm -rf $(shown "$data_home/$app") $(shown "$state_home/$app") $(shown "$config_home/$app")"
    say "and the keyring entries of service $app:"
    say "    secret-tool clear service $app    (macOS: security delete-generic-password -s $app)"
    [ -z "$left_in_git" ] || { say "$left_in_git"; exit 1; }
}

case ${1:-} in
    "") install ;;
    --uninstall) uninstall ;;
    -h | --help) sed -n -e '/^set -eu/q' -e '2,$s/^# \{0,1\}//p' "$0" ;;
    *) die "unknown option '$1'; use no option to install or upgrade, --uninstall to remove" ;;
esac
