// Split invariance: however the bytes of a connection are cut into feed() calls, the parser must
// produce the same messages, bodies and errors, and every view must point into the fed bytes.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "shared/http/request_parser.h"

namespace sitehost::http {
namespace {

using State = RequestParser::State;

struct Sink : BodySink {
  std::string body;
  void on_parsed_body(std::string_view chunk) override { body.append(chunk); }
};

bool inside(std::string_view v, const std::string& buf) {
  if (v.empty()) return true;
  return v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size();
}

std::string describe(const ParsedHead& h, const std::string& buf) {
  std::string s = std::string(h.method) + " " + std::string(h.target) +
                  " path=" + std::string(h.path) + " query=" + std::string(h.query) +
                  " host=" + std::string(h.host) + " v=" + std::to_string(h.http_major) + "." +
                  std::to_string(h.http_minor);
  s += h.content_length ? " cl=" + std::to_string(*h.content_length) : " cl=none";
  s += h.chunked ? " chunked" : "";
  s += h.keep_alive ? " ka" : "";
  s += h.upgrade ? " upgrade" : "";
  s += h.expect_continue ? " 100" : "";
  s += h.is_head ? " head" : "";
  EXPECT_TRUE(inside(h.method, buf) && inside(h.target, buf) && inside(h.query, buf) &&
              inside(h.host, buf));
  EXPECT_TRUE(inside(h.path, buf) || h.path == "/");
  for (const HeaderView& hv : h.headers) {
    EXPECT_TRUE(inside(hv.name, buf) && inside(hv.value, buf));
    s += " [" + std::string(hv.name) + ":" + std::string(hv.value) + "]";
  }
  return s;
}

// Parses a whole connection's bytes, cutting feeds at `cuts` (sorted offsets) or every `step`
// bytes, and returns a transcript of everything observable.
std::string transcript(const std::string& buf, const std::vector<size_t>& cuts, size_t step,
                       const Limits& limits) {
  RequestParser p;
  p.start(limits);
  Sink sink;
  std::string out;
  size_t off = 0;
  size_t cut = 0;
  bool head_done = false;
  while (true) {
    const State st = p.state();
    if (st == State::kComplete) {
      if (!head_done) out += describe(p.head(), buf);
      out += " body=" + sink.body + " consumed=" + std::to_string(off) + "\n";
      sink.body.clear();
      head_done = false;
      if (p.head().upgrade) break;  // the rest is another protocol
      p.start(limits);
      continue;
    }
    if (st == State::kError) {
      out += "error " + std::to_string(p.error_status()) + " " + std::string(p.error_reason()) +
             " body=" + sink.body + "\n";
      break;
    }
    if (st == State::kBody && !head_done) {
      out += describe(p.head(), buf);
      head_done = true;
    }
    if (off == buf.size()) {
      out += st == State::kHead ? "need more (head)\n" : "need more (body)\n";
      break;
    }
    while (cut < cuts.size() && cuts[cut] <= off) ++cut;
    size_t end = off + std::min(step, buf.size() - off);
    if (cut < cuts.size()) end = std::min(end, cuts[cut]);
    const size_t used = p.feed(buf.data() + off, end - off, &sink);
    EXPECT_LE(used, end - off);
    // Without a state change the parser takes everything it was given.
    if (p.state() == st) {
      EXPECT_EQ(used, end - off);
    }
    off += used;
  }
  if (p.state() == State::kComplete && p.head().upgrade) {
    out += "upgrade rest=" + std::to_string(buf.size() - off) + "\n";
  }
  return out;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> c = {
      "GET /a?b HTTP/1.1\r\nHost: h\r\nX-Y:  v  \r\n\r\n",
      "\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n"
      "abcdefg"
      "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
      "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n"
      "DELETE /d HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\nGET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
      // errors, at different depths
      "GET / HTTP/1.1\r\nHost: h\r\n\rXGET / HTTP/1.1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\rX\nabc\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty\r\n\r\n",
      "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
      "FOO / HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nExpect: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
      "GET /" + std::string(40, 'x') + " HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "20\r\n0123456789abcdef0123456789abcdef\r\n30\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nshort",
  };
  return c;
}

Limits small_limits() {
  Limits l;
  l.max_request_line = 40;
  l.max_header_bytes = 80;
  l.max_headers = 5;
  l.max_body = 40;
  return l;
}

TEST(RequestParserSplit, ByteAtATimeMatchesWhole) {
  for (const std::string& input : corpus()) {
    const std::string whole = transcript(input, {}, SIZE_MAX, small_limits());
    for (size_t step : {1, 2, 3, 5, 7, 13}) {
      EXPECT_EQ(transcript(input, {}, step, small_limits()), whole) << input << " step " << step;
    }
  }
}

TEST(RequestParserSplit, EveryTwoAndThreeWaySplitMatchesWhole) {
  for (const std::string& input : corpus()) {
    const std::string whole = transcript(input, {}, SIZE_MAX, small_limits());
    for (size_t i = 1; i < input.size(); ++i) {
      ASSERT_EQ(transcript(input, {i}, SIZE_MAX, small_limits()), whole) << input << " at " << i;
    }
    for (size_t i = 1; i < input.size(); i += 3) {
      for (size_t j = i + 1; j < input.size(); j += 5) {
        ASSERT_EQ(transcript(input, {i, j}, SIZE_MAX, small_limits()), whole)
            << input << " at " << i << "," << j;
      }
    }
  }
}

TEST(RequestParserSplit, ExpectedTranscripts) {
  // A few anchors so that "identical" cannot mean "identically wrong".
  const Limits l = small_limits();
  const std::string pipelined = "body=abcdefg consumed=" + std::to_string(corpus()[2].find("GET"));
  EXPECT_NE(transcript(corpus()[2], {}, 1, l).find(pipelined), std::string::npos);
  EXPECT_NE(transcript(corpus()[3], {}, 1, l).find("body=abc0123456789abcdef "), std::string::npos);
  EXPECT_NE(transcript(corpus()[3], {}, 1, l).find("DELETE /d"), std::string::npos);
  EXPECT_NE(transcript(corpus()[4], {}, 1, l).find("upgrade rest=5"), std::string::npos);
  EXPECT_EQ(transcript(corpus()[6], {}, 1, l).rfind("error 400", 0), 0u);
  EXPECT_NE(transcript(corpus()[17], {}, 1, l).find("error 413"), std::string::npos);
  EXPECT_NE(transcript(corpus()[18], {}, 1, l).find("need more (body)"), std::string::npos);
}

}  // namespace
}  // namespace sitehost::http
