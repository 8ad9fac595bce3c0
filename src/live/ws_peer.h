/* ws_peer.h -- what a WebSocket server keeps to send: messages shared by every client queue
 * they are in (one render per broadcast), and per-client FIFOs whose bytes the
 * owner bounds. Used by /ws (ws_live.c) and /realtime/v1/websocket (realtime.c).
 * Messages may be made on any thread; queues and writes belong to the loop thread. */
#ifndef TT_WS_PEER_H
#define TT_WS_PEER_H

#include "core/json_print.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http/http_server.h"

#define WS_WRITES_PER_CALLBACK 256 /* writes (send()s) per WRITEABLE, at most */
#define WS_FRAME_HEADER_MAX 10

/* A message; data has WS_PRE bytes of headroom before the payload. */
#define WS_PRE 16
typedef struct ws_msg {
    int refs;
    int64_t seq; /* the event's seq, 0 for messages that are not events */
    bool binary;
    size_t len;
    unsigned char data[];
} ws_msg;

/* A new text message (one reference) holding a copy of 'len' bytes, or room for them (to fill
 * in at ws_msg_payload()) when 'bytes' is NULL; NULL when out of memory. */
ws_msg *ws_msg_new(const void *bytes, size_t len, int64_t seq);

/* A new binary message of 'len' bytes, to be filled in by the caller at ws_msg_payload(). */
ws_msg *ws_msg_new_binary(size_t len);

/* The document 'w' holds as a new text message ('w' is emptied); NULL when writing it or
 * the message ran out of memory. */
ws_msg *ws_msg_from_writer(json_writer *w, int64_t seq);

unsigned char *ws_msg_payload(ws_msg *m);
void ws_msg_unref(ws_msg *m); /* NULL is a no-op */

/* A FIFO of messages, growing as needed; each slot holds a reference. */
typedef struct msg_ring {
    ws_msg **slots;
    size_t cap, head, count, bytes;
} msg_ring;

bool msg_ring_push(msg_ring *r, ws_msg *m); /* takes a new reference; false on OOM */
ws_msg *msg_ring_pop(msg_ring *r);          /* the caller gets the ring's reference */
void msg_ring_clear(msg_ring *r);           /* drops every message, keeps the slots */
void msg_ring_free(msg_ring *r);            /* clears and frees the slots */
/* Keeps only the messages for which keep() is true, in order. */
void msg_ring_filter(msg_ring *r, bool (*keep)(const ws_msg *m));

/* A message being received, fragment by fragment. */
typedef struct ws_rx {
    char *buf; /* NUL-terminated once whole */
    size_t len;
} ws_rx;

/* Adds a received fragment. Returns 1 when the message is whole (rx->buf holds it until
 * ws_rx_clear()), 0 while more is to come, and -1 when it would pass 'limit' bytes (close code
 * 1009 is set) or memory runs out: the callback then returns -1. */
int ws_rx_add(http_ws *ws, ws_rx *rx, const void *in, size_t len, size_t limit);
void ws_rx_clear(ws_rx *rx);

/* The sending side of one client, as /ws and Realtime both keep it: its queue, bounded in
 * bytes, and how it is closing. */
typedef struct ws_peer {
    http_ws *ws;
    msg_ring out;
    bool closing;
    int close_code;
    char close_reason[64];
} ws_peer;

/* Queues 'm' (a new reference) and asks for WRITEABLE. A peer with more than 'max_bytes'
 * queued is closed instead, as a slow consumer (1008), and false returned. Nothing happens to
 * a closing peer or for a NULL message. */
bool ws_peer_send(ws_peer *p, ws_msg *m, uint64_t max_bytes);

/* Drops what is queued and closes the connection: the close frame goes out after what the
 * connection has already gathered to write (http_ws_close). A second close is a no-op. */
void ws_peer_close(ws_peer *p, int code, const char *reason);

/* For the endpoint's on_timer: -1 (with the close code and reason set) once the peer is
 * closing. */
int ws_peer_on_timer(ws_peer *p);

/* Writes the peer's queued messages until the connection chokes or WS_WRITES_PER_CALLBACK
 * writes' worth are given (to keep the loop responsive); *sent counts the messages. Messages
 * queued together are framed straight into the connection's next write (each still a frame
 * of its own, up to HTTP_WS_WRITE_MAX bytes per write): one send() for a broadcast backlog; a
 * message longer than that goes whole through http_ws_send. Asks for on_writable again when
 * some are left. Returns -1 if the connection is closing. */
int ws_peer_flush(ws_peer *p, uint64_t *sent);

/* The header of an unmasked server frame (RFC 6455 §5.2) carrying one whole message of 'len'
 * payload bytes, text or binary, into 'h'; returns its length: 2, 4 or 10 bytes. */
size_t ws_frame_header(unsigned char h[WS_FRAME_HEADER_MAX], bool binary, size_t len);

#endif
