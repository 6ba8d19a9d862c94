// sitehost-launch PARENT_PID PROGRAM [ARGS...]
//
// Started by sitehost (through uv_spawn, already in its own session and process group) in front
// of every out-of-process child: makes the child die with sitehost (PR_SET_PDEATHSIG cannot be
// set through uv_spawn), refuses to run when sitehost is already gone, then execs PROGRAM in
// place, so the child keeps this pid. Exit code 127 with a message on stderr when it cannot.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sitehost-launch PARENT_PID PROGRAM [ARGS...]\n");
    return 127;
  }
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    std::fprintf(stderr, "sitehost-launch: prctl: %s\n", std::strerror(errno));
    return 127;
  }
  long parent = std::strtol(argv[1], nullptr, 10);
  if (static_cast<long>(::getppid()) != parent) return 127;  // sitehost died meanwhile
  ::execvp(argv[2], argv + 2);
  std::fprintf(stderr, "sitehost-launch: cannot execute '%s': %s\n", argv[2], std::strerror(errno));
  return 127;
}
