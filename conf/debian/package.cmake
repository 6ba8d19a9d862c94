# The Debian package (CPack's DEB generator; built by tools/package): everything `cmake --install`
# puts under the prefix, which must be /usr (the release preset sets it), plus the maintainer
# scripts of this folder. Runtime dependencies come from dpkg-shlibdeps on the binaries.
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "CMAKE_INSTALL_PREFIX is not /usr: cpack would build a package with paths "
                 "under ${CMAKE_INSTALL_PREFIX}")
endif()
set(SITEHOST_PACKAGE_MAINTAINER "sitehost maintainers <sitehost@example.org>" CACHE STRING
  "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sitehost)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # sitehost_VERSION-1_ARCH.deb
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SITEHOST_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "application host for Linux web apps (IIS + ANCM model)")
# The Description: field's first line is the summary; CPack indents the rest.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "sitehost serves HTTP/1.1 and HTTPS on one event loop per CPU
and routes each request to a site. A site runs in-process (sitehost loads
its handler library, a C ABI, and calls it directly) or out-of-process
(sitehost starts and supervises the site's own HTTP server, such as an
ASP.NET Core app on Kestrel, and proxies to it), like IIS with the ASP.NET
Core Module. Deploys drop no request: app_offline.htm, hot swaps of
handler libraries and live reloads of the one TOML config file.
.
The package has sitehost, sitehost-app (one handler library served over
HTTP), a hardened systemd service (socket activation optional), an
example config with two demo sites on loopback, and the headers and
pkg-config file to build handler libraries.")
# Depends: what dpkg-shlibdeps finds for the binaries, plus adduser (postinst makes the user).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_STRIP_FILES ON)
# And without the compiler's .comment and .note sections (dh_strip's extra step).
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_SOURCE_DIR}/debian/strip_notes.cmake)

# Control files: the config is a conffile (dpkg keeps the admin's edits on upgrades), and the
# maintainer scripts do what dh_installsystemd and adduser calls would in a debian/ build.
set(conffiles ${CMAKE_CURRENT_BINARY_DIR}/debian/conffiles)
file(WRITE ${conffiles} "${CMAKE_INSTALL_FULL_SYSCONFDIR}/sitehost/sitehost.toml\n")
# A changelog entry for this build (Debian packages carry one in /usr/share/doc/PACKAGE).
string(TIMESTAMP changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.Debian
  "sitehost (${PROJECT_VERSION}-1) unstable; urgency=medium\n\n"
  "  * Built with CPack from the sitehost sources (tools/package).\n\n"
  " -- ${SITEHOST_PACKAGE_MAINTAINER}  ${changelog_date}\n")
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.Debian.gz
  COMMAND gzip -9nf -k ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.Debian
  DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.Debian)
add_custom_target(sitehost_changelog ALL
  DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.Debian.gz)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.Debian.gz
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The license in Debian's machine-readable format (DEP-5), where Debian keeps every package's, and
# lintian's overrides: the tags left on purpose, each with its reason (docs/install.md, "lintian").
install(FILES debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
  RENAME sitehost)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${conffiles}
  ${CMAKE_CURRENT_SOURCE_DIR}/debian/postinst ${CMAKE_CURRENT_SOURCE_DIR}/debian/prerm
  ${CMAKE_CURRENT_SOURCE_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
