// Orchestration: read the XML, find the sections, map them, fill in the site's identity (name,
// bindings, folder) and print the table.
#include "shared/import/web_config_import.h"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "shared/config/text.h"
#include "shared/config/values.h"
#include "shared/import/attribute_values.h"
#include "shared/import/diagnostics.h"
#include "shared/import/site_mapping.h"
#include "shared/import/toml_writer.h"
#include "shared/import/web_config_walk.h"
#include "shared/import/xml_source.h"

namespace sitehost {
namespace {

namespace fs = std::filesystem;
using import_detail::ImportedSite;

// The app's name: the stem of the .dll that dotnet runs, else of the program, else of the
// folder; made a valid site name (other characters become '-').
std::string app_name(const ImportedSite& site, const fs::path& folder) {
  std::string name;
  if (site.process_path == "dotnet" && site.arguments) {
    for (const std::string& word : *site.arguments) {
      if (config_detail::lower_ascii(word).ends_with(".dll")) {
        name = import_detail::file_stem(word);
        break;
      }
    }
  } else if (site.process_path != "dotnet") {
    name = import_detail::file_stem(site.process_path);
  }
  if (name.empty()) name = folder.filename().string();
  for (char& c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '-';
  }
  name.resize(std::min<size_t>(name.size(), 100));
  return config_detail::valid_site_name(name) ? name : "site";
}

fs::path folder_of(const fs::path& file) {
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  if (ec) absolute = file;
  return absolute.lexically_normal().parent_path();
}

}  // namespace

std::string check_import_options(const ImportOptions& options) {
  if (!options.name.empty() && !config_detail::valid_site_name(options.name)) {
    return fmt::format(
        "--name {}: a site name is 1-100 characters from A-Z a-z 0-9 . _ - (and "
        "not \".\" or \"..\")",
        config_detail::quote(options.name));
  }
  for (const std::string& binding : options.bindings) {
    std::string why;
    if (!config_detail::parse_binding(binding, why)) {
      return fmt::format("--binding {}: {}", config_detail::quote(binding), why);
    }
  }
  return {};
}

ImportResult import_web_config(const fs::path& file, const ImportOptions& options) {
  import_detail::Diagnostics d(file.string());
  auto fail = [&d] { return ImportResult{{}, d.take()}; };
  auto xml = import_detail::XmlSource::load(file, d);
  if (!xml) return fail();
  auto sections = import_detail::find_sections(*xml, d);
  if (!sections) return fail();

  ImportedSite site;
  import_detail::MapContext context{*xml, d};
  import_detail::map_aspnetcore(context, sections->aspnetcore, site);
  if (sections->request_limits) {
    import_detail::map_request_limits(context, sections->request_limits, site);
  }
  if (d.has_errors()) return fail();

  fs::path folder = folder_of(file);
  site.physical_path = folder.string();
  site.name = options.name.empty() ? app_name(site, folder) : options.name;
  site.bindings = options.bindings;
  std::string comment = fmt::format("sitehost import of {}", (folder / file.filename()).string());
  if (site.bindings.empty()) {
    site.bindings.emplace_back(kImportDefaultBinding);
    comment += "\nbindings: the default; pass --binding URL (or edit it) to choose";
  }
  for (const std::string& binding : site.bindings) {
    if (config_detail::lower_ascii(binding).starts_with("https:")) {
      d.warn(0, fmt::format("--binding {} is https: add the site's certificate and private_key "
                            "keys before sitehost loads it",
                            binding));
    }
  }
  return {import_detail::write_site_toml(site, comment), d.take()};
}

}  // namespace sitehost
