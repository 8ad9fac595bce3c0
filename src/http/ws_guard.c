/* ws_guard.c -- the limits on what a WebSocket client sends (DESIGN §5, "Limits"): a frame
 * larger than --ws-max-frame, or a message (its frames together) larger than --ws-max-message,
 * closes the connection with 1009 "message too big" (RFC 6455 §7.4.1), before the endpoint
 * sees any of it. lws hands a frame over in pieces of at most the protocol's rx buffer and says
 * how much of the frame is still to come, so a frame or message is refused on its first piece:
 * nothing of it is buffered. The endpoints' own limits (a /ws message holds at most an ingest
 * body and its envelope) apply after these. Loop thread only. */
#include "http/http_internal.h"

#include <stdio.h>
#include <string.h>

int ws_guard_receive(http_server *hs, struct lws *wsi, http_pss *pss, size_t len)
{
    uint64_t rest = lws_remaining_packet_payload(wsi); /* of this frame, after these bytes */
    uint64_t frame = pss->ws_frame_bytes + len + rest;
    uint64_t message = pss->ws_message_bytes + len + rest;
    const char *why = NULL;
    if (frame > hs->cfg->ws_max_frame) {
        http_server_count_limit(hs, HTTP_LIMIT_WS_FRAME);
        why = "frame too big (TELLTALE_WS_MAX_FRAME)";
    } else if (message > hs->cfg->ws_max_message) {
        http_server_count_limit(hs, HTTP_LIMIT_WS_MESSAGE);
        why = "message too big (TELLTALE_WS_MAX_MESSAGE)";
    }
    if (why != NULL) {
        /* returning -1 from RECEIVE sends the close frame (NOTES-lws §5) */
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
                         strlen(why));
        return -1;
    }
    pss->ws_frame_bytes = rest == 0 ? 0 : pss->ws_frame_bytes + len;
    pss->ws_message_bytes = lws_is_final_fragment(wsi) ? 0 : pss->ws_message_bytes + len;
    return 0;
}
