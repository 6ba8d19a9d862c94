// `sitehost ctl status | reload [SITE] | stop [-c FILE]`: talks to a running sitehost through
// its admin API. The config file is read only to find the admin address (`[server] admin`, else
// the default socket); a config that does not validate is still searched for that key, so
// `ctl reload` can report the server's own file:line:key error.
#pragma once

namespace sitehost {

// argv[0] is the program, argv[1] "ctl". Prints the answer (stdout) or the error (stderr) and
// returns the exit code: 0 done, 1 failed (error answer or no connection), 2 usage.
int run_ctl(int argc, char** argv, const char* default_config);

}  // namespace sitehost
