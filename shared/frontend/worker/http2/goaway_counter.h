// Queues the GOAWAY frames an HTTP/2 session decides on and counts each once, by reason, into its
// loop's metrics (sitehost_http2_goaway_sent_total). One the session queues is counted when
// nghttp2 takes it: a flooding client that does not read may never get the frame, and the defence
// that fired must show anyway. One nghttp2 queues on its own (a connection error it found while
// parsing) is seen only when it goes out, and counted then; the session's own frames going out
// are skipped by `pending_`. Owned by the session, on its loop thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>

#include "shared/frontend/control/metrics.h"

namespace sitehost {

class GoawayCounter {
 public:
  explicit GoawayCounter(LoopMetrics& metrics) : metrics_(metrics) {}

  // Ends the session with GOAWAY `error_code` once it is sent.
  void terminate(nghttp2_session* session, uint32_t error_code) {
    const size_t before = nghttp2_session_get_outbound_queue_size(session);
    nghttp2_session_terminate_session(session, error_code);
    queued(session, before, error_code);
  }
  // GOAWAY NO_ERROR with the last stream processed: the open streams finish.
  void graceful(nghttp2_session* session) {
    const size_t before = nghttp2_session_get_outbound_queue_size(session);
    nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    queued(session, before, NGHTTP2_NO_ERROR);
  }
  // A GOAWAY frame went out (nghttp2's on_frame_send).
  void sent(uint32_t error_code) {
    if (pending_ > 0)
      --pending_;
    else
      count(error_code);
  }

 private:
  // nghttp2 queues nothing once a terminating GOAWAY is queued or sent: only a new frame counts.
  void queued(nghttp2_session* session, size_t before, uint32_t error_code) {
    if (nghttp2_session_get_outbound_queue_size(session) <= before) return;
    count(error_code);
    ++pending_;
  }
  void count(uint32_t error_code) {
    const GoawayReason reason = error_code == NGHTTP2_NO_ERROR            ? kGoawayGraceful
                                : error_code == NGHTTP2_ENHANCE_YOUR_CALM ? kGoawayEnhanceYourCalm
                                : error_code == NGHTTP2_PROTOCOL_ERROR    ? kGoawayProtocolError
                                                                          : kGoawayOther;
    metrics_.http2_goaways[reason].add();
  }

  LoopMetrics& metrics_;
  uint32_t pending_ = 0;  // queued (and counted) by the session, not yet sent
};

}  // namespace sitehost
