// RFC 6455 framing for tests: masked client frames out, server frames in, over the harness's
// Client (plain or TLS). Used by the in-process WebSocket suite and the matrix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tests/support/harness.h"

namespace sitehost::test {

enum WsOpcode : uint8_t {
  kWsContinuation = 0x0,
  kWsText = 0x1,
  kWsBinary = 0x2,
  kWsClose = 0x8,
  kWsPing = 0x9,
  kWsPong = 0xA
};

struct WsFrame {
  bool fin = false;
  int opcode = -1;
  bool masked = false;
  std::string payload;
};

// A client frame: masked (as every client frame must be), with the 7-, 16- or 64-bit length the
// payload needs.
std::string ws_client_frame(int opcode, const std::string& payload, bool fin = true);

// Reads one frame from `c` (within c's deadline); nullopt when the connection ends first.
std::optional<WsFrame> ws_read_frame(Client& c);

}  // namespace sitehost::test
