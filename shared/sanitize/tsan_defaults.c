// ThreadSanitizer's default options for every program of a SITEHOST_SANITIZE_THREAD build
// (sitehost, sitehost-app, sitehost-launch, the test binaries), however it is started: by ctest,
// tools/matrix, tools/soak, a test harness or by hand. $TSAN_OPTIONS is parsed after these, so it
// can override any of them (e.g. TSAN_OPTIONS=halt_on_error=0 to see every race of a run).
//
// halt_on_error=1: the first race ends the process with exitcode 66, so a race in a sitehost a
// test started fails that test (its exit code on stop, and the harness's look for a sanitizer
// report in its log) instead of scrolling past in a log nobody reads.
// second_deadlock_stack=1: lock-order reports show both acquisition stacks.
// io_sync stays at TSan's default (1: operations on one descriptor synchronise): libuv's closes
// are made visible by tsan_syscall_close.c, so a reused descriptor number is no false race.
// suppressions: third-party code only (each entry says why); never our own code.
const char* __tsan_default_options(void);
const char* __tsan_default_options(void) {
  return "halt_on_error=1:exitcode=66:second_deadlock_stack=1:history_size=4"
         ":suppressions=" SITEHOST_TSAN_SUPPRESSIONS;
}
