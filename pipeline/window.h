//  window - a figure over the last 1, 10 and 60 seconds: latency quantiles, counts, rates
//
//  A plain class: samples (latencies, in ns) or tallies (counts) go into one-second slots,
//  60 of them in a ring, each a log-linear histogram (exact below 32 us, then 8 buckets per
//  doubling: a quantile is within 6.25 % of the truth; the max is exact). A window of N s is
//  the N whole seconds before the current one, so its figures are stable and lag by up to a
//  second. Since-start cumulative buckets at fixed bounds serve Prometheus histograms.
//  Time is passed in (monotonic ns), so it is tested without waiting.

#ifndef TM_WINDOW_H_INCLUDED
#define TM_WINDOW_H_INCLUDED

#define TM_WINDOWS          3       //  1 s, 10 s, 60 s
#define TM_WINDOW_SLOTS     61      //  60 whole seconds and the current one
#define TM_PROM_BUCKETS     14      //  Fixed bounds of the Prometheus histogram

//  The windows' lengths in seconds, and the Prometheus bucket bounds in seconds
extern const int tm_window_seconds [TM_WINDOWS];
extern const double tm_prom_bounds [TM_PROM_BUCKETS];

typedef struct {
    uint64_t count;                 //  Samples (or the tally) in the window
    int64_t p50;                    //  ns; 0 without samples
    int64_t p99;
    int64_t max;
} tm_quantiles_t;

typedef struct _tm_window_t tm_window_t;

//  Caller owns return value and must destroy it when done.
tm_window_t *
    tm_window_new (void);

//  Destroy and set *self_p to NULL. Safe on NULL and when repeated.
void
    tm_window_destroy (tm_window_t **self_p);

//  A latency sample (ns; a negative one counts as 0: clocks of two machines can disagree).
void
    tm_window_add (tm_window_t *self, int64_t value_ns, int64_t now);

//  A tally of n events (no value), for rates.
void
    tm_window_tally (tm_window_t *self, uint64_t n, int64_t now);

//  The figures of the window of seconds (1, 10 or 60) as of now.
void
    tm_window_quantiles (tm_window_t *self, int seconds, int64_t now, tm_quantiles_t *out);

//  Since start: samples at or under each of tm_prom_bounds (cumulative), their count and
//  their sum in seconds.
void
    tm_window_histogram (tm_window_t *self, uint64_t buckets [TM_PROM_BUCKETS],
                         uint64_t *count, double *sum_s);

#endif
