/* log.c -- formatting a log line and writing it whole. */
#include "os/log.h"

#include "os/clock.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STAMP_LEN 25 /* "2026-11-28T17:56:01.123Z" */

static log_level current_level = LOG_INFO;
static log_format current_format = LOG_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_setup(log_level level, log_format format)
{
    current_level = level;
    current_format = format;
}

bool log_enabled(log_level level)
{
    return level <= current_level;
}

/* Writes all of 'buf'; a line must not interleave with another thread's. */
static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n <= 0) {
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void write_json(const char *ts, log_level level, const char *msg)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL || cJSON_AddStringToObject(obj, "ts", ts) == NULL ||
        cJSON_AddStringToObject(obj, "level", level_names[level]) == NULL ||
        cJSON_AddStringToObject(obj, "msg", msg) == NULL) {
        cJSON_Delete(obj);
        return;
    }
    char *text = cJSON_PrintUnformatted(obj); /* the JSON string escapes are cJSON's */
    if (text != NULL) {
        char line[2048];
        int n = snprintf(line, sizeof line, "%s\n", text);
        write_all(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
    }
    free(text);
    cJSON_Delete(obj);
}

/* Now, in RFC 3339 UTC with milliseconds. (os sits below core, so not timefmt's.) */
static void stamp(char out[STAMP_LEN])
{
    uint64_t ms = clock_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03uZ", (unsigned)(ms % 1000));
    memcpy(out, buf, STAMP_LEN - 1);
    out[STAMP_LEN - 1] = '\0';
}

static void emit(log_level level, const char *fmt, va_list ap)
{
    char ts[STAMP_LEN];
    stamp(ts);
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (current_format == LOG_JSON) {
        write_json(ts, level, msg);
        return;
    }
    char line[1200];
    int n = snprintf(line, sizeof line, "%s %-5s %s\n", ts, level_names[level], msg);
    write_all(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

void log_msg(log_level level, const char *fmt, ...)
{
    if (!log_enabled(level)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

void log_announce(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(LOG_INFO, fmt, ap);
    va_end(ap);
}
