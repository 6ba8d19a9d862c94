// Shadow copies of handler libraries. A generation never dlopens the deployed file: overwriting a
// mapped library in place (`cp new.so app.so`) changes the pages under the running code and
// crashes the process. Each generation copies the deployed file into the site's
// shadow_copy_directory under a name of its own, dlopens the copy and removes it once it is
// unloaded. The copy also has an inode of its own, so the dynamic linker never hands back an
// older generation that is still loaded.
//
// Everything here blocks (file I/O): it runs on startup and shutdown threads, never on the loop,
// except run_directory() / default_shadow_directory(), which only read the environment.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "inproc/loader.h"

namespace sitehost::inproc {

// sitehost's per-user run directory: $XDG_RUNTIME_DIR/sitehost when XDG_RUNTIME_DIR is an
// absolute path, else /tmp/sitehost-<uid>.
std::filesystem::path run_directory();

// The default shadow_copy_directory of a site: run_directory()/shadow/<site name>.
std::filesystem::path default_shadow_directory(const std::string& site_name);

// The shadow file of one generation: "p<pid>-<token>-g<generation>-<library file name>". `token`
// tells apart two site objects of one process (a reload replaces a site by a new object whose
// generations count from 1 again); the pid lets remove_stale_shadow_files find leftovers.
std::string shadow_file_name(const std::string& token, uint64_t generation,
                             const std::filesystem::path& handler);

struct ShadowCopy {
  enum class Outcome {
    kCopied,      // `shadow` holds a complete copy of the deployed file
    kIncomplete,  // the deployed file is still being written (or changed during the copy)
    kFailed,      // see substatus / message
  };
  Outcome outcome = Outcome::kFailed;
  FileIdentity identity;  // the deployed file's, as copied (or as found)
  int substatus = 0;      // kFailed: 38 not found, 33 unreadable, 30 shadow directory unusable
  std::string message;
};

// Copies `handler` to `shadow` (created exclusively, mode 0600), creating the shadow directory
// (mode 0700) first. When `trusted_root` is not empty (the default run directory, which may live
// in /tmp), it must be a real directory owned by this user and not writable by others: a copy
// another user could swap before dlopen would run their code in this process.
ShadowCopy make_shadow_copy(const std::filesystem::path& handler,
                            const std::filesystem::path& shadow,
                            const std::filesystem::path& trusted_root);

// Removes a shadow file (missing is fine).
void remove_shadow_file(const std::filesystem::path& shadow);

// Removes the shadow files in `dir` left by sitehost processes that no longer run (a crash or
// SIGKILL skipped their cleanup).
void remove_stale_shadow_files(const std::filesystem::path& dir);

}  // namespace sitehost::inproc
