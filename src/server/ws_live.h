/* ws_live.h -- WebSocket /ws, the legacy live path (DESIGN §5): committed events pushed from
 * memory with their seq, resume after a seq with no gap and no duplicate, server-side
 * filters, ingest with acks, stats each second, and slow consumers dropped with 1008.
 * Loop thread only. */
#ifndef TT_WS_LIVE_H
#define TT_WS_LIVE_H

#include "server/server_impl.h"
#include "server/ws_out.h"

/* The per-connection data of the WebSocket protocol. */
typedef struct ws_pss {
    ws_client *client;
} ws_pss;

/* lws callbacks for WebSocket reasons; server.c routes them here. */
int ws_on_established(server *srv, struct lws *wsi, ws_pss *pss);
int ws_on_receive(struct lws *wsi, ws_pss *pss, const void *in, size_t len);
int ws_on_writable(ws_pss *pss);
int ws_on_timer(ws_pss *pss);
void ws_on_closed(ws_pss *pss);
/* The peer sent a close frame: 0 to echo it, -1 to drop a connection whose close code
 * RFC 6455 §7.4 forbids (lws 4.1.6 would echo any code). */
int ws_on_peer_close(const void *payload, size_t len);

/* The committed events of 'job' go to every client that wants them. */
void ws_broadcast_job(server *srv, const ingest_job *job);
/* A WebSocket ingest is answered with ack or error. */
void ws_answer_job(server *srv, ingest_job *job);
/* Once a second: a stats message to every client. */
void ws_send_stats(server *srv);
/* Closes every client with 'code' and 'reason' (1001 at shutdown). */
void ws_close_all(server *srv, int code, const char *reason);

#endif
