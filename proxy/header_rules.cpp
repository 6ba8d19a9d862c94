#include "proxy/header_rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "shared/util/decimal.h"

namespace sitehost::proxy {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// Appends "existing, existing2, added" (empty existing values skipped) as one header.
void append_list_header(std::string& out, std::string_view name,
                        std::span<const HeaderView> headers, std::string_view added) {
  out.append(name);
  out.append(": ");
  for (const HeaderView& h : headers) {
    if (!iequals(h.name, name)) continue;
    std::string_view v = trim(h.value);
    if (v.empty()) continue;
    out.append(v);
    out.append(", ");
  }
  out.append(added);
  out.append("\r\n");
}

// Request headers the proxy drops whatever the mode.
bool dropped_request_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "expect") ||
         istarts_with(name, "ms-aspnetcore") || iequals(name, "x-forwarded-for") ||
         iequals(name, "x-forwarded-proto");
}

}  // namespace

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  size_t at = out.size();
  out.resize(at + (n + 2) / 3 * 4);
  char* w = out.data() + at;
  for (; n >= 3; n -= 3, p += 3) {
    uint32_t v = uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2];
    *w++ = kAlphabet[v >> 18];
    *w++ = kAlphabet[(v >> 12) & 63];
    *w++ = kAlphabet[(v >> 6) & 63];
    *w++ = kAlphabet[v & 63];
  }
  if (n > 0) {
    uint32_t v = uint32_t{p[0]} << 16 | (n == 2 ? uint32_t{p[1]} << 8 : 0);
    *w++ = kAlphabet[v >> 18];
    *w++ = kAlphabet[(v >> 12) & 63];
    *w++ = n == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *w++ = '=';
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool token_list_contains(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2:
      return iequals(name, "te");
    case 7:
      return iequals(name, "trailer") || iequals(name, "upgrade");
    case 10:
      if (iequals(name, "connection") || iequals(name, "keep-alive")) return true;
      break;
    case 17:
      if (iequals(name, "transfer-encoding")) return true;
      break;
    default:
      break;
  }
  return istarts_with(name, "proxy-");
}

bool listed_in_connection(std::span<const HeaderView> headers, std::string_view name) {
  for (const HeaderView& h : headers)
    if (iequals(h.name, "connection") && token_list_contains(h.value, name)) return true;
  return false;
}

std::string_view format_endpoint(const sockaddr_storage* address,
                                 char (&buffer)[kEndpointBufferSize]) {
  if (!address) return {};
  char* out = buffer;
  if (address->ss_family == AF_INET) {  // by hand: inet_ntop formats IPv4 with sprintf
    const auto* a = reinterpret_cast<const sockaddr_in*>(address);
    const auto* octets = reinterpret_cast<const unsigned char*>(&a->sin_addr);
    for (int i = 0; i < 4; ++i) {
      if (i) *out++ = '.';
      out = write_decimal(out, octets[i]);
    }
    *out++ = ':';
    out = write_decimal(out, ntohs(a->sin_port));
  } else if (address->ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(address);
    *out++ = '[';
    if (!inet_ntop(AF_INET6, &a->sin6_addr, out, INET6_ADDRSTRLEN)) return {};
    out += std::strlen(out);
    *out++ = ']';
    *out++ = ':';
    out = write_decimal(out, ntohs(a->sin6_port));
  } else {
    return {};
  }
  return std::string_view(buffer, static_cast<size_t>(out - buffer));
}

void build_request_head(const RequestInfo& request, std::string_view token, bool tunnel,
                        std::string& out) {
  out.clear();
  out.append(request.method);
  out.push_back(' ');
  if (!request.target.empty() && (request.target.front() == '/' || request.target == "*")) {
    out.append(request.target);
  } else {  // absolute-form: the child gets origin-form
    out.append(request.path_base);
    out.append(request.path);
    if (!request.query.empty()) {
      out.push_back('?');
      out.append(request.query);
    }
  }
  out.append(" HTTP/1.1\r\n");

  bool has_host = false;
  for (const HeaderView& h : request.headers) {
    if (dropped_request_header(h.name)) continue;
    if (is_hop_by_hop(h.name)) {
      if (!(tunnel && iequals(h.name, "upgrade"))) continue;
    } else if (listed_in_connection(request.headers, h.name)) {
      continue;
    }
    if (iequals(h.name, "host")) has_host = true;
    append_header(out, h.name, h.value);
  }
  if (!has_host) {
    char local[kEndpointBufferSize];
    std::string_view local_text = format_endpoint(request.local, local);
    if (!request.host.empty())
      append_header(out, "Host", request.host);
    else if (!local_text.empty())
      append_header(out, "Host", local_text);
    else
      append_header(out, "Host", "localhost");
  }
  if (request.content_length) {
    out.append("Content-Length: ");
    append_decimal(out, *request.content_length);
    out.append("\r\n");
  } else if (request.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (tunnel) out.append("Connection: Upgrade\r\n");

  char client_buffer[kEndpointBufferSize];
  std::string_view client = format_endpoint(request.remote, client_buffer);
  if (client.empty()) client = "unknown";
  append_list_header(out, "X-Forwarded-For", request.headers, client);
  append_list_header(out, "X-Forwarded-Proto", request.headers, request.tls ? "https" : "http");
  if (!request.client_certificate.empty()) {  // ANCM's header: base64 of the DER, one line
    out.append("MS-ASPNETCORE-CLIENTCERT: ");
    append_base64(out, request.client_certificate);
    out.append("\r\n");
  }
  append_header(out, "MS-ASPNETCORE-TOKEN", token);
  out.append("\r\n");
}

bool pass_response_header(std::span<const HeaderView> headers, const HeaderView& header,
                          bool tunnel) {
  if (is_hop_by_hop(header.name)) return tunnel && iequals(header.name, "upgrade");
  return !listed_in_connection(headers, header.name);
}

}  // namespace sitehost::proxy
