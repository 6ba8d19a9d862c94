// sitehost-launch [--batch] PARENT_PID PROGRAM [ARGS...]
//
// Started by sitehost (through uv_spawn, already in its own session and process group) in front
// of every out-of-process child: makes the child die with sitehost (PR_SET_PDEATHSIG cannot be
// set through uv_spawn), refuses to run when sitehost is already gone, then execs PROGRAM in
// place, so the child keeps this pid. Exit code 127 with a message on stderr when it cannot.
//
// --batch: the child runs as SCHED_BATCH (the site's process_scheduling = "batch"). A batch task
// does not preempt the running one when it wakes up, so when sitehost writes a request to the
// child on a shared core it goes on with the rest of its ready work instead of being switched
// out mid-batch: fewer context switches per proxied request. Fairness is unchanged.
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

int main(int argc, char** argv) {
  int first = 1;
  bool batch = false;
  if (argc > 1 && std::string_view(argv[1]) == "--batch") {
    batch = true;
    ++first;
  }
  if (argc < first + 2) {
    std::fprintf(stderr, "usage: sitehost-launch [--batch] PARENT_PID PROGRAM [ARGS...]\n");
    return 127;
  }
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    std::fprintf(stderr, "sitehost-launch: prctl: %s\n", std::strerror(errno));
    return 127;
  }
  long parent = std::strtol(argv[first], nullptr, 10);
  if (static_cast<long>(::getppid()) != parent) return 127;  // sitehost died meanwhile
  if (batch) {
    sched_param none{};
    if (::sched_setscheduler(0, SCHED_BATCH, &none) != 0)  // not fatal: the child still runs
      std::fprintf(stderr, "sitehost-launch: SCHED_BATCH: %s\n", std::strerror(errno));
  }
  ::execvp(argv[first + 1], argv + first + 1);
  std::fprintf(stderr, "sitehost-launch: cannot execute '%s': %s\n", argv[first + 1],
               std::strerror(errno));
  return 127;
}
