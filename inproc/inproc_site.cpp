// STUB (replaced by the in-process implementation).
#include "inproc/inproc_site.h"

namespace sitehost {
namespace {
class StubSite final : public Site {
 public:
  void handle(Exchange& exchange) override {
    exchange.respond_error({500, 0, "in-process hosting is not built yet"});
  }
  void stop(std::function<void()> done) override { done(); }
};
}  // namespace

std::unique_ptr<Site> make_inproc_site(const SiteConfig&, const SiteContext&) {
  return std::make_unique<StubSite>();
}
}  // namespace sitehost
