//  window - rolling 1 / 10 / 60 s figures (see window.h)

#include "tickmux.h"

#define S_EXACT         32          //  Microseconds counted one bucket each
#define S_SUB_BITS      3           //  8 buckets per doubling above that
#define S_EXP_MAX       36          //  Top doubling (2^36 us, 19 h); larger values land there
#define S_BUCKETS       (S_EXACT + (S_EXP_MAX - 4) * (1 << S_SUB_BITS))

const int tm_window_seconds [TM_WINDOWS] = { 1, 10, 60 };
const double tm_prom_bounds [TM_PROM_BUCKETS] = {
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};

typedef struct {
    int64_t second;                 //  Which second it holds (-1: none)
    uint64_t count;                 //  Samples and tallies
    int64_t max;                    //  Largest sample, ns
    uint32_t buckets [S_BUCKETS];   //  Samples per bucket
} s_slot_t;

struct _tm_window_t {
    s_slot_t slots [TM_WINDOW_SLOTS];
    uint64_t prom [TM_PROM_BUCKETS];    //  Since start, per bound (not cumulative yet)
    uint64_t prom_count;            //  Samples since start
    double prom_sum;                //  Their sum, s
};

tm_window_t *
tm_window_new (void)
{
    tm_window_t *self = (tm_window_t *) zmalloc (sizeof (tm_window_t));
    assert (self);
    for (size_t i = 0; i < TM_WINDOW_SLOTS; i++)
        self->slots [i].second = -1;
    return self;
}

void
tm_window_destroy (tm_window_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

static int
s_bucket (int64_t ns)
{
    uint64_t us = (uint64_t) (ns / 1000);
    if (us < S_EXACT)
        return (int) us;
    int e = 63 - __builtin_clzll (us);          //  us in [2^e, 2^(e+1)), e >= 5
    if (e > S_EXP_MAX)
        return S_BUCKETS - 1;
    int sub = (int) ((us >> (e - S_SUB_BITS)) & ((1 << S_SUB_BITS) - 1));
    int index = S_EXACT + (e - 5) * (1 << S_SUB_BITS) + sub;
    return index < S_BUCKETS ? index : S_BUCKETS - 1;
}

//  The middle of a bucket, ns
static int64_t
s_bucket_value (int index)
{
    if (index < S_EXACT)
        return (int64_t) index * 1000 + 500;
    int e = 5 + (index - S_EXACT) / (1 << S_SUB_BITS);
    int sub = (index - S_EXACT) % (1 << S_SUB_BITS);
    double width = (double) (1ULL << (e - S_SUB_BITS));
    double low = (double) (1ULL << e) + sub * width;
    return (int64_t) ((low + width / 2) * 1000);
}

static s_slot_t *
s_slot (tm_window_t *self, int64_t now)
{
    int64_t second = now / 1000000000;
    s_slot_t *slot = &self->slots [second % TM_WINDOW_SLOTS];
    if (slot->second != second) {
        memset (slot, 0, sizeof *slot);
        slot->second = second;
    }
    return slot;
}

void
tm_window_add (tm_window_t *self, int64_t value_ns, int64_t now)
{
    assert (self);
    if (value_ns < 0)
        value_ns = 0;
    s_slot_t *slot = s_slot (self, now);
    slot->count++;
    slot->buckets [s_bucket (value_ns)]++;
    if (value_ns > slot->max)
        slot->max = value_ns;
    double seconds = (double) value_ns / 1e9;
    for (int i = 0; i < TM_PROM_BUCKETS; i++)
        if (seconds <= tm_prom_bounds [i]) {
            self->prom [i]++;
            break;
        }
    self->prom_count++;
    self->prom_sum += seconds;
}

void
tm_window_tally (tm_window_t *self, uint64_t n, int64_t now)
{
    assert (self);
    s_slot (self, now)->count += n;
}

void
tm_window_quantiles (tm_window_t *self, int seconds, int64_t now, tm_quantiles_t *out)
{
    assert (self && out && seconds >= 1 && seconds < TM_WINDOW_SLOTS);
    memset (out, 0, sizeof *out);
    int64_t current = now / 1000000000;
    uint32_t merged [S_BUCKETS] = { 0 };
    uint64_t samples = 0;
    for (size_t i = 0; i < TM_WINDOW_SLOTS; i++) {
        const s_slot_t *slot = &self->slots [i];
        if (slot->second < current - seconds || slot->second >= current)
            continue;
        out->count += slot->count;
        if (slot->max > out->max)
            out->max = slot->max;
        for (int b = 0; b < S_BUCKETS; b++) {
            merged [b] += slot->buckets [b];
            samples += slot->buckets [b];
        }
    }
    if (samples == 0)
        return;
    uint64_t rank50 = (samples + 1) / 2, rank99 = samples - samples / 100;
    uint64_t seen = 0;
    for (int b = 0; b < S_BUCKETS; b++) {
        if (!merged [b])
            continue;
        if (seen < rank50 && seen + merged [b] >= rank50)
            out->p50 = s_bucket_value (b);
        if (seen < rank99 && seen + merged [b] >= rank99)
            out->p99 = s_bucket_value (b);
        seen += merged [b];
    }
    //  A bucket's middle can pass the largest sample it holds
    if (out->p50 > out->max)
        out->p50 = out->max;
    if (out->p99 > out->max)
        out->p99 = out->max;
}

void
tm_window_histogram (tm_window_t *self, uint64_t buckets [TM_PROM_BUCKETS], uint64_t *count,
                     double *sum_s)
{
    assert (self && buckets && count && sum_s);
    uint64_t cumulative = 0;
    for (int i = 0; i < TM_PROM_BUCKETS; i++) {
        cumulative += self->prom [i];
        buckets [i] = cumulative;
    }
    *count = self->prom_count;
    *sum_s = self->prom_sum;
}
