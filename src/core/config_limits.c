/* config_limits.c -- the settings of the limits against abuse (DESIGN §5, "Limits"): how many
 * connections, how long a request may take to arrive, how large a WebSocket frame or message,
 * how fast one key may ingest, how many channels one Realtime connection may join. Each is
 * counted in telltale_limit_rejections_total{limit} when a client breaks it. */
#include "core/config_internal.h"

#define MS_1H UINT64_C(3600000)

const config_setting config_limit_settings[] = {
    {"--max-connections", "TELLTALE_MAX_CONNECTIONS", NULL, "4096", K_UINT,
     CONFIG_AT(max_connections), 1, 1000000, "an integer from 1 to 1000000",
     "open connections, all clients together; more are closed at accept"},
    {"--max-connections-per-address", "TELLTALE_MAX_CONNECTIONS_PER_ADDRESS", NULL, "256", K_UINT,
     CONFIG_AT(max_connections_per_address), 1, 1000000, "an integer from 1 to 1000000",
     "open connections from one client address (X-Forwarded-For's from a --trust-proxy)"},
    {"--header-timeout", "TELLTALE_HEADER_TIMEOUT", NULL, "10s", K_DURATION,
     CONFIG_AT(header_timeout_ms), 100, MS_1H, "a duration from 100ms to 1h, e.g. 10s",
     "time to receive a request's headers; then 408 and close"},
    {"--body-timeout", "TELLTALE_BODY_TIMEOUT", NULL, "20s", K_DURATION, CONFIG_AT(body_timeout_ms),
     100, MS_1H, "a duration from 100ms to 1h, e.g. 20s",
     "time a request body may take, plus 1s per --body-min-rate bytes received; then 408"},
    {"--body-min-rate", "TELLTALE_BODY_MIN_RATE", NULL, "1KiB", K_SIZE, CONFIG_AT(body_min_rate), 1,
     1 << 30, "bytes per second from 1 to 1GiB, e.g. 1KiB",
     "the slowest a request body may arrive, on average"},
    {"--idle-timeout", "TELLTALE_IDLE_TIMEOUT", NULL, "30s", K_DURATION, CONFIG_AT(idle_timeout_ms),
     100, MS_1H, "a duration from 100ms to 1h, e.g. 30s",
     "how long a keep-alive connection may wait for its next request"},
    {"--ws-max-frame", "TELLTALE_WS_MAX_FRAME", NULL, "1MiB", K_SIZE, CONFIG_AT(ws_max_frame), 125,
     64 << 20, "a size from 125 bytes to 64MiB",
     "largest WebSocket frame a client may send; beyond it close 1009"},
    {"--ws-max-message", "TELLTALE_WS_MAX_MESSAGE", NULL, "2MiB", K_SIZE, CONFIG_AT(ws_max_message),
     125, 128 << 20, "a size from 125 bytes to 128MiB",
     "largest WebSocket message (all its frames) a client may send; beyond it close 1009"},
    {"--ingest-rate", "TELLTALE_INGEST_RATE", NULL, "0", K_UINT, CONFIG_AT(ingest_rate), 0,
     10000000, "events per second from 0 (no limit) to 10000000",
     "events one key (or client address, without keys) may ingest per second, 0 for no "
     "limit; beyond it 429"},
    {"--ingest-burst", "TELLTALE_INGEST_BURST", NULL, "0", K_UINT, CONFIG_AT(ingest_burst), 0,
     100000000, "events from 0 (twice --ingest-rate) to 100000000",
     "events one key may send at once before --ingest-rate applies, 0 for twice the rate"},
    {"--realtime-max-joins", "TELLTALE_REALTIME_MAX_JOINS", NULL, "100", K_UINT,
     CONFIG_AT(realtime_max_joins), 1, 10000, "an integer from 1 to 10000",
     "channels one Realtime connection may have joined at once"},
};

const size_t config_limit_nsettings =
    sizeof config_limit_settings / sizeof config_limit_settings[0];
