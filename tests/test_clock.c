//  test_clock - parsing clock starts, and the fake clock starting there and running
//
//  The clock is process-wide: every test that sets a fake start restores the real clock
//  before it returns, so the suites after this one see the real date.

#include "tickmux.h"
#include "tap.h"

#include <time.h>

#define S_NS    INT64_C (1000000000)

static void
test_parse (void)
{
    const struct {
        const char *text;
        int64_t seconds;
    } good [] = {
        { "1767583800", 1767583800 },
        { "0", 0 },
        { "2026-01-05T09:15:00Z", 1767604500 },
        { "2026-01-05T09:15:00+05:30", 1767584700 },     //  03:45:00Z
        { "2026-01-05T09:15:00-05:00", 1767622500 },     //  14:15:00Z
        { "1970-01-01T00:00:00Z", 0 },
        { "2024-02-29T12:00:00Z", 1709208000 },          //  A leap day
        { "2025-12-31T23:59:59Z", 1767225599 },
        { "2026-01-05T00:00:00+05:30", 1767551400 },     //  The previous day in UTC
    };
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++) {
        int64_t ns = -1;
        int rc = tm_clock_parse (good [i].text, &ns);
        if (rc != 0 || ns != good [i].seconds * S_NS) {
            char what [160];
            snprintf (what, sizeof what, "tm_clock_parse ('%s') = %d, %" PRId64 " ns, want %"
                      PRId64 " s", good [i].text, rc, ns, good [i].seconds);
            CU_assertImplementation (CU_FALSE, __LINE__, what, __FILE__, "", CU_FALSE);
        }
    }

    static const char *bad [] = {
        "", "abc", "now", "1767583800x", "12abc", "2026-01-05", "2026-01-05T09:15Z",
        "2026-01-05T09:15:00", "2026-01-05T09:15:00+05", "2026-01-05T09:15:00+5:30",
        "2026-01-05T09:15:00Zjunk", "2026-13-05T09:15:00Z", "2026-00-05T09:15:00Z",
        "2026-01-32T09:15:00Z", "2026-01-05T24:00:00Z", "2026-01-05T09:60:00Z",
        "2026-01-05 09:15:00Z", "2026/01/05T09:15:00Z", "2026-01-05T09:15:00+25:00",
        "-1767583800", "2026-02-30T09:15:00Z", "2025-02-29T09:15:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        int64_t ns = 12345;
        if (tm_clock_parse (bad [i], &ns) != -1) {
            char what [120];
            snprintf (what, sizeof what, "tm_clock_parse accepted '%s'", bad [i]);
            CU_assertImplementation (CU_FALSE, __LINE__, what, __FILE__, "", CU_FALSE);
        }
    }
    int64_t ns;
    CU_ASSERT (tm_clock_parse (NULL, &ns) == -1);
}

static int64_t
s_real_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * S_NS + ts.tv_nsec;
}

//  Wait, against a deadline, until the clock reads later than since; returns that reading
//  or 0 when it never moved.
static int64_t
s_wait_advance (int64_t since, int timeout_ms)
{
    int64_t deadline = tm_tap_deadline (timeout_ms);
    while (zclock_mono () < deadline) {
        int64_t now = tm_clock_now_ns ();
        if (now > since)
            return now;
    }
    return 0;
}

static void
test_fake (void)
{
    char err [256] = "";
    const struct {
        const char *text;
        int64_t start;
    } starts [] = {
        { "1767583800", 1767583800 * S_NS },
        { "2026-01-05T09:15:00+05:30", 1767584700 * S_NS },
        { "2026-01-05T09:15:00Z", 1767604500 * S_NS },
    };
    for (size_t i = 0; i < sizeof starts / sizeof starts [0]; i++) {
        CU_ASSERT (tm_clock_set_fake (starts [i].text, err, sizeof err) == 0);
        CU_ASSERT (tm_clock_is_fake ());
        int64_t now = tm_clock_now_ns ();
        CU_ASSERT (now >= starts [i].start && now < starts [i].start + S_NS);
        //  It runs at the real rate: it moves, and after 50 ms of real time it has moved
        //  about 50 ms
        int64_t later = s_wait_advance (now, 1000);
        CU_ASSERT (later > now);
        int64_t mono_start = zclock_mono ();
        int64_t deadline = tm_tap_deadline (1000);
        while (zclock_mono () - mono_start < 50 && zclock_mono () < deadline)
            ;
        int64_t moved = tm_clock_now_ns () - now;
        CU_ASSERT (moved >= 45 * 1000000 && moved < 1000 * 1000000);
    }

    //  A bad start is refused with a message, and the clock keeps its setting
    err [0] = '\0';
    CU_ASSERT (tm_clock_set_fake ("garbage", err, sizeof err) == -1);
    CU_ASSERT (err [0] != '\0');
    CU_ASSERT (strstr (err, "garbage") != NULL);

    //  NULL restores the real clock, and so does ""
    CU_ASSERT (tm_clock_set_fake (NULL, err, sizeof err) == 0);
    CU_ASSERT (!tm_clock_is_fake ());
    int64_t diff = tm_clock_now_ns () - s_real_ns ();
    CU_ASSERT (diff > -3 * S_NS && diff < 3 * S_NS);
    CU_ASSERT (llabs (tm_clock_now_ns () / S_NS - (int64_t) time (NULL)) <= 3);

    CU_ASSERT (tm_clock_set_fake ("1767583800", err, sizeof err) == 0);
    CU_ASSERT (tm_clock_set_fake ("", err, sizeof err) == 0);
    CU_ASSERT (!tm_clock_is_fake ());
    CU_ASSERT (llabs (tm_clock_now_ns () / S_NS - (int64_t) time (NULL)) <= 3);
}

//  "FAKE@REAL": the fake start stands for a given real instant, so two processes agree
static void
test_anchored (void)
{
    char err [256] = "";
    int64_t real = s_real_ns ();
    char text [96];
    //  The real instant 10.5 s ago was the fake 09:15:00: the clock reads about 09:15:10.5
    snprintf (text, sizeof text, "2026-01-05T09:15:00+05:30@%" PRId64 ".5",
              real / S_NS - 10);
    CU_ASSERT (tm_clock_set_fake (text, err, sizeof err) == 0);
    int64_t want = 1767584700 * S_NS + (real - (real / S_NS - 10) * S_NS) - S_NS / 2;
    int64_t now = tm_clock_now_ns ();
    CU_ASSERT (now >= want && now < want + S_NS);
    int64_t ns;
    CU_ASSERT (tm_clock_parse (text, &ns) == 0 && ns == 1767584700 * S_NS);
    CU_ASSERT (tm_clock_parse ("1767583800@1764700000", &ns) == 0 && ns == 1767583800 * S_NS);
    const char *bad [] = { "1767583800@", "1767583800@x", "1767583800@1.", "1767583800@-5",
                           "1767583800@1.1234567890", "@1764700000", "1767583800@1@2", NULL };
    for (const char **b = bad; *b; b++) {
        CU_ASSERT (tm_clock_parse (*b, &ns) == -1);
        CU_ASSERT (tm_clock_set_fake (*b, err, sizeof err) == -1);
    }
    CU_ASSERT (tm_clock_set_fake (NULL, err, sizeof err) == 0);
}

//  The monotonic clock is not the date and is not moved by a fake start.
static void
test_mono (void)
{
    char err [256];
    int64_t before = tm_clock_mono_ns ();
    CU_ASSERT (tm_clock_set_fake ("1767583800", err, sizeof err) == 0);
    int64_t after = tm_clock_mono_ns ();
    CU_ASSERT (after >= before && after - before < S_NS);
    //  Agrees with CZMQ's monotonic clock to the millisecond, give or take scheduling
    int64_t zmono = zclock_mono ();
    CU_ASSERT (llabs (tm_clock_mono_ns () / 1000000 - zmono) < 1000);
    tm_clock_set_fake (NULL, err, sizeof err);
}

int
tm_clock_tests (void)
{
    CU_pSuite suite = CU_add_suite ("clock", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "parse seconds and ISO 8601", test_parse)
    ||  !CU_add_test (suite, "fake start runs at the real rate", test_fake)
    ||  !CU_add_test (suite, "fake start anchored at a real instant", test_anchored)
    ||  !CU_add_test (suite, "monotonic clock unaffected", test_mono))
        return -1;
    return 0;
}
