/* log.h -- leveled log lines on stderr, as text or JSON, one write() per line.
 *
 * The level and format are process-wide (set once at start-up, before threads start); any
 * thread may log. Never log request bodies, keys or tokens: messages are for operators. */
#ifndef TT_LOG_H
#define TT_LOG_H

#include <stdbool.h>

typedef enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;
typedef enum log_format { LOG_TEXT, LOG_JSON } log_format;

void log_setup(log_level level, log_format format);
bool log_enabled(log_level level);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logged at info whatever the level: lines that scripts rely on ("listening on ..."). */
void log_announce(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
