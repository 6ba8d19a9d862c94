#include "inproc/handler_watch.h"

#include <utility>

namespace sitehost::inproc {

HandlerWatch::HandlerWatch(uv_loop_t* loop, std::filesystem::path file, Settled settled)
    : loop_(loop),
      file_(std::move(file)),
      name_(file_.filename().string()),
      settled_(std::move(settled)) {}

int HandlerWatch::start() {
  seen_ = identify_file(file_);
  last_poll_ms_ = uv_now(loop_);
  int rc = timer_.init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, this);
  if (rc != 0) return rc;
  return watch_folder();
}

int HandlerWatch::watch_folder() {
  int rc = event_.init([this](uv_fs_event_t* h) { return uv_fs_event_init(loop_, h); }, this);
  if (rc != 0) return rc;
  rc = uv_fs_event_start(event_.get(), &HandlerWatch::on_event, file_.parent_path().c_str(), 0);
  if (rc != 0) event_.close();
  return rc;
}

void HandlerWatch::on_event(uv_fs_event_t* handle, const char* filename, int, int status) {
  auto* self = static_cast<HandlerWatch*>(handle->data);
  if (!self) return;
  // No name (an overflow) or an error: look anyway.
  if (status == 0 && filename && self->name_ != filename) return;
  self->changed();
}

void HandlerWatch::changed() {
  if (!timer_) return;
  seen_ = identify_file(file_);
  settling_ = true;
  uv_timer_start(timer_.get(), &HandlerWatch::on_timer, kSettleMs, 0);
}

void HandlerWatch::on_timer(uv_timer_t* timer) {
  auto* self = static_cast<HandlerWatch*>(timer->data);
  if (!self) return;
  FileIdentity now = identify_file(self->file_);
  if (now != self->seen_) {  // still being written
    self->seen_ = now;
    uv_timer_start(timer, &HandlerWatch::on_timer, kSettleMs, 0);
    return;
  }
  self->settling_ = false;
  self->settled_(now);  // may destroy *this: nothing after it
}

void HandlerWatch::poll() {
  uint64_t now = uv_now(loop_);
  if (settling_ || now - last_poll_ms_ < kPollMs) return;
  last_poll_ms_ = now;
  if (identify_file(file_) == seen_) return;
  // A change no event told us about: the folder watch may be stale (the folder was replaced).
  watch_folder();
  changed();
}

}  // namespace sitehost::inproc
