# SITEHOST_HARDENING: the flags Debian's `dpkg-buildflags` gives a package with
# `DEB_BUILD_MAINT_OPTIONS=hardening=+all` (docs/install.md, "Hardening"), for every target made
# after this file is included. ON in the release preset, the one tools/package builds; the
# sanitizer presets leave it off. Each flag the compiler lacks (e.g. -fcf-protection off x86) is
# left out with a status line, so the build stays warning-free with GCC and clang.
include(CheckCXXCompilerFlag)
include(CheckPIESupported)

# PIE: -fPIE and -pie for executables (CMAKE_POSITION_INDEPENDENT_CODE is ON; CMake passes -pie
# only once check_pie_supported() has run). Debian's GCC makes PIE by default; clang 14 does not.
check_pie_supported(OUTPUT_VARIABLE pie_why LANGUAGES C CXX)
if(NOT CMAKE_CXX_LINK_PIE_SUPPORTED)
  message(FATAL_ERROR "SITEHOST_HARDENING: the linker cannot make PIE executables: ${pie_why}")
endif()

set(hardening_flags -fstack-protector-strong -Wformat -Werror=format-security)
foreach(flag -fstack-clash-protection -fcf-protection)
  string(MAKE_C_IDENTIFIER "SITEHOST_HAS${flag}" var)
  check_cxx_compiler_flag(${flag} ${var})
  if(${var})
    list(APPEND hardening_flags ${flag})
  else()
    message(STATUS "SITEHOST_HARDENING: ${CMAKE_CXX_COMPILER_ID} has no ${flag}: left out")
  endif()
endforeach()

# _FORTIFY_SOURCE=2, the level Debian 12's dpkg-buildflags gives (nginx and HAProxy, which the
# benchmarks compare with, are built with it). Level 3's dynamic object sizes cost the hot path
# a few percent of CPU per request in tools/bench. It needs optimisation (glibc warns at -O0, an
# error here) and is left out of sanitizer builds, whose interceptors it bypasses. -U first:
# CPPFLAGS from the environment may already define it (a redefinition warns).
if(SITEHOST_SANITIZE OR SITEHOST_SANITIZE_THREAD OR CMAKE_BUILD_TYPE STREQUAL "Debug")
  message(STATUS "SITEHOST_HARDENING: no _FORTIFY_SOURCE (a sanitizer or Debug build)")
else()
  list(APPEND hardening_flags -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
endif()

add_compile_options(${hardening_flags})
# Full RELRO: the GOT is read-only after start-up, every symbol bound at load (BIND_NOW).
add_link_options(LINKER:-z,relro LINKER:-z,now)
list(JOIN hardening_flags " " shown)
message(STATUS "SITEHOST_HARDENING: ${shown} -fPIE -pie -z relro -z now")
