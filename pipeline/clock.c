//  clock - the injectable wall clock (see clock.h)

#include "tickmux.h"
#include <time.h>
#include <ctype.h>

static int64_t s_offset_ns;         //  Fake minus real, ns; 0 when real
static bool s_fake;                 //  A fake start is in force

static int64_t
s_real_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

//  Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), so we
//  need neither timegm () nor the TZ environment.
static int64_t
s_days_from_civil (int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned) (y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

//  The "@REAL" suffix of an anchored start: seconds since the epoch, with up to 9 decimals.
//  Returns 0 and sets *ns, or -1.
static int
s_parse_anchor (const char *text, int64_t *ns)
{
    char *end;
    errno = 0;
    long long secs = strtoll (text, &end, 10);
    if (end == text || errno || secs < 0 || secs >= 9200000000LL || !isdigit ((unsigned char) *text))
        return -1;
    int64_t frac = 0;
    if (*end == '.') {
        const char *p = end + 1;
        int digits = 0;
        for (; isdigit ((unsigned char) *p) && digits < 9; p++, digits++)
            frac = frac * 10 + (*p - '0');
        if (digits == 0 || *p)
            return -1;
        for (; digits < 9; digits++)
            frac *= 10;
        end = (char *) p;
    }
    if (*end)
        return -1;
    *ns = (int64_t) secs * 1000000000 + frac;
    return 0;
}

//  Split "FAKE@REAL": copy FAKE into buf, point *anchor at REAL (or NULL without one)
static int
s_split (const char *text, char *buf, size_t size, const char **anchor)
{
    const char *at = strchr (text, '@');
    size_t len = at ? (size_t) (at - text) : strlen (text);
    if (len >= size)
        return -1;
    memcpy (buf, text, len);
    buf [len] = '\0';
    *anchor = at ? at + 1 : NULL;
    return 0;
}

static int s_parse_start (const char *text, int64_t *ns);

int
tm_clock_parse (const char *text, int64_t *ns)
{
    if (!text || !*text || !ns)
        return -1;
    char start [64];
    const char *anchor;
    int64_t anchor_ns;
    if (s_split (text, start, sizeof start, &anchor)
    ||  (anchor && s_parse_anchor (anchor, &anchor_ns)))
        return -1;
    return s_parse_start (start, ns);
}

static int
s_parse_start (const char *text, int64_t *ns)
{
    if (!*text)
        return -1;
    char *end;
    //  Plain seconds since the epoch
    errno = 0;
    long long secs = strtoll (text, &end, 10);
    if (*end == '\0' && errno == 0 && secs >= 0 && secs < 9200000000LL) {
        *ns = (int64_t) secs * 1000000000;
        return 0;
    }
    int year, mon, day, hour, min, sec, used = 0;
    if (sscanf (text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec, &used) != 6
    ||  used != 19)
        return -1;
    static const int days_in [12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    //  Past 2261 the nanoseconds no longer fit in int64
    if (year < 1970 || year > 2261 || mon < 1 || mon > 12 || day < 1
    ||  day > days_in [mon - 1] || (mon == 2 && day == 29 && !leap)
    ||  hour > 23 || min > 59 || sec > 60)
        return -1;
    const char *zone = text + used;
    int64_t offset = 0;
    if (strcmp (zone, "Z") == 0)
        offset = 0;
    else
    if ((zone [0] == '+' || zone [0] == '-') && strlen (zone) == 6 && zone [3] == ':') {
        int oh, om;
        if (sscanf (zone + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
            return -1;
        offset = (int64_t) (oh * 3600 + om * 60) * (zone [0] == '+' ? 1 : -1);
    }
    else
        return -1;
    int64_t days = s_days_from_civil (year, (unsigned) mon, (unsigned) day);
    int64_t t = days * 86400 + hour * 3600 + min * 60 + sec - offset;
    *ns = t * 1000000000;
    return 0;
}

int
tm_clock_set_fake (const char *text, char *err, size_t err_size)
{
    if (!text || !*text) {
        s_fake = false;
        s_offset_ns = 0;
        return 0;
    }
    int64_t start, anchor_ns = 0;
    char buf [64];
    const char *anchor = NULL;
    if (tm_clock_parse (text, &start)) {
        snprintf (err, err_size, "fake_time '%s': expected seconds since the epoch or "
                  "YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM, optionally @ the real "
                  "epoch seconds it stands for", text);
        return -1;
    }
    s_split (text, buf, sizeof buf, &anchor);
    if (anchor)
        s_parse_anchor (anchor, &anchor_ns);
    //  Anchored: every process given the same text agrees on the time, whenever it started
    s_offset_ns = start - (anchor ? anchor_ns : s_real_ns ());
    s_fake = true;
    return 0;
}

int64_t
tm_clock_now_ns (void)
{
    return s_real_ns () + s_offset_ns;
}

int64_t
tm_clock_mono_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool
tm_clock_is_fake (void)
{
    return s_fake;
}
