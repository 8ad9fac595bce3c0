/* dlq_status.c -- a dead letter's status by name, as both stores keep it (DESIGN §3). */
#include "store/store.h"

#include <string.h>

static const char *const dlq_names[] = {"pending", "retrying", "recovered", "failed"};

const char *dlq_status_name(dlq_status s)
{
    return (unsigned)s < 4 ? dlq_names[s] : "unknown";
}

bool dlq_status_parse(const char *name, dlq_status *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, dlq_names[i]) == 0) {
            *out = (dlq_status)i;
            return true;
        }
    }
    return false;
}
