/* clash_b: see clash_common.h */
#define CLASH_IDENTITY "clash_b"
#include "clash_common.h"
