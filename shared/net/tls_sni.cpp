#include "shared/net/tls_sni.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace sitehost {
namespace {

// Host names are stored in lower case; a name that is "*" or an IP literal is not a name.
bool is_name(std::string_view host) {
  return !host.empty() && host != "*" && host.find(':') == std::string_view::npos &&
         host.find_first_not_of("0123456789.") != std::string_view::npos;
}

}  // namespace

TlsListenerContext::TlsListenerContext(std::shared_ptr<const TlsContext> default_context)
    : default_(std::move(default_context)) {}

void TlsListenerContext::add_host(std::string_view host,
                                  std::shared_ptr<const TlsContext> context) {
  if (!is_name(host)) return;
  std::string key(host);
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  hosts_.emplace(std::move(key), std::move(context));
}

void TlsListenerContext::add_certificate_names(std::shared_ptr<const TlsContext> context) {
  for (const std::string& name : context->names()) {
    if (name.starts_with("*.") && name.size() > 2) {
      wildcards_.emplace(name.substr(1), context);
    } else if (!name.empty() && name.find('*') == std::string::npos) {
      cert_names_.emplace(name, context);
    }
  }
}

const TlsContext& TlsListenerContext::select(std::string_view server_name, bool* matched) const {
  if (matched != nullptr) *matched = false;
  if (server_name.ends_with('.')) server_name.remove_suffix(1);
  char buffer[256];
  if (server_name.empty() || server_name.size() > sizeof buffer) return *default_;
  for (size_t i = 0; i < server_name.size(); ++i) {
    char c = server_name[i];
    buffer[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view name(buffer, server_name.size());

  const TlsContext* hit = nullptr;
  if (auto it = hosts_.find(name); it != hosts_.end()) {
    hit = it->second.get();
  } else if (auto exact = cert_names_.find(name); exact != cert_names_.end()) {
    hit = exact->second.get();
  } else if (size_t dot = name.find('.'); dot != 0 && dot != std::string_view::npos) {
    if (auto wild = wildcards_.find(name.substr(dot)); wild != wildcards_.end()) {
      hit = wild->second.get();
    }
  }
  if (hit == nullptr) return *default_;
  if (matched != nullptr) *matched = true;
  return *hit;
}

std::vector<const TlsContext*> TlsListenerContext::contexts() const {
  std::vector<const TlsContext*> out{default_.get()};
  for (const Map* map : {&hosts_, &cert_names_, &wildcards_}) {
    for (const auto& [name, context] : *map) {
      if (std::find(out.begin(), out.end(), context.get()) == out.end()) {
        out.push_back(context.get());
      }
    }
  }
  return out;
}

TlsListenersResult build_tls_listeners(const std::vector<SiteConfig>& sites) {
  TlsListenersResult result;
  std::map<uint16_t, std::shared_ptr<TlsListenerContext>> building;
  std::map<uint16_t, std::vector<std::shared_ptr<const TlsContext>>> order;  // per port, by site
  for (const SiteConfig& site : sites) {
    if (!site.has_https()) continue;
    TlsContext::Result made = TlsContext::create(tls_settings(site));
    if (!made.context) {
      result.error = fmt::format("site \"{}\": {}", site.name, made.error);
      return result;
    }
    for (const Binding& b : site.bindings) {
      if (b.scheme != "https") continue;
      auto& listener = building[b.port];
      if (!listener) listener = std::make_shared<TlsListenerContext>(made.context);
      listener->add_host(b.host, made.context);
      auto& contexts = order[b.port];
      if (std::find(contexts.begin(), contexts.end(), made.context) == contexts.end()) {
        contexts.push_back(made.context);
      }
    }
  }
  // Certificate names come after every binding host, so a host bound to a site always wins.
  for (auto& [port, listener] : building) {
    for (const auto& context : order[port]) listener->add_certificate_names(context);
    result.listeners.emplace(port, std::move(listener));
  }
  return result;
}

}  // namespace sitehost
