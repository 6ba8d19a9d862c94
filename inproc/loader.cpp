#include "inproc/loader.h"

#include <dlfcn.h>
#include <link.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "inproc/elf_check.h"

namespace sitehost::inproc {

Library& Library::operator=(Library&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = other.handle_;
    other.handle_ = nullptr;
  }
  return *this;
}

bool Library::open(const std::filesystem::path& file, std::string& error) {
  close();
  // A name without a slash would make dlopen search the library path: always pass a path.
  std::string name = file.string();
  if (name.find('/') == std::string::npos) name = "./" + name;
  ::dlerror();
  handle_ = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* e = ::dlerror();
    error = e ? e : "dlopen failed";
    return false;
  }
  return true;
}

void Library::close() {
  if (handle_) ::dlclose(handle_);
  handle_ = nullptr;
}

void* Library::symbol(const char* name) const {
  if (!handle_) return nullptr;
  return ::dlsym(handle_, name);
}

std::string Library::mapped_path() const {
  link_map* map = nullptr;
  if (!handle_ || ::dlinfo(handle_, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name) return {};
  return map->l_name;
}

bool abi_compatible(uint32_t library_abi) {
  return SITEHOST_HANDLER_ABI_VERSION_MAJOR(library_abi) == SITEHOST_HANDLER_ABI_MAJOR &&
         SITEHOST_HANDLER_ABI_VERSION_MINOR(library_abi) <= SITEHOST_HANDLER_ABI_MINOR;
}

namespace {

template <class Fn>
bool resolve(const Library& library, const char* name, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(library.symbol(name));
  if (!out) {
    if (!missing.empty()) missing += ", ";
    missing += name;
  }
  return out != nullptr;
}

}  // namespace

bool load_handler(const std::filesystem::path& file, Library& library, EntryPoints& entry,
                  LoadError& error) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    int err = errno;
    error = {
        err == ENOENT || err == ENOTDIR ? 38 : 33,
        fmt::format("application library not found: {}: {}", file.string(), std::strerror(err))};
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = {38,
             fmt::format("application library not found: {} is not a regular file", file.string())};
    return false;
  }
  if (auto problem = check_elf(file)) {
    error = {problem->substatus, std::move(problem->message)};
    return false;
  }
  std::string dl_error;
  if (!library.open(file, dl_error)) {
    // The file itself checked out, so "cannot open shared object file" or "undefined symbol"
    // means one of its dependencies is missing or incompatible (IIS's 500.31).
    bool dependency = dl_error.find("cannot open shared object file") != std::string::npos ||
                      dl_error.find("undefined symbol") != std::string::npos;
    error = {dependency ? 31 : 33, fmt::format("cannot load {}: {}", file.string(), dl_error)};
    return false;
  }
  std::string missing;
  resolve(library, SITEHOST_HANDLER_SYMBOL_ABI_VERSION, entry.abi_version, missing);
  resolve(library, SITEHOST_HANDLER_SYMBOL_INIT, entry.init, missing);
  resolve(library, SITEHOST_HANDLER_SYMBOL_REQUEST, entry.request, missing);
  resolve(library, SITEHOST_HANDLER_SYMBOL_SHUTDOWN, entry.shutdown, missing);
  if (!missing.empty()) {
    library.close();
    error = {33, fmt::format("{} is not a sitehost handler library: missing entry point(s) {}",
                             file.string(), missing)};
    return false;
  }
  entry.library_abi = entry.abi_version();
  if (!abi_compatible(entry.library_abi)) {
    library.close();
    error = {33, fmt::format("{}: handler ABI version mismatch: the library is built for {}.{}, "
                             "this server implements {}.{} (the major must match and the "
                             "library's minor must not be newer)",
                             file.string(), SITEHOST_HANDLER_ABI_VERSION_MAJOR(entry.library_abi),
                             SITEHOST_HANDLER_ABI_VERSION_MINOR(entry.library_abi),
                             SITEHOST_HANDLER_ABI_MAJOR, SITEHOST_HANDLER_ABI_MINOR)};
    return false;
  }
  // Optional. Libraries built before 1.3 cannot know the threading contract (several loops
  // calling at once): they are serial whatever they export.
  entry.threading = reinterpret_cast<sitehost_handler_threading_fn>(
      library.symbol(SITEHOST_HANDLER_SYMBOL_THREADING));
  entry.concurrent = SITEHOST_HANDLER_ABI_VERSION_MINOR(entry.library_abi) >= 3 &&
                     entry.threading && entry.threading() == SITEHOST_THREADING_CONCURRENT;
  return true;
}

}  // namespace sitehost::inproc
