# Sourced by package_test.sh: the .deb's control data and contents (dpkg-deb -I / -c), nothing
# installed. Uses deb, multiarch, work, check, has.

control=$(dpkg-deb -I "$deb" control 2>&1)
depends=$(sed -n 's/^Depends: //p' <<<"$control")
check "Package: sitehost" has "$control" "^Package: sitehost$"
check "Section: httpd" has "$control" "^Section: httpd$"
check "Version is the project's ($(sed -n 's/^Version: //p' <<<"$control"))" \
  has "$control" "Version: [0-9]*\.[0-9]*\.[0-9]*-1"
for dep in 'libc6 (>=' 'libuv1 (>=' 'libssl3 (>=' 'libfmt9' 'adduser'; do
  check "Depends has $dep (dpkg-shlibdeps)" has "$depends" "$dep"
done
check "conffiles lists /etc/sitehost/sitehost.toml" \
  has "$(dpkg-deb -I "$deb" conffiles 2>&1)" "^/etc/sitehost/sitehost.toml$"
for script in postinst prerm postrm; do
  check "maintainer script $script" dpkg-deb -I "$deb" "$script"
done

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/sitehost ./usr/bin/sitehost-app ./usr/libexec/sitehost/sitehost-launch \
  ./etc/sitehost/sitehost.toml "./usr/lib/$multiarch/sitehost/demo/hello.so" \
  "./usr/lib/$multiarch/sitehost/demo/info.so" ./usr/include/sitehost/handler.h \
  ./usr/include/sitehost/handler.hpp ./usr/share/pkgconfig/sitehost-handler.pc \
  ./usr/lib/systemd/system/sitehost.service ./usr/lib/systemd/system/sitehost.socket \
  ./usr/share/man/man8/sitehost.8.gz ./usr/share/man/man8/sitehost-app.8.gz \
  ./usr/share/man/man5/sitehost.toml.5.gz ./usr/share/doc/sitehost/changelog.Debian.gz \
  ./usr/share/doc/sitehost/copyright ./usr/share/lintian/overrides/sitehost \
  ./usr/share/doc/sitehost/README.md ./usr/share/doc/sitehost/docs/install.md; do
  check "contains $path" has "$contents" "^${path//./\\.}$"
done

# The binaries carry no path of the build machine (no RUNPATH into the build tree) and are
# stripped (CPACK_STRIP_FILES).
extracted="$work/extracted"
dpkg-deb -x "$deb" "$extracted"
for bin in usr/bin/sitehost usr/bin/sitehost-app usr/libexec/sitehost/sitehost-launch; do
  check "$bin has no RUNPATH" bash -c "! readelf -d '$extracted/$bin' | grep -q 'R.*PATH'"
  check "$bin is stripped" bash -c "file '$extracted/$bin' | grep -q ', stripped'"
done
check "the installed config names installed paths only" \
  bash -c "! grep -n '$build\|/work/\|build/release' '$extracted/etc/sitehost/sitehost.toml'"
# The license, machine-readable (DEP-5; lintian checks its syntax).
copyright=$(cat "$extracted/usr/share/doc/sitehost/copyright")
check "copyright is DEP-5" \
  has "$copyright" "^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/$"
check "copyright: 2026 the sitehost developers" \
  has "$copyright" "^Copyright: 2026 the sitehost developers$"
check "copyright: License: MIT, with its text" has "$copyright" "^License: MIT$"
