// Error responses come from here: IIS-style status + sub-status, a short HTML page that always
// names the code, details only when detailed_errors is on.
#pragma once

#include <string>
#include <string_view>

#include "shared/site/exchange.h"

namespace sitehost {

// Standard reason phrase ("Not Found"); "Unknown" for codes we never send.
std::string_view reason_phrase(int status);

// The title IIS uses for a code, e.g. 502.5 → "Process Failure", 500.30 → "Failed to start
// application"; falls back to the reason phrase.
std::string_view error_title(int status, int substatus);

// "502.5" or "404".
std::string status_code_text(int status, int substatus);

// The full HTML body. `detailed` adds `error.detail` (HTML-escaped).
std::string render_error_page(const HttpError& error, bool detailed);

std::string html_escape(std::string_view text);

}  // namespace sitehost
