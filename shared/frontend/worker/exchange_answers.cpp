// Answers shared by HTTP/1.1 connections and HTTP/2 streams (exchange_answers.h).
#include "shared/frontend/worker/exchange_answers.h"

#include <ctime>

#include <fmt/format.h>

#include "shared/errors/error_page.h"
#include "shared/frontend/worker/worker.h"
#include "shared/http/field_rules.h"
#include "shared/http/http_chars.h"

namespace sitehost {

using http::iequals;

namespace {

// Connection-specific fields (RFC 9110 §7.6.1, RFC 9113 §8.2.2): the transport frames the
// response and manages the connection, whatever the site says.
bool is_transport_header(std::string_view name) {
  return iequals(name, "Transfer-Encoding") || iequals(name, "Connection") ||
         iequals(name, "Keep-Alive") || iequals(name, "Proxy-Connection");
}

bool parse_content_length(std::string_view value, uint64_t* out) {
  if (value.empty() || value.size() > 19) return false;
  uint64_t n = 0;
  for (char ch : value) {
    if (ch < '0' || ch > '9') return false;
    n = n * 10 + static_cast<uint64_t>(ch - '0');
  }
  *out = n;
  return true;
}

}  // namespace

bool add_site_header(RequestContext& c, std::string_view name, std::string_view value,
                     bool lowercase) {
  if (c.head_sent || !http::valid_field_name(name) || !http::valid_field_value(value)) return false;
  if (is_transport_header(name)) return true;
  // An HTTP/2 response cannot upgrade (RFC 9113 §8.6): the field would be a protocol error.
  if (lowercase && iequals(name, "Upgrade")) return true;
  if (iequals(name, "Content-Length")) {
    uint64_t n = 0;
    if (!parse_content_length(value, &n)) return false;
    c.content_length = n;
    return true;
  }
  if (iequals(name, "Date")) c.site_set_date = true;
  if (iequals(name, "Server")) c.site_set_server = true;
  const size_t at = c.site_headers.size();
  c.site_headers.append(name).append(": ").append(value).append("\r\n");
  if (lowercase)
    for (size_t i = at; i < at + name.size(); ++i)
      if (c.site_headers[i] >= 'A' && c.site_headers[i] <= 'Z') c.site_headers[i] += 'a' - 'A';
  return true;
}

void fill_error_page(const Worker& worker, RequestContext& c, const HttpError& error) {
  c.status = error.status;
  c.substatus = error.substatus;
  c.reason.clear();
  c.site_headers.assign("Content-Type: text/html; charset=utf-8\r\n");
  c.site_set_date = c.site_set_server = false;
  c.error_body = render_error_page(error, worker.config().detailed_errors);
  c.content_length = c.error_body.size();
}

bool is_health_request(const Worker& worker, uint16_t local_port, const RequestInfo& info) {
  const HealthEndpoint& health = worker.config().health;
  switch (health.kind) {
    case HealthEndpoint::Kind::kAddress:
      return local_port == health.port;
    case HealthEndpoint::Kind::kPath:
      return iequals(info.path, health.path);
    case HealthEndpoint::Kind::kOff:
      break;
  }
  return false;
}

void fill_health_answer(Worker& worker, RequestContext& c) {
  worker.counters().health_requests.add();
  const bool allowed = c.info.method == "GET" || c.info.is_head;
  const HealthAnswer& answer = worker.health();
  c.status = allowed ? answer.status : 405;
  c.site_headers.assign("Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n");
  if (!allowed) c.site_headers.append("Allow: GET, HEAD\r\n");
  c.error_body.assign(allowed ? std::string_view(answer.body) : "use GET or HEAD\n");
  c.content_length = c.error_body.size();
}

void log_access(Worker& worker, const RequestContext& c, const sockaddr* peer) {
  worker.metrics().exchange_done(c, worker.index());  // once per exchange, like the log line
  if (!worker.log().access_enabled()) return;
  char peer_text[64] = "-";
  if (peer->sa_family == AF_INET6)
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(peer), peer_text, sizeof peer_text);
  else if (peer->sa_family == AF_INET)
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(peer), peer_text, sizeof peer_text);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - c.started)
                    .count();
  time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  char when[40];
  std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &local);
  const bool has_line = c.dispatched || !c.info.method.empty();
  auto referer = c.info.header("Referer");
  auto agent = c.info.header("User-Agent");
  const std::string line = !has_line ? std::string("-")
                           : c.info.http_major == 2
                               ? fmt::format("{} {} HTTP/2", c.info.method, c.info.target)
                               : fmt::format("{} {} HTTP/{}.{}", c.info.method, c.info.target,
                                             c.info.http_major, c.info.http_minor);
  worker.log().access(fmt::format(
      "{} - - [{}] \"{}\" {} {} \"{}\" \"{}\" site={} status={} us={} model={}", peer_text, when,
      line, c.status, c.body_sent, referer.value_or("-"), agent.value_or("-"),
      c.site_config ? std::string_view(c.site_config->name) : std::string_view("-"),
      status_code_text(c.status, c.substatus), micros,
      c.site_config ? to_string(c.site_config->hosting_model) : "-"));
}

void end_stalled_body(Worker& worker, RequestContext& c) {
  worker.log().info("408 {}: request body stalled for body_timeout (site {}{})", c.info.target,
                    c.site_config ? c.site_config->name : "-",
                    c.info.http_major == 2 ? ", HTTP/2" : "");
  c.body_error = 408;
  c.reader->on_body_error(408);
}

}  // namespace sitehost
