// STUB (replaced by the out-of-process implementation).
#include "proxy/proxy_site.h"

namespace sitehost {
namespace {
class StubSite final : public Site {
 public:
  void handle(Exchange& exchange) override {
    exchange.respond_error({500, 0, "out-of-process hosting is not built yet"});
  }
  void stop(std::function<void()> done) override { done(); }
};
}  // namespace

std::unique_ptr<Site> make_proxy_site(const SiteConfig&, const SiteContext&) {
  return std::make_unique<StubSite>();
}
}  // namespace sitehost
