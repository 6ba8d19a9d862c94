// libFuzzer target for the request parser.
//
// The first two input bytes choose up to two cut points; the rest is one connection's bytes. It
// is parsed twice, whole and cut into 1-3 feeds, consuming pipelined messages until an error or
// the end. Both runs must produce the same record (split invariance), and every call must keep
// the invariants: consumed <= given, views inside the input, body within the limit.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "shared/http/request_parser.h"

namespace {

using sitehost::http::BodySink;
using sitehost::http::Limits;
using sitehost::http::ParsedHead;
using sitehost::http::RequestParser;
using State = RequestParser::State;

void check(bool ok) {
  if (!ok) std::abort();
}

struct CountingSink : BodySink {
  const char* begin = nullptr;
  const char* end = nullptr;
  uint64_t bytes = 0;
  void on_parsed_body(std::string_view chunk) override {
    check(chunk.data() >= begin && chunk.data() + chunk.size() <= end);
    bytes += chunk.size();
  }
};

bool inside(std::string_view v, const char* begin, const char* end) {
  return v.empty() || (v.data() >= begin && v.data() + v.size() <= end);
}

void check_head(const ParsedHead& h, const char* begin, const char* end) {
  check(inside(h.method, begin, end) && inside(h.target, begin, end));
  check(inside(h.path, begin, end) || h.path == "/");
  check(inside(h.query, begin, end) && inside(h.host, begin, end));
  for (const auto& hv : h.headers)
    check(inside(hv.name, begin, end) && inside(hv.value, begin, end));
  check(!h.path.empty());
  check(h.http_major == 1 && (h.http_minor == 0 || h.http_minor == 1));
}

// Parses [p, p + n) fed in pieces ending at cut1, cut2, n; returns a record of what happened.
std::vector<uint64_t> run(const char* p, size_t n, size_t cut1, size_t cut2) {
  Limits limits;
  limits.max_request_line = 64;
  limits.max_header_bytes = 256;
  limits.max_headers = 8;
  limits.max_body = 256;
  RequestParser parser;
  parser.start(limits);
  CountingSink sink;
  sink.begin = p;
  sink.end = p + n;
  std::vector<uint64_t> record;
  size_t off = 0;
  bool head_checked = false;
  while (true) {
    const State st = parser.state();
    if (st == State::kError) {
      const int s = parser.error_status();
      check(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
      record.push_back(1000 + static_cast<uint64_t>(s));
      break;
    }
    if ((st == State::kBody || st == State::kComplete) && !head_checked) {
      check_head(parser.head(), p, p + n);
      head_checked = true;
    }
    if (st == State::kComplete) {
      check(parser.body_bytes() == sink.bytes && sink.bytes <= limits.max_body);
      if (parser.head().content_length) check(*parser.head().content_length == sink.bytes);
      record.push_back(off);
      record.push_back(sink.bytes);
      record.push_back(parser.head().headers.size());
      sink.bytes = 0;
      if (parser.head().upgrade) break;  // the rest is another protocol
      parser.start(limits);
      head_checked = false;
      continue;
    }
    if (off == n) {
      record.push_back(st == State::kHead ? 2 : 3);
      break;
    }
    size_t end = n;
    if (cut1 > off) {
      end = cut1;
    } else if (cut2 > off) {
      end = cut2;
    }
    const size_t used = parser.feed(p + off, end - off, &sink);
    check(used <= end - off);
    if (parser.state() == st) check(used == end - off);
    off += used;
  }
  return record;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const char* p = reinterpret_cast<const char*>(data + 2);
  const size_t n = size - 2;
  const size_t cut1 = data[0] % (n + 1);
  const size_t cut2 = cut1 + data[1] % (n - cut1 + 1);
  check(run(p, n, 0, 0) == run(p, n, cut1, cut2));
  return 0;
}
