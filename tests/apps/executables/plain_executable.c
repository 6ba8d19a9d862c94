/* plain_executable: not a library at all (500.33 when configured as a handler). Built twice: as a
 * position-independent executable (ET_DYN + DF_1_PIE) and as a classic one (ET_EXEC). */
#include <stdio.h>

int main(void) {
  puts("I am a program, not a handler library");
  return 0;
}
