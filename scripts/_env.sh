# Shared by quickstart.sh and test.sh: find a Python >= 3.12 and make/refresh the project venv.
# Sourced, not run. Honours SIM_PYTHON (an interpreter to use) and SIM_VENV (default: .venv).

sim_find_python() {
    local cand root
    local -a cands=()
    [ -n "${SIM_PYTHON:-}" ] && cands+=("$SIM_PYTHON")
    cands+=(python3.12 python3.13 python3.14 python3)
    if command -v pyenv >/dev/null 2>&1; then
        root=$(pyenv root 2>/dev/null)
        for cand in "$root"/versions/3.1[2-9]*/bin/python3; do
            [ -x "$cand" ] && cands+=("$cand")
        done
    fi
    for cand in "${cands[@]}"; do
        if "$cand" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' \
            >/dev/null 2>&1; then
            command -v "$cand" 2>/dev/null || echo "$cand"
            return 0
        fi
    done
    echo "error: no Python >= 3.12 found (tried: ${cands[*]}). Install Python 3.12 or newer," \
         "or set SIM_PYTHON=/path/to/python3.12." >&2
    return 1
}

sim_make_venv() {
    # $1: pip extras spec, e.g. "." or ".[test]"
    local py venv="${SIM_VENV:-.venv}"
    if [ ! -x "$venv/bin/python" ]; then
        py=$(sim_find_python) || return 1
        echo "Creating $venv with $("$py" --version 2>&1)"
        "$py" -m venv "$venv" || return 1
    fi
    "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    "$venv/bin/python" -m pip install --quiet "$1" || return 1
}
