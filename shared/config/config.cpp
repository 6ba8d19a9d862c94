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

const char* to_string(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls12:
      return "1.2";
    case TlsVersion::kTls13:
      return "1.3";
  }
  return "?";
}

const char* to_string(ClientCertificate mode) {
  switch (mode) {
    case ClientCertificate::kOff:
      return "off";
    case ClientCertificate::kOptional:
      return "optional";
    case ClientCertificate::kRequired:
      return "required";
  }
  return "?";
}

}  // namespace sitehost
