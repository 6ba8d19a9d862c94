#include "shared/config/config.h"

namespace sitehost {

// The spellings match the config file's values (see docs/configuration.md).
const char* to_string(HostingModel model) {
  switch (model) {
    case HostingModel::kInProcess:
      return "inprocess";
    case HostingModel::kOutOfProcess:
      return "outofprocess";
  }
  return "?";
}

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

}  // namespace sitehost
