/* rfc3339.c - RFC 3339 UTC timestamp parsing and formatting (see rfc3339.h). */
#include "interop/rfc3339.h"

#include <assert.h>

#define SECS_PER_DAY 86400
/* Days from 0000-01-01 (proleptic Gregorian) to 1970-01-01. */
#define DAYS_0000_TO_1970 719528

/* Days before the first of each month in a common year. */
static const int month_start[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
static const int month_len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    return month_len[m - 1] + (m == 2 && is_leap(y));
}

/* Days from 0000-01-01 to y-01-01, for 0 <= y <= 10000. Year 0 is a leap year, so the leap
 * years before y are the multiples of 4 in [0, y) minus those of 100 plus those of 400. */
static int64_t days_before_year(int64_t y)
{
    assert(y >= 0);
    return 365 * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
}

/* Unix day number of a valid civil date. */
static int64_t unix_days(int y, int m, int d)
{
    int64_t days = days_before_year(y) + month_start[m - 1] + (m > 2 && is_leap(y)) + d - 1;
    return days - DAYS_0000_TO_1970;
}

/* Inverse of unix_days for days within [0000-01-01, 9999-12-31]. */
static void civil_from_unix_days(int64_t days, int *y_out, int *m_out, int *d_out)
{
    int64_t n = days + DAYS_0000_TO_1970; /* days since 0000-01-01 */
    assert(n >= 0 && n < days_before_year(10000));
    /* 146097 days per 400 years: the estimate is within one year of the answer. */
    int64_t y = n * 400 / 146097;
    while (y > 0 && days_before_year(y) > n)
        y--;
    while (days_before_year(y + 1) <= n)
        y++;
    int doy = (int)(n - days_before_year(y)); /* 0-based day of year */
    int leap = is_leap((int)y);
    int m = 12;
    while (m > 1 && doy < month_start[m - 1] + (m > 2 && leap))
        m--;
    *y_out = (int)y;
    *m_out = m;
    *d_out = doy - month_start[m - 1] - (m > 2 && leap) + 1;
}

/* Reads n decimal digits at s; returns the value or -1 if any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int rfc3339_parse(const char *s, size_t len, int64_t *unix_sec, int32_t *nsec)
{
    /* Fixed part "YYYY-MM-DDTHH:MM:SS" is 19 bytes; the shortest full form adds "Z". */
    if (!s || len < 20)
        return -1;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return -1;
    if (se == 60 && (h != 23 || mi != 59 || d != days_in_month(y, mo)))
        return -1;

    size_t i = 19;
    int32_t frac = 0;
    if (s[i] == '.') {
        i++;
        int nd = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (++nd <= 9) /* RFC 3339 allows any precision: digits past ns are truncated */
                frac = frac * 10 + (s[i] - '0');
            i++;
        }
        if (nd == 0)
            return -1;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    /* Offset: "Z"/"z" or exactly "+00:00", and nothing after it. */
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i += 1;
    } else if (len - i >= 6 && s[i] == '+' && s[i + 1] == '0' && s[i + 2] == '0' &&
               s[i + 3] == ':' && s[i + 4] == '0' && s[i + 5] == '0') {
        i += 6;
    } else {
        return -1;
    }
    if (i != len)
        return -1;

    int64_t t = unix_days(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + se;
    if (unix_sec)
        *unix_sec = t;
    if (nsec)
        *nsec = frac;
    return 0;
}

/* Writes "YYYY-MM-DDTHH:MM:SS" (19 chars, no NUL) for an in-range time. */
static void put_datetime(int64_t unix_sec, char *out)
{
    int64_t days = unix_sec / SECS_PER_DAY, sod = unix_sec % SECS_PER_DAY;
    if (sod < 0) {
        sod += SECS_PER_DAY;
        days--;
    }
    int y, m, d;
    civil_from_unix_days(days, &y, &m, &d);
    int v[6] = {y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60)};
    static const char seps[6] = {'-', '-', 'T', ':', ':', 0};
    char *p = out;
    for (int k = 0; k < 6; k++) {
        int width = k == 0 ? 4 : 2;
        for (int j = width - 1; j >= 0; j--) {
            p[j] = (char)('0' + v[k] % 10);
            v[k] /= 10;
        }
        p += width;
        if (seps[k])
            *p++ = seps[k];
    }
}

int rfc3339_format(int64_t unix_sec, char out[32])
{
    if (unix_sec < RFC3339_MIN_UNIX || unix_sec > RFC3339_MAX_UNIX) {
        out[0] = '\0';
        return -1;
    }
    put_datetime(unix_sec, out);
    out[19] = 'Z';
    out[20] = '\0';
    return 20;
}

int rfc3339_format_ms(int64_t unix_ms, char out[32])
{
    int64_t sec = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        sec--;
    }
    if (sec < RFC3339_MIN_UNIX || sec > RFC3339_MAX_UNIX) {
        out[0] = '\0';
        return -1;
    }
    put_datetime(sec, out);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
}
