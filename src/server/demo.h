/* demo.h -- `telltale serve --demo`: feeds demo_gen's traffic through the ingest path on a
 * timer, so a first run shows a living dashboard. Loop thread. */
#ifndef TT_DEMO_H
#define TT_DEMO_H

#include "server/server.h"

typedef struct demo demo;

int demo_start(uv_loop_t *loop, gateway *gw, demo **out);
void demo_stop(demo *d); /* NULL is a no-op */

#endif
