# Sourced by package_test.sh after static_checks.sh: the packaged binaries were built with the
# hardening flags (SITEHOST_HARDENING, conf/debian/hardening.cmake), read from the unpacked .deb
# with readelf (devscripts' hardening-check does the same reading). Then lintian on the .deb,
# when installed: any E: tag fails, W: tags are printed (those kept on purpose are overridden in
# the package, conf/debian/lintian-overrides). Uses deb, extracted, work, check, has.

# Each predicate prints what is missing (check shows it with the FAIL line). readelf's output is
# read whole before grep (a grep -q in a pipe would fail it on SIGPIPE under pipefail).
pie() {
  local header dynamic
  header=$(readelf -hW "$extracted/$1") dynamic=$(readelf -dW "$extracted/$1")
  grep -q 'Type: *DYN' <<<"$header" || { echo "ELF type is not DYN"; return 1; }
  grep -q 'FLAGS_1.* PIE' <<<"$dynamic" || { echo "no PIE in FLAGS_1"; return 1; }
}
full_relro() {
  local segments dynamic
  segments=$(readelf -lW "$extracted/$1") dynamic=$(readelf -dW "$extracted/$1")
  grep -q GNU_RELRO <<<"$segments" || { echo "no GNU_RELRO segment"; return 1; }
  grep -Eq 'BIND_NOW|FLAGS_1.* NOW' <<<"$dynamic" || { echo "no BIND_NOW"; return 1; }
}
dynsyms() { readelf --dyn-syms -W "$extracted/$1" | awk '{print $8}'; }
stack_protected() {
  grep -q '^__stack_chk_fail@' <<<"$(dynsyms "$1")" || { echo "no __stack_chk_fail"; return 1; }
}
fortified() {  # __memcpy_chk, __snprintf_chk, ... (not __stack_chk_fail)
  grep -q '^__[a-z0-9_]*_chk@' <<<"$(dynsyms "$1")" ||
    { echo "no __*_chk function (_FORTIFY_SOURCE)"; return 1; }
}

programs=(usr/bin/sitehost usr/bin/sitehost-app usr/libexec/sitehost/sitehost-launch)
demo="usr/lib/$multiarch/sitehost/demo"
for bin in "${programs[@]}"; do
  check "$bin is PIE (ELF type DYN, FLAGS_1 PIE)" pie "$bin"
done
for bin in "${programs[@]}" "$demo/hello.so" "$demo/info.so"; do
  check "$bin has full RELRO (GNU_RELRO, BIND_NOW)" full_relro "$bin"
done
# hello.so calls no function at all (it answers through the host's ABI table), so neither a
# stack-protected frame nor a fortifiable call is there to find; everything else has both.
for bin in "${programs[@]}" "$demo/info.so"; do
  check "$bin has stack protection (__stack_chk_fail)" stack_protected "$bin"
  check "$bin has fortified calls (__*_chk)" fortified "$bin"
done

# lintian_clean: lintian's verdict on the .deb (fails on an E: tag); its findings in lintian.txt.
lintian_clean() {
  local status=0
  lintian --fail-on error "$deb" >"$work/lintian.txt" 2>&1 || status=$?
  grep -v '^running with root privileges' "$work/lintian.txt"
  [ "$status" -eq 0 ] && ! grep -q '^E: ' "$work/lintian.txt"
}
if command -v lintian >/dev/null; then
  check "lintian reports no error (E:) tag" lintian_clean
  grep '^W: ' "$work/lintian.txt" | sed 's/^/package test: lintian warning: /'
else
  echo "package test: lintian is not installed: the lintian check is skipped"
fi
