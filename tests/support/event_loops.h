// Test helpers for a sitehost on several event loops: each loop's counters from /status, and a
// bounded way to show that every loop serves a site.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sitehost::test {

// One entry of /status's server "loops" array.
struct LoopStats {
  long index = -1;
  long connections = 0;
  long requests = 0;
};

// The "loops" array of GET /status, in loop order.
std::vector<LoopStats> loops_of(const std::string& status);

// True once each of `loops` loops has answered a request (each loop's counter in the /status of
// the admin API on `admin_socket`); `status` is left holding the last /status read. The kernel
// spreads connections over the loops' SO_REUSEPORT sockets by address hash, so a handful of
// connections may all reach one loop: while a loop has served nothing, this opens fresh
// connections with one `GET path` each (at most 128), then waits (5 s) for the counters, which
// count a request when its exchange ends, a moment after the client has the response.
bool every_loop_served(uint16_t port, const std::filesystem::path& admin_socket, size_t loops,
                       const std::string& path, std::string& status);

}  // namespace sitehost::test
