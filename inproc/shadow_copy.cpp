#include "inproc/shadow_copy.h"
#include "shared/util/unique_fd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "inproc/elf_check.h"

namespace sitehost::inproc {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxNamePart = 160;  // of the library's file name kept in the shadow name
constexpr size_t kCopyBuffer = 64 * 1024;

using Fd = UniqueFd;

std::string errno_text(int err) {
  return std::strerror(err);
}

// mkdir -p with mode 0700 for what it creates. Empty on success, else why not.
std::string make_directories(const fs::path& dir) {
  fs::path at;
  for (const auto& part : dir) {
    at /= part;
    if (at == at.root_path()) continue;
    if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST)
      return fmt::format("cannot create {}: {}", at.string(), errno_text(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return fmt::format("cannot access {}: {}", dir.string(), errno_text(errno));
  if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a directory", dir.string());
  return {};
}

// The default run directory may be in /tmp: it must be ours alone.
std::string check_trusted(const fs::path& root) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0)
    return fmt::format("cannot access {}: {}", root.string(), errno_text(errno));
  if (!S_ISDIR(st.st_mode))
    return fmt::format("{} is not a directory (a symbolic link is refused)", root.string());
  if (st.st_uid != ::geteuid())
    return fmt::format("{} is owned by uid {}, not by this user (uid {})", root.string(), st.st_uid,
                       ::geteuid());
  if ((st.st_mode & 022) != 0)
    return fmt::format("{} is writable by other users (mode {:o}); expected 0700", root.string(),
                       st.st_mode & 07777);
  return {};
}

// Copies everything from `in` to `out`; the byte count, or -errno.
int64_t copy_bytes(int in, int out) {
  std::string buffer(kCopyBuffer, '\0');
  int64_t total = 0;
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return total;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return -errno;
      done += w;
    }
    total += n;
  }
}

}  // namespace

fs::path run_directory() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && xdg[0] == '/') return fs::path(xdg) / "sitehost";
  return fs::path(fmt::format("/tmp/sitehost-{}", ::geteuid()));
}

fs::path default_shadow_directory(const std::string& site_name) {
  return run_directory() / "shadow" / site_name;
}

std::string shadow_file_name(const std::string& token, uint64_t generation,
                             const fs::path& handler) {
  std::string name = handler.filename().string();
  if (name.size() > kMaxNamePart) name.erase(0, name.size() - kMaxNamePart);  // keep the suffix
  return fmt::format("p{}-{}-g{}-{}", ::getpid(), token, generation, name);
}

ShadowCopy make_shadow_copy(const fs::path& handler, const fs::path& shadow,
                            const fs::path& trusted_root) {
  ShadowCopy result;
  Fd in(::open(handler.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    int err = errno;
    result.substatus = err == ENOENT || err == ENOTDIR ? 38 : 33;
    result.message =
        fmt::format("application library not found: {}: {}", handler.string(), errno_text(err));
    return result;
  }
  struct stat before {};
  if (::fstat(in.get(), &before) != 0) {
    result.substatus = 33;
    result.message = fmt::format("cannot read {}: {}", handler.string(), errno_text(errno));
    return result;
  }
  result.identity = identify(before);
  if (!S_ISREG(before.st_mode)) {
    result.substatus = 38;
    result.message =
        fmt::format("application library not found: {} is not a regular file", handler.string());
    return result;
  }

  std::string problem;
  if (!trusted_root.empty()) {
    problem = make_directories(trusted_root);
    if (problem.empty()) problem = check_trusted(trusted_root);
  }
  if (problem.empty()) problem = make_directories(shadow.parent_path());
  if (!problem.empty()) {
    result.substatus = 30;
    result.message = fmt::format("cannot use the shadow copy directory: {}", problem);
    return result;
  }

  int out_fd = ::open(shadow.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out_fd < 0 && errno == EEXIST) {  // left by an earlier process with the same pid
    ::unlink(shadow.c_str());
    out_fd = ::open(shadow.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (out_fd < 0) {
    result.substatus = 30;
    result.message =
        fmt::format("cannot create the shadow copy {}: {}", shadow.string(), errno_text(errno));
    return result;
  }
  int64_t copied;
  {
    Fd out(out_fd);
    copied = copy_bytes(in.get(), out.get());
  }
  if (copied < 0) {
    remove_shadow_file(shadow);
    result.substatus = 30;
    result.message = fmt::format("cannot copy {} to {}: {}", handler.string(), shadow.string(),
                                 errno_text(static_cast<int>(-copied)));
    return result;
  }

  // A writer still at work shows as a changed size or mtime, or fewer bytes than announced.
  struct stat after {};
  const bool changed = ::fstat(in.get(), &after) != 0 || identify(after) != result.identity ||
                       copied != static_cast<int64_t>(before.st_size);
  if (changed || elf_completeness(shadow) == ElfCompleteness::kIncomplete) {
    remove_shadow_file(shadow);
    result.outcome = ShadowCopy::Outcome::kIncomplete;
    return result;
  }
  result.outcome = ShadowCopy::Outcome::kCopied;
  return result;
}

void remove_shadow_file(const fs::path& shadow) {
  if (!shadow.empty()) ::unlink(shadow.c_str());
}

void remove_stale_shadow_files(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return;
  const pid_t self = ::getpid();
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return;
    std::string name = it->path().filename().string();
    if (name.size() < 3 || name[0] != 'p') continue;
    pid_t pid = 0;
    auto [end, err] = std::from_chars(name.data() + 1, name.data() + name.size(), pid);
    if (err != std::errc() || end == name.data() + 1 || *end != '-' || pid <= 0 || pid == self)
      continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to tell)
    ::unlink(it->path().c_str());
  }
}

}  // namespace sitehost::inproc
