/* serve.c -- telltale serve: wires store, queue, persister and server on one libuv loop, and
 * shuts them down in the order DESIGN §4.6 asks for.
 *
 * Threads: the loop thread (this one) runs libh2o (HTTP and WebSocket) and every handler; the
 * persister thread commits batches; libuv's pool runs queries. */
#include "cli/cli.h"

#include "core/auth.h"
#include "core/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/queue.h"
#include "server/demo.h"
#include "server/server.h"
#include "store/store.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/sdnotify.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DRAIN_POLL_MS 20
#define CLOSE_GRACE_MS 300 /* for close frames to reach WebSocket clients */

static const char USAGE[] = "usage: telltale serve [options]\n\n"
                            "Runs the daemon. Each option also reads from the environment "
                            "variable beside it; a flag wins over the environment.\n\noptions:\n";

typedef enum phase { RUNNING, DRAINING, SHIPPING, CLOSING, STOPPED } phase;

typedef struct daemon_state {
    uv_loop_t loop;
    tt_config cfg;
    store *st;
    job_queue *q;
    pipeline *pipeline;
    server *srv;
    demo *demo;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t shutdown_timer;
    phase phase;
    uint64_t deadline_ms;
    uint64_t cache_bytes; /* the store's page cache in effect (0: none of its own) */
} daemon_state;

/* Says why 'host' (of 'setting') gave no IPv4 address ('rc' from getaddrinfo): a name with IPv6
 * addresses only (ip6-localhost where /etc/hosts or DNS has just ::1) is named as such with
 * what to write instead, since telltale listens on IPv4 only; else the resolver's reason. (An
 * IPv6 address itself never gets here: the setting's parser refuses a host with a colon.) */
static void say_unresolved(const char *setting, const char *host, int rc)
{
    struct addrinfo hints = {.ai_family = AF_INET6, .ai_socktype = SOCK_STREAM}, *res = NULL;
    bool ipv6 = getaddrinfo(host, NULL, &hints, &res) == 0;
    if (res != NULL) {
        freeaddrinfo(res);
    }
    if (ipv6) {
        fprintf(stderr,
                "telltale serve: %s host '%s' resolves to no IPv4 address, only to IPv6: telltale "
                "listens on IPv4 only (no IPv6 address, [::1]:8080 included). Give an IPv4 "
                "address or a name that resolves to one, e.g. 127.0.0.1:8080 (loopback) or "
                "0.0.0.0:8080 (every interface)\n",
                setting, host);
    } else {
        fprintf(stderr, "telltale serve: cannot resolve %s host '%s': %s\n", setting, host,
                gai_strerror(rc));
    }
}

/* Without keys every caller is service_role (DESIGN §5, Access), so telltale then listens on
 * loopback only; with keys, anywhere. Resolves 'host' (set by 'setting') to a numeric IPv4
 * address in place. */
static int check_host(const tt_config *cfg, char *host, size_t cap, const char *setting)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        say_unresolved(setting, host, rc);
        return EXIT_USAGE;
    }
    struct in_addr addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    inet_ntop(AF_INET, &addr, host, (socklen_t)cap);
    if (!config_host_is_loopback(host) && !auth_enabled(cfg)) {
        fprintf(stderr,
                "telltale serve: refusing to listen on %s (%s) without keys: every caller "
                "would be service_role. Set TELLTALE_SERVICE_KEY (--service-key), and "
                "TELLTALE_INGEST_KEY (--ingest-key), TELLTALE_ANON_KEY (--anon-key) or "
                "TELLTALE_JWT_SECRET (--jwt-secret) as needed, or listen on a loopback address "
                "(127.0.0.0/8)\n",
                host, setting);
        return EXIT_USAGE;
    }
    if (!config_host_is_loopback(host) && cfg->tls_cert[0] == '\0' && cfg->trust_proxy_n == 0) {
        log_warn("listening on %s (%s) over plain HTTP: keys and events cross the network in "
                 "clear text. Serve https with --tls-cert/--tls-key, or put a TLS proxy in front "
                 "(--trust-proxy); docs/OPERATIONS.md, \"Exposing telltale safely\"",
                 host, setting);
    }
    return 0;
}

/* Whether the two listen addresses (resolved to numeric IPv4) would take the same socket: the
 * same port, a free one aside, on the same address or on 0.0.0.0 (which takes them all). */
static bool same_address(const tt_config *cfg)
{
    bool any = strcmp(cfg->listen_host, "0.0.0.0") == 0 || strcmp(cfg->otlp_host, "0.0.0.0") == 0;
    return cfg->listen_port != 0 && cfg->listen_port == cfg->otlp_port &&
           (any || strcmp(cfg->listen_host, cfg->otlp_host) == 0);
}

static int check_listen_host(tt_config *cfg)
{
    if (cfg->trust_proxy_n > 0 && !auth_enabled(cfg)) {
        /* behind a proxy every request comes from the proxy's address: without keys, every
         * client of the proxy would be service_role */
        fprintf(stderr, "telltale serve: --trust-proxy / TELLTALE_TRUST_PROXY needs keys: behind a "
                        "proxy every caller would be service_role. Set TELLTALE_SERVICE_KEY "
                        "(--service-key) and the other keys you need\n");
        return EXIT_USAGE;
    }
    int rc =
        check_host(cfg, cfg->listen_host, sizeof cfg->listen_host, "--listen / TELLTALE_LISTEN");
    if (rc == 0 && cfg->otlp_listen) {
        rc = check_host(cfg, cfg->otlp_host, sizeof cfg->otlp_host,
                        "--otlp-listen / TELLTALE_OTLP_LISTEN");
    }
    if (rc == 0 && cfg->otlp_listen && same_address(cfg)) {
        fprintf(stderr,
                "telltale serve: --otlp-listen / TELLTALE_OTLP_LISTEN (%s:%u) is the address of "
                "--listen / TELLTALE_LISTEN: it is a second address, for the same routes; give "
                "another port, or leave it off\n",
                cfg->otlp_host, (unsigned)cfg->otlp_port);
        rc = EXIT_USAGE;
    }
    return rc;
}

/* Settings that do nothing as set, said once at start so that nobody relies on them. */
static void warn_ineffective(const tt_config *cfg)
{
    if (cfg->ingest_burst > 0 && cfg->ingest_rate == 0) {
        log_warn("TELLTALE_INGEST_BURST (--ingest-burst) does nothing without "
                 "TELLTALE_INGEST_RATE (--ingest-rate): ingest is not rate-limited");
    }
    if (cfg->ws_max_frame > cfg->ws_max_message) {
        log_warn("TELLTALE_WS_MAX_FRAME (%llu) is above TELLTALE_WS_MAX_MESSAGE (%llu): a frame "
                 "is never larger than its message, so the message limit is what applies",
                 (unsigned long long)cfg->ws_max_frame, (unsigned long long)cfg->ws_max_message);
    }
}

static void stop_loop(daemon_state *d)
{
    d->phase = STOPPED;
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sighup, NULL);
    uv_close((uv_handle_t *)&d->shutdown_timer, NULL);
    server_stop(d->srv);
}

static void on_shutdown_timer(uv_timer_t *t);

static void start_closing(daemon_state *d, uv_timer_t *t)
{
    d->phase = CLOSING;
    server_set_phase(d->srv, "closing");
    if (clock_mono_ms() >= d->deadline_ms) {
        /* Out of time: a read or a shipment still waiting on the store ends now instead of
         * holding the exit (a remote store may not be answering at all). */
        store_interrupt(d->st);
    }
    server_close_clients(d->srv);
    uv_timer_start(t, on_shutdown_timer, CLOSE_GRACE_MS, 0);
}

/* Every DRAIN_POLL_MS while shutting down: first every accepted request answered (the queue
 * is closed, so the persister only drains it), then -- with a remote store -- the spool
 * shipped, until the deadline; what is left in the spool then stays for the next start. */
static void on_shutdown_timer(uv_timer_t *t)
{
    daemon_state *d = t->data;
    bool late = clock_mono_ms() >= d->deadline_ms;
    if (d->phase == DRAINING && (server_idle(d->srv) || late)) {
        if (late) {
            log_warn("shutdown timeout: closing with requests still unanswered");
        }
        if (!pipeline_has_spool(d->pipeline)) {
            start_closing(d, t); /* SQLite: nothing is ever left to ship */
            return;
        }
        d->phase = SHIPPING;
        server_set_phase(d->srv, "shipping");
        sdnotify_status("shipping the spool to the store");
    }
    if (d->phase == SHIPPING && (pipeline_spool_empty(d->pipeline) || late)) {
        if (late && !pipeline_spool_empty(d->pipeline)) {
            log_warn("shutdown timeout: unshipped events stay in the spool for the next start");
        }
        start_closing(d, t);
        return;
    }
    if (d->phase == CLOSING) {
        stop_loop(d);
    }
}

static void on_signal(uv_signal_t *sig, int signum)
{
    daemon_state *d = sig->data;
    if (d->phase != RUNNING) {
        /* Everything acknowledged is already committed: leaving now loses nothing durable.
         * (A uv_signal callback runs on the loop thread, not in a handler: logging is safe.) */
        log_warn("second signal: exiting at once");
        _exit(1);
    }
    log_info("%s: shutting down (up to %llu ms)", strsignal(signum),
             (unsigned long long)d->cfg.shutdown_timeout_ms);
    d->phase = DRAINING;
    d->deadline_ms = clock_mono_ms() + d->cfg.shutdown_timeout_ms;
    sdnotify_stopping("draining: answering the requests in flight");
    demo_stop(d->demo);
    d->demo = NULL;
    server_drain(d->srv);
    queue_close(d->q);
    uv_timer_start(&d->shutdown_timer, on_shutdown_timer, 0, DRAIN_POLL_MS);
}

/* SIGHUP: the TLS certificate and key are read again (a renewed certificate); a bad pair
 * keeps the one in use. Logged either way, so an operator's reload can be checked. */
static void on_hangup(uv_signal_t *sig, int signum)
{
    (void)signum;
    daemon_state *d = sig->data;
    char err[TT_ERRLEN];
    if (d->cfg.tls_cert[0] == '\0' || d->srv == NULL) {
        log_info("SIGHUP: nothing to reload (no TLS certificate configured)");
    } else if (server_reload_tls(d->srv, err) != 0) {
        log_error("SIGHUP: TLS certificate not reloaded: %s", err);
    } else {
        log_announce("SIGHUP: TLS certificate reloaded from %s", d->cfg.tls_cert);
    }
}

static int start(daemon_state *d)
{
    char err[TT_ERRLEN];
    int rc = store_open(d->cfg.store_url, &d->st, err);
    if (rc == 0) {
        store_set_timeout(d->st, (uint32_t)d->cfg.store_timeout_ms);
        d->cache_bytes = store_set_cache(d->st, d->cfg.sqlite_cache_bytes);
        store_keep_summaries(d->st, true);
        rc = queue_create(d->cfg.queue_max, d->cfg.queue_max_bytes, &d->q);
        snprintf(err, sizeof err, "%s", tt_strerror(rc));
    }
    if (rc == 0) {
        rc = server_start(&d->loop, &d->cfg, d->st, d->q, &d->srv, err);
    }
    if (rc == 0) {
        rc = pipeline_start(&d->cfg, d->st, d->q, gateway_jobs_done, gateway_events_committed,
                            server_gateway(d->srv), &d->pipeline, err);
    }
    if (rc != 0) {
        log_error("cannot start: %s", err);
        return rc;
    }
    server_set_pipeline(d->srv, d->pipeline);
    if (store_schema_version(d->st) > 0 && d->cache_bytes > 0) {
        log_info("store: %s (schema version %d, page cache %llu KiB)", store_kind(d->st),
                 store_schema_version(d->st), (unsigned long long)(d->cache_bytes >> 10));
    } else if (store_schema_version(d->st) > 0) {
        log_info("store: %s (schema version %d)", store_kind(d->st), store_schema_version(d->st));
    } else {
        log_info("store: %s (not reachable yet: its schema version is checked once it answers)",
                 store_kind(d->st));
    }
    log_announce("listening on %s://%s:%d", d->cfg.tls_cert[0] ? "https" : "http",
                 d->cfg.listen_host, server_port(d->srv));
    if (d->cfg.otlp_listen) {
        log_announce("also serving (--otlp-listen) on %s://%s:%d",
                     d->cfg.tls_cert[0] ? "https" : "http", d->cfg.otlp_host,
                     server_otlp_port(d->srv));
    }
    char ready[300];
    snprintf(ready, sizeof ready, "serving on %s:%d", d->cfg.listen_host, server_port(d->srv));
    sdnotify_ready(ready);
    if (d->cfg.demo && (rc = demo_start(&d->loop, server_gateway(d->srv), &d->demo)) != 0) {
        log_error("cannot start the demo traffic: %s", tt_strerror(rc));
        return rc;
    }
    if (d->cfg.demo) {
        log_info("demo traffic on: open http://%s:%d/ to watch it", d->cfg.listen_host,
                 server_port(d->srv));
    }
    return 0;
}

/* Process signals reach the loop thread only. Every other thread -- the pipeline's, libuv's pool --
 * starts while they are blocked and inherits that mask; the loop thread unblocks them just before
 * uv_run, when a signal that came meanwhile is delivered. (A worker taking a signal would work
 * too: libuv's handler only writes to a pipe. But ThreadSanitizer runs a signal's handler only
 * when its thread next enters the sanitizer's runtime, which an idle worker may never do.) */
static void mask_process_signals(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(how, &set, NULL);
}

static void on_pool_started(uv_work_t *w)
{
    (void)w;
}

static void on_pool_started_done(uv_work_t *w, int status)
{
    (void)status;
    free(w);
}

/* libuv starts its thread pool on the first queued work: queue a no-op now, while the signals
 * are blocked, so that the pool's threads inherit the mask. */
static void start_thread_pool(uv_loop_t *loop)
{
    uv_work_t *w = malloc(sizeof *w);
    if (w != NULL && uv_queue_work(loop, w, on_pool_started, on_pool_started_done) != 0) {
        free(w);
    }
}

static void watch_signals(daemon_state *d)
{
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sighup);
    uv_timer_init(&d->loop, &d->shutdown_timer);
    d->sigint.data = d->sigterm.data = d->sighup.data = d->shutdown_timer.data = d;
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sighup, on_hangup, SIGHUP);
}

/* Tears down whatever start() managed to build, in reverse. */
static void tear_down(daemon_state *d)
{
    if (d->phase != STOPPED && d->srv != NULL) {
        server_stop(d->srv); /* start-up failed half-way */
        uv_run(&d->loop, UV_RUN_DEFAULT);
    }
    if (d->q != NULL) {
        queue_close(d->q);
    }
    pipeline_stop(d->pipeline); /* joins its threads: no callback into the server after this */
    server_free(d->srv);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&d->loop) != 0) {
        log_warn("event loop closed with handles still open");
    }
    queue_destroy(d->q);
    store_close(d->st);
}

int cli_serve(int argc, char **argv)
{
    daemon_state d = {.phase = RUNNING};
    int rc = cli_load_config(&d.cfg, argc, argv, USAGE);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if ((rc = check_listen_host(&d.cfg)) != 0) {
        return rc;
    }
    log_setup(d.cfg.log_level, d.cfg.log_format);
    warn_ineffective(&d.cfg);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&d.loop);
    /* Watch the signals before anything can announce itself: a SIGTERM that arrives right after
     * "listening on" must find the handler (libuv delivers it once uv_run starts). */
    watch_signals(&d);
    mask_process_signals(SIG_BLOCK);
    start_thread_pool(&d.loop);
    if (start(&d) != 0) {
        demo_stop(d.demo);
        uv_close((uv_handle_t *)&d.sigint, NULL);
        uv_close((uv_handle_t *)&d.sigterm, NULL);
        uv_close((uv_handle_t *)&d.sighup, NULL);
        uv_close((uv_handle_t *)&d.shutdown_timer, NULL);
        tear_down(&d);
        return 1;
    }
    mask_process_signals(SIG_UNBLOCK);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    tear_down(&d);
    log_info("stopped");
    return 0;
}
