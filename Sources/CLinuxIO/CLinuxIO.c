// What needs headers the module's own header must not pull in (see CLinuxIO.h); the rest lives in the header.
#include "CLinuxIO.h"
#include <stdlib.h>
#include <string.h>

void clinuxio_wipe_environment_variable(const char *name) {
    char *value = getenv(name);
    if (value) memset(value, 0, strlen(value));
    unsetenv(name);
}
