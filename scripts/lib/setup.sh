# Shared set-up for scripts/demo, scripts/test and scripts/bench: each installs what it needs, idempotently,
# because CI and new machines start from a clean clone. Source it; it defines functions and moves to the repo root.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo_root"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# ensure_apt PACKAGE...: installs the Debian packages that are missing, running apt-get update once first.
ensure_apt() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_venv: the git-ignored Python environment with qq (qumulo-api) and the test tools, at .venv.
ensure_venv() {
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    ensure_apt python3 python3-venv
  fi
  if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/conformance/requirements.txt; then
    log "pip could not install Tests/conformance/requirements.txt"
    return 1
  fi
}

# ensure_swift: the toolchain comes with the machine; say so plainly when it is missing.
ensure_swift() {
  command -v swift >/dev/null || { log "swift is not on PATH: install the Swift 6.3 toolchain first"; return 1; }
}

# build: the debug build of every product and test, once; later runs only rebuild what changed.
build() {
  log "building (the first build takes several minutes)"
  local status
  set +e
  swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking|Merging|Building)'
  status=${PIPESTATUS[0]}
  set -e
  ((status == 0)) || log "swift build failed"
  return "$status"
}
