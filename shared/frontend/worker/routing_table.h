// What every event loop routes by: one immutable snapshot of the running config, built by the
// control thread at start and at each reload and handed to all loops (Worker::install). The
// table owns (shares) the sites and site configs its routes point at, so a request that was
// routed by a table keeps using that table's objects until it ends, even after a reload put a
// newer table in place: a request sees the old config or the new one, never a mix.
#pragma once

#include <memory>
#include <set>
#include <vector>

#include "shared/config/config.h"
#include "shared/frontend/worker/router.h"
#include "shared/http/request_parser.h"
#include "shared/site/site.h"

namespace sitehost {

struct RoutingTable {
  ServerConfig server;
  http::Limits limits;
  Router router;
  std::set<uint16_t> ports;                  // the ports listened on (connections on others drain)
  std::vector<std::shared_ptr<Site>> sites;  // what the routes point at
  std::vector<std::shared_ptr<const SiteConfig>> configs;
};

}  // namespace sitehost
