/* log.c -- formatting a log line and writing it whole. */
#include "os/log.h"

#include "core/json_print.h"
#include "core/timefmt.h"
#include "os/clock.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
    char *text = json_print(obj, NULL);
    if (text != NULL) {
        char line[2048];
        int n = snprintf(line, sizeof line, "%s\n", text);
        write_all(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
    }
    free(text);
    cJSON_Delete(obj);
}

static void emit(log_level level, const char *fmt, va_list ap)
{
    char ts[TIMEFMT_LEN];
    timefmt_format((int64_t)clock_now_ms(), ts);
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
