// Makes libuv's descriptor closes visible to ThreadSanitizer (SITEHOST_SANITIZE_THREAD builds
// only).
//
// Debian's libuv closes sockets with syscall(SYS_close, fd) to avoid glibc's cancellation point,
// and TSan does not intercept syscall(): it never learns the descriptor was closed. When the
// kernel hands the same number out again on another thread (accept4 on one loop, a pipe or an
// opendir on a start thread), TSan sees two threads using "one" descriptor with nothing ordering
// them and reports a race that is not there. This definition of syscall() in the program takes
// the place of glibc's for libuv (the program's symbols come first), turns SYS_close into
// close(), which TSan intercepts, and hands every other call to glibc unchanged.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*syscall_fn)(long, ...);

long syscall(long number, ...) {
  // As glibc's own syscall(): six argument words are taken whatever the call needs (x86_64 and
  // aarch64 pass them in registers).
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_close) return close((int)a[0]);
  static syscall_fn real;  // atomics: threads may race to look it up (they find the same one)
  syscall_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
  if (!fn) {
    fn = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
    __atomic_store_n(&real, fn, __ATOMIC_RELEASE);
  }
  return fn(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
