//  test_window - rolling 1 / 10 / 60 s figures on scripted samples

#include "tickmux.h"
#include "tap.h"

#define SEC 1000000000LL
#define MS  1000000LL

static bool
s_near (int64_t got, int64_t want)
{
    return llabs (got - want) <= want / 16 + 1000;      //  6.25 %, or a microsecond
}

static void
test_quantiles (void)
{
    tm_window_t *w = tm_window_new ();
    int64_t t0 = 1000 * SEC;
    //  Second 1000: 100 samples, 1 ms .. 100 ms
    for (int i = 1; i <= 100; i++)
        tm_window_add (w, i * MS, t0 + i * MS);
    tm_quantiles_t q;
    //  Still in that second: the 1 s window is the second before, empty
    tm_window_quantiles (w, 1, t0 + 500 * MS, &q);
    CU_ASSERT (q.count == 0 && q.p50 == 0 && q.max == 0);
    tm_window_quantiles (w, 1, t0 + SEC, &q);
    CU_ASSERT (q.count == 100);
    CU_ASSERT (s_near (q.p50, 50 * MS));
    CU_ASSERT (s_near (q.p99, 99 * MS));
    CU_ASSERT (q.max == 100 * MS);
    //  A second later the 1 s window has moved past them; 10 s and 60 s still hold them
    tm_window_quantiles (w, 1, t0 + 2 * SEC, &q);
    CU_ASSERT (q.count == 0);
    tm_window_quantiles (w, 10, t0 + 2 * SEC, &q);
    CU_ASSERT (q.count == 100 && s_near (q.p50, 50 * MS));
    tm_window_quantiles (w, 60, t0 + 60 * SEC, &q);
    CU_ASSERT (q.count == 100);
    tm_window_quantiles (w, 60, t0 + 61 * SEC, &q);
    CU_ASSERT (q.count == 0);
    //  A slot reused 61 s later holds only the new second
    tm_window_add (w, 7 * MS, t0 + 61 * SEC);
    tm_window_quantiles (w, 1, t0 + 62 * SEC, &q);
    CU_ASSERT (q.count == 1 && q.max == 7 * MS && s_near (q.p50, 7 * MS));
    tm_window_destroy (&w);
    tm_window_destroy (&w);
}

static void
test_ranges (void)
{
    tm_window_t *w = tm_window_new ();
    int64_t t = 5 * SEC;
    //  Microseconds exact, seconds and hours within a bucket, negatives as 0
    const int64_t values [] = { 3000, 250 * MS, 2500 * MS, 3600 * SEC, 40LL * 3600 * SEC };
    for (size_t i = 0; i < sizeof values / sizeof values [0]; i++) {
        tm_window_t *one = tm_window_new ();
        tm_window_add (one, values [i], t);
        tm_quantiles_t q;
        tm_window_quantiles (one, 1, t + SEC, &q);
        CU_ASSERT (q.count == 1 && q.max == values [i]);
        CU_ASSERT (i == 4 || s_near (q.p50, values [i]));
        tm_window_destroy (&one);
    }
    tm_window_add (w, -5 * MS, t);
    tm_quantiles_t q;
    tm_window_quantiles (w, 1, t + SEC, &q);
    CU_ASSERT (q.count == 1 && q.max == 0 && q.p50 == 0);
    //  Tallies count, without values
    tm_window_tally (w, 40, t);
    tm_window_tally (w, 2, t + 100 * MS);
    tm_window_quantiles (w, 1, t + SEC, &q);
    CU_ASSERT (q.count == 43);
    tm_window_destroy (&w);
}

static void
test_histogram (void)
{
    tm_window_t *w = tm_window_new ();
    tm_window_add (w, 50 * 1000, 0);             //  50 us
    tm_window_add (w, 3 * MS, 0);
    tm_window_add (w, 3 * MS, 2 * SEC);
    tm_window_add (w, 20 * SEC, 3 * SEC);        //  Past every bound: only in +Inf
    uint64_t buckets [TM_PROM_BUCKETS];
    uint64_t count;
    double sum;
    tm_window_histogram (w, buckets, &count, &sum);
    CU_ASSERT (count == 4);
    CU_ASSERT (fabs (sum - 20.00605) < 1e-9);
    CU_ASSERT (buckets [0] == 1);                //  <= 0.1 ms
    CU_ASSERT (buckets [3] == 1);                //  <= 2.5 ms
    CU_ASSERT (buckets [4] == 3);                //  <= 5 ms
    CU_ASSERT (buckets [TM_PROM_BUCKETS - 1] == 3);
    for (int i = 1; i < TM_PROM_BUCKETS; i++)
        CU_ASSERT (buckets [i] >= buckets [i - 1] && tm_prom_bounds [i] > tm_prom_bounds [i - 1]);
    tm_window_destroy (&w);
}

int
tm_window_tests (void)
{
    CU_pSuite suite = CU_add_suite ("window", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "quantiles over 1, 10 and 60 whole seconds", test_quantiles)
    ||  !CU_add_test (suite, "from microseconds to hours; tallies", test_ranges)
    ||  !CU_add_test (suite, "since-start Prometheus buckets", test_histogram))
        return -1;
    return 0;
}
