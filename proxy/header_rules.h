// The header rules of the proxy, as pure functions (unit-tested without sockets).
//
// Request to the child: re-serialized from the parsed RequestInfo (never the client's bytes):
// hop-by-hop headers removed (Connection and the names it lists, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade unless tunnelling, Proxy-*), Expect removed (the front end answers
// 100-continue), Host kept, every MS-ASPNETCORE-* removed, the body re-framed (Content-Length or
// chunked), X-Forwarded-For / X-Forwarded-Proto appended, MS-ASPNETCORE-CLIENTCERT added (base64
// DER) when the TLS client sent a verified certificate, MS-ASPNETCORE-TOKEN added.
// Response to the client: the same hop-by-hop names removed (Upgrade kept on a 101 tunnel).
#pragma once

#include <sys/socket.h>

#include <span>
#include <string>
#include <string_view>

#include "shared/site/exchange.h"

namespace sitehost::proxy {

bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

// True when the comma-separated token list contains `token` (case-insensitive, OWS trimmed).
bool token_list_contains(std::string_view list, std::string_view token);

// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*.
bool is_hop_by_hop(std::string_view name);

// True when a Connection header among `headers` lists `name`.
bool listed_in_connection(std::span<const HeaderView> headers, std::string_view name);

// "1.2.3.4:5678" or "[::1]:5678", written into `buffer`; empty for other families / null.
inline constexpr size_t kEndpointBufferSize = 64;
std::string_view format_endpoint(const sockaddr_storage* address,
                                 char (&buffer)[kEndpointBufferSize]);

// Appends the standard base64 (RFC 4648, padded, no line breaks) of `bytes` to `out`.
void append_base64(std::string& out, std::string_view bytes);

// Appends the request head for the child to `out` (which is cleared first). `tunnel`: the
// request is an Upgrade that becomes a tunnel after a 101 (Upgrade kept, "Connection: Upgrade").
void build_request_head(const RequestInfo& request, std::string_view token, bool tunnel,
                        std::string& out);

// Whether a response header from the child goes to the client. `headers` are all response
// headers (to see what Connection lists); `tunnel`: a 101 that opens a tunnel (Upgrade kept).
bool pass_response_header(std::span<const HeaderView> headers, const HeaderView& header,
                          bool tunnel);

}  // namespace sitehost::proxy
