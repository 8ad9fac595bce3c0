/* args.c -- the C benches' command line (args.h). */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *bench_name = "bench";
static const char *bench_usage = "";

void args_begin(const char *name, const char *usage)
{
    bench_name = name;
    bench_usage = usage;
}

void args_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s", bench_usage);
    va_end(ap);
    exit(2);
}

const char *args_value(int argc, char **argv, int i)
{
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
        fputs(bench_usage, stdout);
        exit(0);
    }
    return i + 1 < argc ? argv[i + 1] : NULL;
}

const char *args_text(const char *option, const char *value)
{
    if (value == NULL) {
        args_fail("%s needs a value", option);
    }
    return value;
}

size_t args_count(const char *option, const char *value, size_t max)
{
    char *end = NULL;
    args_text(option, value);
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || n == 0 || n > max) {
        args_fail("%s takes an integer from 1 to %zu, not '%s'", option, max, value);
    }
    return (size_t)n;
}

const char *args_dir(const char *option, const char *value)
{
    struct stat sb;
    if (stat(args_text(option, value), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        args_fail("%s %s: not a directory", option, value);
    }
    return value;
}

const char *args_bin(const char *option, const char *value)
{
    struct stat sb;
    if (stat(args_text(option, value), &sb) != 0) {
        args_fail("%s %s: no such executable (build one: make build)", option, value);
    }
    if (!S_ISREG(sb.st_mode) || access(value, X_OK) != 0) {
        args_fail("%s %s: not an executable file", option, value);
    }
    return value;
}
