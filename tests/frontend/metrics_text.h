// Reads one series out of a Prometheus text exposition (`GET /metrics`).
#pragma once

#include <sstream>
#include <string>

namespace sitehost::test {

// The value of `series` (the exact name with labels, e.g. `x_total{result="ok"}`), or -1 when the
// text has no such line.
inline double metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

}  // namespace sitehost::test
