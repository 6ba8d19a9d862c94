#include "shared/errors/error_page.h"

#include <fmt/format.h>

namespace sitehost {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string_view error_title(int status, int substatus) {
  switch (status * 100 + substatus) {
    case 50030: return "Failed to start application";
    case 50031: return "Failed to find native dependencies";
    case 50032: return "Failed to load application library (architecture mismatch)";
    case 50033: return "Failed to load application: request handler not found";
    case 50034: return "Mixed hosting models not supported";
    case 50035: return "Multiple in-process applications in the same process";
    case 50037: return "Application failed to start within the startup time limit";
    case 50038: return "Application library not found";
    case 50203: return "Bad Gateway";
    case 50205: return "Process Failure";
    case 50300: return "Service Unavailable";
    default: return reason_phrase(status);
  }
}

std::string status_code_text(int status, int substatus) {
  return substatus ? fmt::format("{}.{}", status, substatus) : fmt::format("{}", status);
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_error_page(const HttpError& error, bool detailed) {
  std::string code = status_code_text(error.status, error.substatus);
  std::string title = html_escape(error_title(error.status, error.substatus));
  std::string detail;
  if (detailed && !error.detail.empty())
    detail = fmt::format("<h2>Details</h2>\n<pre>{}</pre>\n", html_escape(error.detail));
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>HTTP Error {0} - {1}</title>"
      "</head>\n<body>\n<h1>HTTP Error {0} - {1}</h1>\n{2}<hr><p>sitehost</p>\n</body></html>\n",
      code, title, detail);
}

}  // namespace sitehost
