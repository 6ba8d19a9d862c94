// Loads a handler library: file check, ELF check, dlopen(RTLD_NOW | RTLD_LOCAL), entry points,
// ABI version. Everything here blocks (file I/O, the dynamic linker, library constructors): it
// runs on a generation's startup thread, never on the loop.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <sitehost/handler.h>
#include "shared/util/file_identity.h"

namespace sitehost::inproc {

// One dlopen() reference, dlclose()d when destroyed (off the loop: it runs library destructors).
class Library {
 public:
  Library() = default;
  ~Library() { close(); }
  Library(Library&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  Library& operator=(Library&& other) noexcept;
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // dlopen with RTLD_NOW | RTLD_LOCAL; false and `error` (dlerror's text) on failure.
  bool open(const std::filesystem::path& file, std::string& error);
  void close();
  bool loaded() const { return handle_ != nullptr; }
  void* symbol(const char* name) const;
  // The file the dynamic linker mapped for this reference (its link map's name). It differs from
  // the path passed to open() when the linker handed back an object it already had loaded under
  // another name (same device and inode).
  std::string mapped_path() const;

 private:
  void* handle_ = nullptr;
};

struct EntryPoints {
  sitehost_handler_abi_version_fn abi_version = nullptr;
  sitehost_handler_init_fn init = nullptr;
  sitehost_handler_request_fn request = nullptr;
  sitehost_handler_shutdown_fn shutdown = nullptr;
  uint32_t library_abi = 0;  // what abi_version() returned
  // The optional sitehost_handler_threading() (ABI 1.3), asked once at load. True only when a
  // library built for 1.3 or later declares SITEHOST_THREADING_CONCURRENT; every other library
  // gets its calls serialized by the server (Generation::gate()).
  sitehost_handler_threading_fn threading = nullptr;
  bool concurrent = false;
};

// Why a load failed: the sub-status of a 500 (38 not found, 32 wrong build, 33 not a handler
// library, 31 a dependency missing) and a message naming the file, symbol or versions.
struct LoadError {
  int substatus = 0;
  std::string message;
};

// Identity of the library file, to tell whether it changed since a failed load.

// Whether a library built for `library_abi` can run on this server.
bool abi_compatible(uint32_t library_abi);

// The whole load. On success `library` holds the reference and `entry` the resolved functions.
bool load_handler(const std::filesystem::path& file, Library& library, EntryPoints& entry,
                  LoadError& error);

}  // namespace sitehost::inproc
