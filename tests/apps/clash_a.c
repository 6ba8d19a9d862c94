/* clash_a: see clash_common.h */
#define CLASH_IDENTITY "clash_a"
#include "clash_common.h"
