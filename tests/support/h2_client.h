// HTTP/2 for the integration tests: a blocking client on nghttp2's client session, over plain TCP
// (h2c with prior knowledge) or TLS with ALPN h2 (TlsClient). Several streams at once on one
// connection, streamed request bodies, RST_STREAM both ways, GOAWAY, the peer's SETTINGS, and a
// reader that can hold its flow-control windows shut (a slow reader). Single-threaded: the test
// thread owns it and every call does its I/O on that thread. Every wait is bounded by a deadline
// (poll()); nothing sleeps.
#pragma once

#include <nghttp2/nghttp2.h>
#include <poll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/harness.h"

namespace sitehost::test {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct H2Response {
  int status = 0;                       // the final status; 0 while no final HEADERS arrived
  std::vector<int> informational = {};  // 1xx statuses before it, in order (100 for 100-continue)
  HeaderList headers = {};              // the final response's, without pseudo-headers
  HeaderList trailers = {};             // a trailing HEADERS block's, if any
  std::string body = {};
  bool complete = false;  // the stream closed (normally or reset); false after a timed-out wait
  bool reset = false;     // a RST_STREAM ended it (sent by us: rst(), or received)
  bool reset_by_peer = false;
  uint32_t rst_error = 0;  // the RST_STREAM's error code (NGHTTP2_CANCEL, ...); 0 if none

  std::optional<std::string> header(const std::string& name) const;  // case-insensitive
  // The same response as the HTTP/1 harness's Response (http_version "HTTP/2", no reason), so
  // checks written for Client::read_response() apply.
  Response as_response() const;
};

struct H2Request {
  std::string method = "GET";
  std::string path = "/";
  std::string authority = "localhost";  // :authority (HTTP/2's Host)
  std::string scheme = {};              // empty: "https" over TLS, "http" over h2c
  HeaderList headers = {};              // sent as given: HTTP/2 wants lowercase names
  std::string body = {};
  // Adds content-length: body.size() when `body` is not empty, no body is streamed and
  // `headers` has none.
  bool add_content_length = true;
  // Keeps the request open after `body`: more comes with send_body_chunk(), the last call with
  // end = true.
  bool stream_body = false;
  // Without a body: false sends HEADERS without END_STREAM, then an empty DATA frame ending it.
  bool end_stream_with_headers = true;
};

struct H2Options {
  bool tls = false;  // TLS with ALPN h2; otherwise h2c with prior knowledge
  std::string sni = "localhost";
  Ms timeout = 5s;  // connect + handshake + the server's first SETTINGS
  // Our SETTINGS_INITIAL_WINDOW_SIZE (each stream's receive window) and the connection's receive
  // window, in bytes.
  uint32_t initial_window_size = 65535;
  int32_t connection_window_size = 65535;
  // false: received DATA is not acknowledged by WINDOW_UPDATE until consume() (a slow reader:
  // the peer stops sending once the window is used up).
  bool auto_window_update = true;
  uint32_t max_concurrent_streams = 100;  // the streams we accept from the server (push is off)
};

class H2Client {
 public:
  // Connects, sends the preface and our SETTINGS, and waits for the server's SETTINGS (all within
  // options.timeout). nullptr when any step failed, or the server did not select h2 by ALPN;
  // `error` (if given) then says why.
  static std::unique_ptr<H2Client> connect(uint16_t port, const H2Options& options = {},
                                           std::string* error = nullptr);
  static std::unique_ptr<H2Client> connect(uint16_t port, bool tls, const std::string& sni = {},
                                           Ms timeout = 5s);
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // Submits a request and sends what the socket takes now; returns its stream id, or < 0 (an
  // nghttp2 error code) when it could not be submitted (e.g. after GOAWAY).
  int32_t submit(const H2Request& request);
  // Runs the connection until `stream` closed or `timeout` passed; the response so far (complete
  // is false when it did not close in time or the connection ended first).
  H2Response wait(int32_t stream, Ms timeout = 5s);
  // What has arrived on `stream` so far, without any I/O.
  H2Response snapshot(int32_t stream) const;
  // Submits every request at once (concurrent streams on this connection) and waits for all of
  // them within `timeout`; the responses in the requests' order.
  std::vector<H2Response> exchange_all(const std::vector<H2Request>& requests, Ms timeout = 10s);
  // One request, waited for.
  H2Response exchange(const H2Request& request, Ms timeout = 5s);

  // Sends RST_STREAM on `stream` (and flushes).
  bool rst(int32_t stream, uint32_t error_code = NGHTTP2_CANCEL);
  // Adds `data` to a stream submitted with stream_body = true; `end` ends the request body.
  // Sends what flow control allows now; the rest goes while later calls run the connection.
  bool send_body_chunk(int32_t stream, const std::string& data, bool end);
  // Slow readers (auto_window_update = false): acknowledges `bytes` of `stream`'s received DATA
  // (WINDOW_UPDATE for the stream and the connection), and flushes.
  bool consume(int32_t stream, size_t bytes);
  // Sends a PING and waits for its ACK: the connection is alive and the peer reads.
  bool ping(Ms timeout = 5s);
  // Sends SETTINGS with these entries (e.g. a new initial window), and flushes.
  bool submit_settings(const std::vector<nghttp2_settings_entry>& entries);
  // Writes bytes straight onto the connection, behind nghttp2's back (hostile-input tests).
  bool send_raw(const std::string& bytes);

  // Runs the connection (reads, writes) until `condition` holds, the connection ended, or
  // `timeout` passed; returns condition().
  bool run_until(const std::function<bool()>& condition, Ms timeout);
  // Runs the connection until the peer sends GOAWAY / until it ended; true when it did.
  bool wait_goaway(Ms timeout = 5s);
  bool wait_closed(Ms timeout = 5s);

  bool goaway_received() const { return goaway_.has_value(); }
  uint32_t goaway_error() const { return goaway_ ? goaway_->error : 0; }
  int32_t goaway_last_stream() const { return goaway_ ? goaway_->last_stream : -1; }
  // The connection ended: the peer closed it, an I/O or protocol error, or nghttp2 has nothing
  // left to read or write (after GOAWAY and the last stream).
  bool closed() const;
  std::string alpn() const { return alpn_; }  // "h2" over TLS, "" over h2c
  // A SETTINGS value the server sent (its default when it sent none), e.g.
  // NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.
  uint32_t peer_setting(nghttp2_settings_id id) const;
  // The first nghttp2 or I/O error that ended the connection ("" if none).
  const std::string& error() const { return error_; }

  class Socket;  // the plain or TLS connection (h2_client.cpp)
  struct Stream;
  class Key {  // only connect() constructs
    friend class H2Client;
    Key() = default;
  };
  H2Client(Key, std::unique_ptr<Socket> socket, const H2Options& options);

 private:
  bool start(std::string* error);
  // One round of I/O: sends what nghttp2 has, reads what arrived, and waits (poll) until
  // `deadline` only when neither moved. false once the connection ended.
  bool step(std::chrono::steady_clock::time_point deadline);
  bool flush();         // moves nghttp2's output to the socket until it would block
  size_t read_ready();  // reads until the socket would block, feeds nghttp2; the bytes read
  void fail(const std::string& what);
  friend struct H2Callbacks;

  struct Goaway {
    uint32_t error = 0;
    int32_t last_stream = -1;
  };
  std::unique_ptr<Socket> socket_;
  H2Options options_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  std::string out_;           // bytes nghttp2 produced that the socket has not taken yet
  short read_wait_ = POLLIN;  // what the socket last wanted to read / write (TLS may cross)
  short write_wait_ = POLLOUT;
  bool eof_ = false;
  std::string error_;
  std::string alpn_;
  std::optional<Goaway> goaway_;
  bool settings_received_ = false;
  int pings_acked_ = 0;
};

}  // namespace sitehost::test
