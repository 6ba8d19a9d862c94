// The environment an out-of-process site's children start with (before the per-child variables
// ASPNETCORE_PORT, ASPNETCORE_TOKEN, ASPNETCORE_APPL_PATH, ASPNETCORE_IIS_PHYSICAL_PATH and
// ASPNETCORE_URLS, which the slot adds for each child).
//
// ANCM's rules (AspNetCoreModuleV2 environmentvariablehash.h), so Kestrel's IIS integration turns
// on in an unmodified app exactly as behind IIS:
//   sitehost's own environment, overridden by the site's `environment`, then
//   ASPNETCORE_IIS_HTTPAUTH            "anonymous;" (sitehost authenticates no one)
//   ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED "true" (else ASP.NET Core compares the *kernel* version
//                                       to 6.2 and may switch WebSockets off)
//   ASPNETCORE_HOSTINGSTARTUPASSEMBLIES  Microsoft.AspNetCore.Server.IISIntegration appended
//                                       (';'-separated, once): a web host that runs hosting
//                                       startups but does not call UseIISIntegration itself is
//                                       integrated by it (not CreateSlimBuilder's: its
//                                       SlimWebHostBuilder runs none in .NET 10)
//   ASPNETCORE_ANCM_HTTPS_PORT          the site's https port when it has exactly one
// Beyond ANCM, the slot also sets ASPNETCORE_URLS=http://127.0.0.1:PORT (unless the site's
// `environment` sets it): an app whose builder has no IIS integration (CreateSlimBuilder, whose
// SlimWebHostBuilder runs no hosting startups) still listens on the port handed over, and for an
// integrated app it is the address the integration picks anyway.
// A value the site's `environment` sets for the first two or the last wins (ANCM adds them only
// when absent); the hosting-startup entry is appended to whatever value is there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config/config.h"

namespace sitehost::proxy {

// Set per child by the slot, whatever the environments say.
bool per_child_variable(std::string_view name);

// "NAME=value" entries: `inherited` (a NULL-terminated environ-style array) merged with the
// site's environment and the ANCM variables above; `https_port` 0 = none.
std::vector<std::string> child_base_environment(const SiteConfig& config, char** inherited,
                                                uint16_t https_port);

}  // namespace sitehost::proxy
