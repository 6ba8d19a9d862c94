// `sitehost import [--name NAME] [--binding URL]... WEB_CONFIG`: prints the [[site]] table for
// an IIS web.config (shared/import) on stdout and its warnings and errors on stderr.
#pragma once

namespace sitehost {

// argv[0] is the program, argv[1] "import". Returns the exit code: 0 printed (warnings may have
// been printed too), 1 the web.config cannot be imported (errors on stderr, nothing on stdout),
// 2 usage.
int run_import(int argc, char** argv);

}  // namespace sitehost
