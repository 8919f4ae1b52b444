# Sourced by ./generate and ./ci: makes "$VENV" a virtualenv holding exactly
# requirements-dev.txt, reused between runs while that file is unchanged.
# CONTACTD_PY_VENV names the directory (default: target/sdk-python-venv at the
# repository root, beside the Rust build output, which git ignores).

SDK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${CONTACTD_PY_VENV:-$SDK_DIR/../../target/sdk-python-venv}

ensure_dev_venv() {
    local lock="$SDK_DIR/requirements-dev.txt" stamp
    stamp=$(sha256sum "$lock" | cut -d' ' -f1)
    if [ "$(cat "$VENV/.requirements-dev.sha256" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    echo "== creating $VENV from requirements-dev.txt" >&2
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        echo "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)" >&2
        return 1
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock"
    echo "$stamp" > "$VENV/.requirements-dev.sha256"
}
