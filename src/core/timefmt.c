/* timefmt.c -- RFC 3339 parsing and formatting without the C library's time zone state. */
#include "core/timefmt.h"

#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly 'n' decimal digits at s[*i]; false if any is not a digit. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') {
            return false;
        }
        v = v * 10 + (s[*i] - '0');
    }
    *out = v;
    return true;
}

static bool expect(const char *s, size_t len, size_t *i, const char *choices)
{
    if (*i >= len) {
        return false;
    }
    for (const char *c = choices; *c != '\0'; c++) {
        if (s[*i] == *c) {
            (*i)++;
            return true;
        }
    }
    return false;
}

/* Parses the fraction after the seconds, if any, keeping milliseconds. */
static bool fraction(const char *s, size_t len, size_t *i, int *ms)
{
    *ms = 0;
    if (*i >= len || s[*i] != '.') {
        return true;
    }
    (*i)++;
    int ndigits = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (ndigits < 3) {
            *ms = *ms * 10 + (s[*i] - '0');
        }
        ndigits++;
        (*i)++;
    }
    if (ndigits == 0) {
        return false;
    }
    for (int k = ndigits; k < 3; k++) {
        *ms *= 10;
    }
    return true;
}

/* Parses "Z" or "+HH:MM"/"-HH:MM" into an offset in minutes east of UTC. */
static bool zone(const char *s, size_t len, size_t *i, int *offset_min)
{
    *offset_min = 0;
    if (expect(s, len, i, "Zz")) {
        return true;
    }
    if (*i >= len || (s[*i] != '+' && s[*i] != '-')) {
        return false;
    }
    int sign = s[*i] == '-' ? -1 : 1;
    (*i)++;
    int hh, mm;
    if (!digits(s, len, i, 2, &hh) || !expect(s, len, i, ":") || !digits(s, len, i, 2, &mm) ||
        hh > 23 || mm > 59) {
        return false;
    }
    *offset_min = sign * (hh * 60 + mm);
    return true;
}

bool timefmt_parse(const char *s, size_t len, int64_t *out_ms)
{
    size_t i = 0;
    int y, mo, d, h, mi, sec, ms, offset_min;
    if (!digits(s, len, &i, 4, &y) || !expect(s, len, &i, "-") || !digits(s, len, &i, 2, &mo) ||
        !expect(s, len, &i, "-") || !digits(s, len, &i, 2, &d) || !expect(s, len, &i, "Tt ") ||
        !digits(s, len, &i, 2, &h) || !expect(s, len, &i, ":") || !digits(s, len, &i, 2, &mi) ||
        !expect(s, len, &i, ":") || !digits(s, len, &i, 2, &sec) || !fraction(s, len, &i, &ms) ||
        !zone(s, len, &i, &offset_min) || i != len) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) || h > 23 ||
        mi > 59 || sec > 60) {
        return false;
    }
    if (sec == 60) {
        sec = 59; /* a leap second: keep it inside its minute rather than reject it */
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t t = ((days * 24 + h) * 60 + mi - offset_min) * 60 + sec;
    t = t * 1000 + ms;
    if (t < 0 || t > INT64_C(253402300799999)) {
        return false;
    }
    *out_ms = t;
    return true;
}

void timefmt_format(int64_t ms, char out[TIMEFMT_LEN])
{
    if (ms < 0) {
        ms = 0;
    } else if (ms > INT64_C(253402300799999)) {
        ms = INT64_C(253402300799999);
    }
    int64_t secs = ms / 1000;
    int64_t rem = secs % 86400;
    int y;
    unsigned m, d;
    civil_from_days(secs / 86400, &y, &m, &d);
    /* The clamp keeps every field to its width; the wider buffer only calms the compiler. */
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), (int)(ms % 1000));
    memcpy(out, buf, TIMEFMT_LEN - 1);
    out[TIMEFMT_LEN - 1] = '\0';
}

void timefmt_format_pg(int64_t ms, char out[TIMEFMT_PG_LEN])
{
    char base[TIMEFMT_LEN];
    timefmt_format(ms, base); /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    size_t n = 23;            /* up to the last digit of the milliseconds */
    while (base[n - 1] == '0') {
        n--;
    }
    if (base[n - 1] == '.') {
        n--;
    }
    memcpy(out, base, n);
    memcpy(out + n, "+00:00", 7);
}
