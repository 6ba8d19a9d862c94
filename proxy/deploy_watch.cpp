#include "proxy/deploy_watch.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace sitehost::proxy {

DeployWatch::DeployWatch(uv_loop_t* loop, std::vector<std::filesystem::path> files, Changed changed)
    : loop_(loop), files_(std::move(files)), on_changed_(std::move(changed)) {
  for (const auto& file : files_) {
    std::filesystem::path folder = file.parent_path();
    auto it = std::find_if(folders_.begin(), folders_.end(),
                           [&](const auto& f) { return f->path == folder; });
    if (it == folders_.end()) {
      folders_.push_back(std::make_unique<Folder>());
      folders_.back()->owner = this;
      folders_.back()->path = folder;
      it = folders_.end() - 1;
    }
    (*it)->names.push_back(file.filename().string());
  }
}

std::string DeployWatch::start() {
  accepted_ = seen_ = stamp_all();
  last_poll_ms_ = uv_now(loop_);
  settle_timer_.init(loop_, [this] { on_settle_timer(); });
  return watch_folders();
}

std::string DeployWatch::watch_folders() {
  std::string error;
  for (auto& folder : folders_) {
    int r = folder->event.init(  // closes a previous watch
        [this](uv_fs_event_t* h) { return uv_fs_event_init(loop_, h); }, folder.get());
    if (r == 0) {
      r = uv_fs_event_start(folder->event.get(), &DeployWatch::on_event, folder->path.c_str(), 0);
      if (r != 0) folder->event.close();
    }
    if (r != 0 && error.empty())
      error = fmt::format("cannot watch '{}': {}", folder->path.string(), uv_strerror(r));
  }
  return error;
}

std::vector<FileIdentity> DeployWatch::stamp_all() const {
  std::vector<FileIdentity> out;
  out.reserve(files_.size());
  for (const auto& file : files_) out.push_back(identify_file(file));
  return out;
}

void DeployWatch::on_event(uv_fs_event_t* handle, const char* filename, int, int status) {
  auto* folder = static_cast<Folder*>(handle->data);
  // No name (an overflow) or an error: look anyway.
  if (status == 0 && filename &&
      std::find(folder->names.begin(), folder->names.end(), filename) == folder->names.end())
    return;
  folder->owner->changed();
}

void DeployWatch::changed() {
  seen_ = stamp_all();
  settling_ = true;
  settle_timer_.start(kSettleMs);
}

void DeployWatch::on_settle_timer() {
  std::vector<FileIdentity> now = stamp_all();
  if (now != seen_) {  // still being written
    seen_ = std::move(now);
    settle_timer_.start(kSettleMs);
    return;
  }
  settling_ = false;
  if (now == accepted_) return;  // back as it was (or only touched by an unrelated event)
  for (const FileIdentity& s : now)
    if (!s.exists) return;  // removed: wait for the new file
  accepted_ = std::move(now);
  on_changed_();  // may destroy *this: nothing after it
}

void DeployWatch::poll() {
  uint64_t now = uv_now(loop_);
  if (settling_ || now - last_poll_ms_ < kPollMs) return;
  last_poll_ms_ = now;
  if (stamp_all() == seen_) return;
  // A change no event told us about: the folder watches may be stale (a folder replaced).
  watch_folders();
  changed();
}

void DeployWatch::accept_current() {
  accepted_ = stamp_all();
}

}  // namespace sitehost::proxy
