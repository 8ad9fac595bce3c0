/* ws_guard.c -- the WebSocket size limits (DESIGN §5, "Limits"): a frame over
 * --ws-max-frame or a message over --ws-max-message is seen from the frame headers in the
 * bytes a client sends, before wslay buffers any of it (wslay itself only bounds a whole
 * message). Pure: the caller counts and closes. */
#include "http/http_internal.h"

int ws_guard_feed(ws_frame_guard *g, const unsigned char *b, size_t n, uint64_t max_frame,
                  uint64_t max_message)
{
    for (size_t i = 0; i < n;) {
        if (g->frame_left > 0) {
            size_t k = n - i < g->frame_left ? n - i : (size_t)g->frame_left;
            g->frame_left -= k;
            i += k;
            continue;
        }
        g->hdr[g->hdr_have++] = b[i++];
        size_t len7 = g->hdr_have < 2 ? 0 : g->hdr[1] & 0x7f;
        size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        size_t need = g->hdr_have < 2 ? 2 : 2 + ext + ((g->hdr[1] & 0x80) ? 4 : 0);
        if (g->hdr_have < need) {
            continue;
        }
        g->hdr_have = 0;
        if (ext == 8 && (g->hdr[2] & 0x80)) {
            return -1; /* not a length (RFC 6455 §5.2): wslay fails it with 1002 */
        }
        uint64_t len = len7;
        if (ext > 0) {
            len = 0;
            for (size_t j = 0; j < ext; j++) {
                len = len << 8 | g->hdr[2 + j];
            }
        }
        bool data = (g->hdr[0] & 0x08) == 0, fin = (g->hdr[0] & 0x80) != 0;
        g->frame_left = len;
        g->msg_bytes += data ? len : 0;
        if (len > max_frame) {
            return HTTP_LIMIT_WS_FRAME;
        }
        if (g->msg_bytes > max_message) {
            return HTTP_LIMIT_WS_MESSAGE;
        }
        g->msg_bytes = data && fin ? 0 : g->msg_bytes;
    }
    return -1;
}
