#!/usr/bin/env bash
# The package test (CTest label `package`; docs/install.md, "The package test"):
#   package_test.sh BUILD_DIR
# checks the .deb tools/package left in BUILD_DIR with dpkg-deb, then installs it and runs it:
# - installed mode (root, no sitehost package known to dpkg): `dpkg -i` for real, the server as
#   the sitehost user on /etc/sitehost/sitehost.toml, then `dpkg --purge` (on any exit);
# - unpacked mode (otherwise): `dpkg-deb -x` into a scratch folder, the config's paths rewritten
#   to it, the server as the current user.
# Every check prints one line (ok/FAIL); the last line is "N passed, N failed".
set -uo pipefail
build=$(realpath "${1:?usage: package_test.sh BUILD_DIR}")
here=$(dirname "$(realpath "$0")")

passed=0
failed=0
work=$(mktemp -d /tmp/sitehost-package-test.XXXXXX)
chmod 0755 "$work"  # the sitehost user reads the test's config copy and handler from here
out="$work/out"

# check DESCRIPTION COMMAND...: runs COMMAND, prints ok or FAIL (with its output).
check() {
  local what=$1
  shift
  if "$@" >"$out" 2>&1; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAIL: $what"
    sed 's/^/    /' "$out" | head -40
    failed=$((failed + 1))
  fi
}
has() { grep -q -- "$2" <<<"$1" || { echo "not found: $2"; echo "in: $1" | head -30; return 1; }; }
summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

shopt -s nullglob
debs=("$build"/sitehost_*.deb)
if [ ${#debs[@]} -ne 1 ]; then
  echo "FAIL: expected one sitehost_*.deb in $build, found ${#debs[@]} (run tools/package first)"
  rm -rf "$work"
  exit 1
fi
deb=${debs[0]}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
echo "package test: $deb"

# --- the package as a file -------------------------------------------------------------------
. "$here/static_checks.sh"
. "$here/hardening_checks.sh"

# --- installed or unpacked -------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && ! dpkg-query -W sitehost >/dev/null 2>&1; then
  mode=installed
  echo "package test: mode: installed (root, no sitehost package known to dpkg): dpkg -i, then dpkg --purge"
else
  mode=unpacked
  why="not root"
  [ "$(id -u)" -eq 0 ] && why="a sitehost package is already known to dpkg"
  echo "package test: mode: unpacked ($why): dpkg-deb -x into $work/root"
fi
. "$here/run_checks.sh"

summary
