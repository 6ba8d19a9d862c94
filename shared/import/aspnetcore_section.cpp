// <aspNetCore>'s attributes, one setter each (ANCM's names → sitehost keys), and its children.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "shared/config/text.h"
#include "shared/config/values.h"
#include "shared/import/attribute_values.h"
#include "shared/import/site_mapping.h"
#include "shared/import/web_config_walk.h"
#include "shared/util/duration.h"

namespace sitehost::import_detail {
namespace {

using config_detail::lower_ascii;
using config_detail::quote;

// One attribute being mapped.
struct Attr {
  const MapContext& c;
  std::string_view name;
  std::string_view value;
  uint32_t line;

  void error(std::string_view message) const {
    c.d.error(line, fmt::format("<aspNetCore> attribute '{}' {}", name, message));
  }
  // "must be EXPECTED, got "VALUE"".
  void expected(std::string_view what) const {
    error(fmt::format("must be {}, got {}", what, quote(value)));
  }
  void warn(std::string_view message) const {
    c.d.warn(line, fmt::format("<aspNetCore> attribute '{}' {}", name, message));
  }
  // %LAUNCHER_PATH%-style values are not real paths: true (after the error) when one is there.
  bool has_placeholder() const;
};

bool Attr::has_placeholder() const {
  std::string_view found = find_placeholder(value);
  if (found.empty()) return false;
  if (found == "%LAUNCHER_PATH%" || found == "%LAUNCHER_ARGS%") {
    error(
        fmt::format("contains the placeholder {} (Visual Studio's; publish the app with "
                    "dotnet publish to get real values)",
                    found));
  } else {
    error(
        fmt::format("contains the environment variable reference {}, which IIS expands and "
                    "sitehost does not; write the value itself",
                    found));
  }
  return true;
}

// A path attribute as a relative (or absolute) POSIX path; nullopt after an error.
std::optional<std::string> path_value(const Attr& a) {
  if (a.value.empty()) {
    a.error("must not be empty");
    return std::nullopt;
  }
  if (a.has_placeholder()) return std::nullopt;
  auto path = posix_path(a.value);
  if (!path) {
    a.error(
        fmt::format("is a Windows absolute path ({}); give a path on this machine, or one "
                    "relative to the app's folder",
                    quote(a.value)));
  }
  return path;
}

void set_process_path(const Attr& a, ImportedSite& site) {
  if (is_dotnet_host(a.value)) {
    site.process_path = "dotnet";  // a bare name: sitehost looks it up on PATH, as ANCM does
    return;
  }
  auto path = path_value(a);
  if (!path) return;
  if (lower_ascii(*path).ends_with(".exe")) {
    a.warn(
        fmt::format("names a Windows program ({}); publish the app for Linux (dotnet publish "
                    "-r linux-x64) or run its .dll with dotnet, then fix process_path",
                    quote(*path)));
  }
  site.process_path = *path;
}

void set_arguments(const Attr& a, ImportedSite& site) {
  if (a.has_placeholder()) return;
  std::string why;
  auto words = config_detail::split_arguments(a.value, why);
  if (!words) {
    a.error(fmt::format("cannot be split into arguments: {}", why));
    return;
  }
  for (std::string& word : *words) {
    if (word.find('\\') == std::string::npos) continue;
    auto path = posix_path(word);
    if (!path) {
      a.error(
          fmt::format("holds the Windows absolute path {}; give a path on this machine, or "
                      "one relative to the app's folder",
                      quote(word)));
      return;
    }
    word = *path;
  }
  site.arguments = std::move(*words);
}

void set_hosting_model(const Attr& a, ImportedSite&) {
  std::string model = lower_ascii(a.value);
  if (model == "inprocess") {
    a.warn(
        "is \"inprocess\"; the site is outofprocess: sitehost does not host the .NET runtime "
        "in-process (its in-process model loads native handler libraries), so the app runs as "
        "its own process (Kestrel) behind sitehost");
  } else if (model != "outofprocess") {
    a.expected("\"inprocess\" or \"outofprocess\"");
  }
}

void set_stdout_log_enabled(const Attr& a, ImportedSite& site) {
  if (auto on = parse_bool(a.value)) {
    site.stdout_log_enabled = *on;
  } else {
    a.expected("\"true\" or \"false\"");
  }
}

void set_stdout_log_file(const Attr& a, ImportedSite& site) {
  if (auto path = path_value(a)) site.stdout_log_file = *path;
}

void set_request_timeout(const Attr& a, ImportedSite& site) {
  using namespace std::chrono_literals;
  auto timeout = parse_timespan(a.value);
  if (!timeout || *timeout < 1s || *timeout > 360h) {
    a.expected("a time span hh:mm:ss from 00:00:01 to 360:00:00");
    return;
  }
  site.request_timeout = format_duration(*timeout);
}

// A whole number of seconds within [min, max] → "Ns".
void set_seconds(const Attr& a, std::optional<std::string>& out, uint64_t min, uint64_t max) {
  auto seconds = parse_count(a.value, max);
  if (!seconds || *seconds < min) {
    a.expected(fmt::format("a whole number of seconds from {} to {}", min, max));
    return;
  }
  out = fmt::format("{}s", *seconds);
}

void set_count(const Attr& a, std::optional<uint64_t>& out, uint64_t min, uint64_t max) {
  auto count = parse_count(a.value, max);
  if (!count || *count < min) {
    a.expected(fmt::format("a whole number from {} to {}", min, max));
    return;
  }
  out = *count;
}

void warn_forward_windows_auth(const Attr& a, ImportedSite&) {
  a.warn("has no sitehost equivalent (there is no Windows authentication token on Linux); ignored");
}

void warn_disable_error_page(const Attr& a, ImportedSite&) {
  a.warn(
      "has no sitehost equivalent (sitehost's error pages show details only with the server-wide "
      "[server] detailed_errors = true, off by default); ignored");
}

using Setter = void (*)(const Attr&, ImportedSite&);
struct Mapping {
  std::string_view name;
  Setter set;
};

// The ranges are sitehost's for the target keys (docs/configuration.md), so the output loads.
constexpr Mapping kAttributes[] = {
    {"processPath", set_process_path},
    {"arguments", set_arguments},
    {"hostingModel", set_hosting_model},
    {"stdoutLogEnabled", set_stdout_log_enabled},
    {"stdoutLogFile", set_stdout_log_file},
    {"requestTimeout", set_request_timeout},
    {"startupTimeLimit",
     [](const Attr& a, ImportedSite& s) { set_seconds(a, s.startup_time_limit, 1, 3600); }},
    {"shutdownTimeLimit",
     [](const Attr& a, ImportedSite& s) { set_seconds(a, s.shutdown_time_limit, 0, 600); }},
    {"rapidFailsPerMinute",
     [](const Attr& a, ImportedSite& s) { set_count(a, s.rapid_fails_per_minute, 0, 100); }},
    {"processesPerApplication",
     [](const Attr& a, ImportedSite& s) { set_count(a, s.processes, 1, 100); }},
    {"forwardWindowsAuthToken", warn_forward_windows_auth},
    {"disableStartUpErrorPage", warn_disable_error_page},
};

// An attribute no setter takes: a warning, with the right spelling when only its case is off
// (IIS attribute names are case-sensitive).
void warn_unknown(const MapContext& c, const pugi::xml_node& element,
                  const pugi::xml_attribute& a) {
  std::string lower = lower_ascii(a.name());
  for (const Mapping& m : kAttributes) {
    if (lower_ascii(m.name) != lower) continue;
    c.d.warn(c.xml.line_of(a, element),
             fmt::format("<aspNetCore> attribute '{}' has no sitehost equivalent; ignored (did "
                         "you mean '{}'? attribute names are case-sensitive)",
                         a.name(), m.name));
    return;
  }
  warn_unmapped_attribute(c.xml, c.d, element, a);
}

}  // namespace

void map_aspnetcore(const MapContext& c, const pugi::xml_node& element, ImportedSite& site) {
  bool has_process_path = false;
  for (pugi::xml_attribute a : element.attributes()) {
    std::string_view name = a.name();
    const Mapping* mapping = nullptr;
    for (const Mapping& m : kAttributes) {
      if (m.name == name) mapping = &m;
    }
    if (mapping == nullptr) {
      warn_unknown(c, element, a);
      continue;
    }
    has_process_path = has_process_path || name == "processPath";
    mapping->set(Attr{c, name, a.value(), c.xml.line_of(a, element)}, site);
  }
  if (!has_process_path) {
    c.d.error(c.xml.line_of(element),
              "<aspNetCore> has no processPath attribute (the program to start: \"dotnet\" for "
              "a framework-dependent app)");
  }
  for (pugi::xml_node child : element.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view name = child.name();
    if (name == "environmentVariables") {
      map_environment(c, child, site);
    } else if (name == "handlerSettings") {
      map_handler_settings(c, child);
    } else {
      warn_unmapped_element(c.xml, c.d, child);
    }
  }
}

}  // namespace sitehost::import_detail
