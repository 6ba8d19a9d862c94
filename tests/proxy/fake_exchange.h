// Test support for proxy/: an Exchange implemented in memory on a real libuv loop, so the
// out-of-process Site can be driven without the front end (real child processes, real sockets).
//
// Writes complete asynchronously (next loop turn), or slowly when `write_delay_ms` is set (a slow
// client); the request body is delivered in chunks (from a string, or `generated_body` bytes of a
// pattern) and honours pause/resume; after a 101 head, read_body delivers `tunnel_input()` bytes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <uv.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/site/exchange.h"

namespace sitehost::proxy::test {

inline bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Runs `loop` until `done()` or `timeout`; true when done. A repeating timer keeps it turning.
inline bool run_until(uv_loop_t* loop, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout) {
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ok = done();
  while (!ok && std::chrono::steady_clock::now() < deadline) {
    uv_run(loop, UV_RUN_ONCE);
    ok = done();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return ok;
}

class FakeExchange final : public Exchange {
 public:
  struct Options {
    std::string method = "GET";
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers = {{"Host", "localhost"}};
    std::string body;
    uint64_t generated_body = 0;  // bytes of a pattern instead of `body`
    bool chunked = false;         // body announced chunked instead of Content-Length
    bool upgrade = false;
    bool tls = false;
    std::string client_certificate;  // DER bytes of a verified TLS client certificate
    size_t body_chunk = 64 * 1024;
    uint64_t write_delay_ms = 0;  // each write completes this late (slow client)
    bool keep_response_body = true;
  };

  FakeExchange(uv_loop_t* loop, const SiteConfig& site, Options options)
      : loop_(loop), site_(site), o_(std::move(options)) {
    for (auto& [k, v] : o_.headers) views_.push_back(HeaderView{k, v});
    if (!o_.chunked && (o_.generated_body || !o_.body.empty() || o_.method == "POST")) {
      cl_text_ = std::to_string(o_.generated_body ? o_.generated_body : o_.body.size());
      views_.push_back(HeaderView{"Content-Length", cl_text_});
    }
    if (o_.chunked) views_.push_back(HeaderView{"Transfer-Encoding", "chunked"});
    info_.method = o_.method;
    info_.target = o_.target;
    std::string_view t = info_.target;
    info_.path = t.substr(0, t.find('?'));
    info_.query = t.find('?') == std::string_view::npos ? "" : t.substr(t.find('?') + 1);
    info_.headers = views_;
    for (auto& v : views_)
      if (ieq(v.name, "host")) info_.host = v.value;
    uint64_t body_size = o_.generated_body ? o_.generated_body : o_.body.size();
    if (o_.chunked)
      info_.chunked = true;
    else if (body_size || o_.method == "POST")
      info_.content_length = body_size;
    info_.has_body = body_size > 0 || o_.chunked;
    info_.is_head = o_.method == "HEAD";
    info_.upgrade = o_.upgrade;
    info_.tls = o_.tls;
    info_.client_certificate = o_.client_certificate;
    auto* r = reinterpret_cast<sockaddr_in*>(&remote_);
    r->sin_family = AF_INET;
    r->sin_port = htons(55555);
    inet_pton(AF_INET, "127.0.0.1", &r->sin_addr);
    auto* l = reinterpret_cast<sockaddr_in*>(&local_);
    l->sin_family = AF_INET;
    l->sin_port = htons(8080);
    inet_pton(AF_INET, "127.0.0.1", &l->sin_addr);
    info_.remote = &remote_;
    info_.local = &local_;
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
  }
  ~FakeExchange() {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    uv_run(loop_, UV_RUN_NOWAIT);
  }

  // --- Exchange ---
  const RequestInfo& request() const override { return info_; }
  const SiteConfig& site() const override { return site_; }
  unsigned loop_index() const override { return 0; }
  void read_body(BodyReader& reader) override {
    reader_ = &reader;
    ++read_body_calls;
    if (tunnel_open_) {
      tunnel_reading_ = true;
    } else if (!info_.has_body) {
      body_done_ = true;
      reader.on_body_end();
      return;
    }
    schedule(0);
  }
  void pause_body() override {
    paused_ = true;
    ++pauses;
  }
  void resume_body() override {
    paused_ = false;
    schedule(0);
  }
  void set_status(int s, std::string_view reason) override {
    status = s;
    this->reason = reason;
  }
  bool add_header(std::string_view name, std::string_view value) override {
    if (ieq(name, "transfer-encoding") || ieq(name, "connection")) return true;
    headers.emplace_back(name, value);
    return true;
  }
  bool head_sent() const override { return head_sent_; }
  void write(std::string_view data, WriteDone done) override {
    ++writes;
    if (!head_sent_) {
      head_sent_ = true;
      if (status == 101) tunnel_open_ = true;
    }
    if (ended_ && !tunnel_open_) {
      ++writes_after_end;
    }
    if (o_.keep_response_body) body.append(data);
    body_bytes += data.size();
    queue_bytes_ += data.size();
    max_queue_bytes = std::max(max_queue_bytes, queue_bytes_);
    pending_.push_back({data.size(), done, now_ms() + o_.write_delay_ms});
    schedule(o_.write_delay_ms);
  }
  size_t write_queue_bytes() const override { return queue_bytes_; }
  void finish() override {
    ++ends;
    finished = true;
    ended_ = true;
    end_pending_writes_ = pending_.size();
  }
  void respond_error(const HttpError& e) override {
    ++ends;
    errored = true;
    ended_ = true;
    error_status = e.status;
    error_substatus = e.substatus;
    error_detail = std::string(e.detail);
    error_after_head = head_sent_;
    // The connection is cut / answered: queued writes fail.
    for (auto& p : pending_) p.fail = true;
    schedule(0);
  }
  void respond_error_and_hold(const HttpError& e) override {
    respond_error(e);
    --ends;  // the site's finish() ends it
    ended_ = false;
    aborted_ = true;
  }
  void set_abort_handler(AbortHandler h) override { abort_ = h; }
  bool aborted() const override { return aborted_; }

  // --- test controls ---
  void abort() {
    aborted_ = true;
    for (auto& p : pending_) p.fail = true;
    if (abort_.fn && !ended_) abort_.fn(abort_.ctx);
    schedule(0);
  }
  void tunnel_send(std::string bytes) {
    tunnel_in_.push_back(std::move(bytes));
    schedule(0);
  }
  void tunnel_close() {
    tunnel_eof_ = true;
    schedule(0);
  }
  bool ended() const { return ended_; }
  bool done() const { return ended_ && pending_.empty(); }
  std::optional<std::string> header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (ieq(k, name)) return v;
    return std::nullopt;
  }

  // Results.
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint64_t body_bytes = 0;
  bool finished = false;
  bool errored = false;
  int error_status = 0;
  int error_substatus = 0;
  std::string error_detail;
  bool error_after_head = false;
  int ends = 0;
  int pauses = 0;
  int writes = 0;
  int writes_after_end = 0;
  int read_body_calls = 0;
  size_t max_queue_bytes = 0;
  size_t end_pending_writes_ = 0;

 private:
  struct Pending {
    size_t size;
    WriteDone done;
    uint64_t due;
    bool fail = false;
  };

  uint64_t now_ms() const { return uv_now(loop_); }

  void schedule(uint64_t delay) {
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)) && delay > 0) return;
    uv_timer_start(&timer_, &FakeExchange::on_tick, delay, 0);
  }

  static void on_tick(uv_timer_t* t) { static_cast<FakeExchange*>(t->data)->tick(); }

  void tick() {
    // Complete due writes (in order).
    uint64_t now = now_ms();
    while (!pending_.empty() && (pending_.front().fail || pending_.front().due <= now)) {
      Pending p = pending_.front();
      pending_.pop_front();
      queue_bytes_ -= p.size;
      if (p.done.fn) p.done.fn(p.done.ctx, p.fail ? UV_ECONNRESET : 0);
    }
    // Deliver one chunk of request body (or tunnel input).
    if (reader_ && !paused_ && !ended_ && !aborted_) {
      if (tunnel_reading_) {
        if (!tunnel_in_.empty()) {
          std::string data = std::move(tunnel_in_.front());
          tunnel_in_.pop_front();
          reader_->on_body_data(data);
        } else if (tunnel_eof_ && !tunnel_eof_sent_) {
          tunnel_eof_sent_ = true;
          reader_->on_body_end();
        }
      } else if (!body_done_ && info_.has_body) {
        deliver_body_chunk();
      }
    }
    bool more_body =
        reader_ && !paused_ && !ended_ && !aborted_ &&
        ((!tunnel_reading_ && !body_done_ && info_.has_body) ||
         (tunnel_reading_ && (!tunnel_in_.empty() || (tunnel_eof_ && !tunnel_eof_sent_))));
    if (more_body)
      schedule(0);
    else if (!pending_.empty())
      schedule(pending_.front().fail
                   ? 0
                   : (pending_.front().due > now ? pending_.front().due - now : 0));
  }

  void deliver_body_chunk() {
    uint64_t total = o_.generated_body ? o_.generated_body : o_.body.size();
    size_t n = static_cast<size_t>(std::min<uint64_t>(o_.body_chunk, total - body_sent_));
    if (n > 0) {
      if (o_.generated_body) {
        chunk_.resize(n);
        for (size_t i = 0; i < n; ++i) chunk_[i] = static_cast<char>((body_sent_ + i) & 0xff);
        body_sent_ += n;
        reader_->on_body_data(chunk_);
      } else {
        std::string_view piece = std::string_view(o_.body).substr(body_sent_, n);
        body_sent_ += n;
        reader_->on_body_data(piece);
      }
    }
    if (body_sent_ == total && !body_done_ && reader_ && !ended_) {
      body_done_ = true;
      reader_->on_body_end();
    }
  }

  uv_loop_t* loop_;
  const SiteConfig& site_;
  Options o_;
  std::vector<HeaderView> views_;
  std::string cl_text_;
  RequestInfo info_;
  sockaddr_storage remote_{};
  sockaddr_storage local_{};
  uv_timer_t timer_;
  BodyReader* reader_ = nullptr;
  AbortHandler abort_;
  std::deque<Pending> pending_;
  std::deque<std::string> tunnel_in_;
  std::string chunk_;
  uint64_t body_sent_ = 0;
  size_t queue_bytes_ = 0;
  bool paused_ = false;
  bool body_done_ = false;
  bool head_sent_ = false;
  bool ended_ = false;
  bool aborted_ = false;
  bool tunnel_open_ = false;
  bool tunnel_reading_ = false;
  bool tunnel_eof_ = false;
  bool tunnel_eof_sent_ = false;
};

}  // namespace sitehost::proxy::test
