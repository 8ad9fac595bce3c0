/* ws_read.h -- reading one whole client message of /ws (ws_parsed_read(): the message, and an
 * ingest message's events), on the loop when it is small, on libuv's pool when it is
 * GATEWAY_PARSE_OFF_LOOP_BYTES or more, so that a large ingest does not hold up every other
 * client while it is parsed. Loop thread. */
#ifndef TT_WS_READ_H
#define TT_WS_READ_H

#include "live/ws_message.h"
#include "live/ws_peer.h"

#include <uv.h>

/* Gets a message read on the pool, on the loop thread: 'owner' and 'conn_id' as given to
 * ws_read() (the connection may have gone since); 'parsed' is freed after the call. */
typedef void (*ws_read_done_fn)(void *owner, uint64_t conn_id, ws_parsed *parsed);

/* Reads the whole message in *rx and empties *rx. Returns 0 with *now read (free it with
 * ws_parsed_free()), or 1 when the message went to the pool: 'done' gets it later, and until
 * then the caller reads nothing more from the connection (http_ws_pause), so that its
 * messages are handled in the order they were sent. 'gw' as for ws_parsed_read(). */
int ws_read(uv_loop_t *loop, ws_rx *rx, gateway *gw, ws_parsed *now, ws_read_done_fn done,
            void *owner, uint64_t conn_id);

#endif
