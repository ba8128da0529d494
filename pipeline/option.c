//  option - canonical option names (see option.h)

#include "tickmux.h"

int
tm_option_symbol (char *buf, size_t size, const char *root, int year, int month, int day,
                  double strike, const char *type)
{
    assert (buf && root && type);
    if (!*root || !(strike > 0) || strike >= 1e9 || year < 2000 || year > 2099
    ||  month < 1 || month > 12 || day < 1 || day > 31)
        return -1;
    char text [32];
    snprintf (text, sizeof text, "%.4f", strike);
    char *end = text + strlen (text);
    while (end [-1] == '0')
        *--end = 0;
    if (end [-1] == '.')
        end [-1] = 0;
    int length = snprintf (buf, size, "%s%02d%02d%02d%s%s", root, year % 100, month, day,
                           text, type);
    return length > 0 && (size_t) length < size ? 0 : -1;
}

int
tm_option_expiry_parse (const char *text, int *year, int *month, int *day)
{
    assert (text && year && month && day);
    int y, m, d, used = 0;
    if (strlen (text) != 10 || sscanf (text, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3
    ||  used != 10 || text [4] != '-' || text [7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text [i] < '0' || text [i] > '9'))
            return -1;
    //  A real day: it survives a round trip through the calendar
    struct tm date = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12 };
    time_t when = timegm (&date);
    struct tm back;
    if (when == (time_t) -1 || !gmtime_r (&when, &back) || back.tm_year != y - 1900
    ||  back.tm_mon != m - 1 || back.tm_mday != d || y < 2000 || y > 2099)
        return -1;
    *year = y;
    *month = m;
    *day = d;
    return 0;
}
