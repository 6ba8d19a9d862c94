// What a deploy watch compares: a file's identity (device, inode) and content stamp (size,
// modification time). A file replaced by rename gets a new inode; one rewritten in place a new
// size or mtime. Used by the in-process hot swap and the out-of-process deploy watch.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>

namespace sitehost {

struct FileIdentity {
  bool exists = false;
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

// The identity in a stat result.
FileIdentity identify(const struct stat& st);
// stat() of `file` (symlinks followed); `exists` false when it cannot be stat'ed.
FileIdentity identify_file(const std::filesystem::path& file);

}  // namespace sitehost
