//  test_market - the simulated market: its universe, replay by seed, the independence of
//  one symbol's path from the others, and prices that look like a market's

#include "tickmux.h"
#include "market.h"
#include "tap.h"

static void
s_fail_text (const char *what, unsigned int line)
{
    CU_assertImplementation (CU_FALSE, line, what, __FILE__, "", CU_FALSE);
}

//  Field by field, timestamps left out; the name of the first field that differs, or NULL.
static const char *
s_diff (const tm_tick_t *a, const tm_tick_t *b)
{
    if (strcmp (a->provider, b->provider))      return "provider";
    if (strcmp (a->symbol, b->symbol))          return "symbol";
    if (strcmp (a->token, b->token))            return "token";
    if (a->src_seq != b->src_seq)               return "src_seq";
    if (a->fields != b->fields)                 return "fields";
    if (a->last_price != b->last_price)         return "last_price";
    if (a->last_quantity != b->last_quantity)   return "last_quantity";
    if (a->volume != b->volume)                 return "volume";
    if (a->open != b->open)                     return "open";
    if (a->high != b->high)                     return "high";
    if (a->low != b->low)                       return "low";
    if (a->close != b->close)                   return "close";
    if (a->oi != b->oi)                         return "oi";
    if (a->bid_price != b->bid_price)           return "bid_price";
    if (a->bid_quantity != b->bid_quantity)     return "bid_quantity";
    if (a->ask_price != b->ask_price)           return "ask_price";
    if (a->ask_quantity != b->ask_quantity)     return "ask_quantity";
    if (a->bid_levels != b->bid_levels)         return "bid_levels";
    if (a->ask_levels != b->ask_levels)         return "ask_levels";
    for (int i = 0; i < a->bid_levels && i < TM_DEPTH_MAX; i++)
        if (a->bids [i].price != b->bids [i].price || a->bids [i].quantity != b->bids [i].quantity
        ||  a->bids [i].orders != b->bids [i].orders)
            return "bids";
    for (int i = 0; i < a->ask_levels && i < TM_DEPTH_MAX; i++)
        if (a->asks [i].price != b->asks [i].price || a->asks [i].quantity != b->asks [i].quantity
        ||  a->asks [i].orders != b->asks [i].orders)
            return "asks";
    return NULL;
}

//  Index of symbol in the market, or -1.
static int
s_index_of (tm_market_t *market, const char *symbol)
{
    for (size_t i = 0; i < tm_market_size (market); i++)
        if (strcmp (tm_market_symbol (market, i), symbol) == 0)
            return (int) i;
    return -1;
}

static bool
s_on_tick (double price)
{
    double steps = price * 20.0;
    return fabs (steps - round (steps)) < 1e-6;
}

static void
test_universe (void)
{
    size_t size = tm_market_universe_size ();
    CU_ASSERT_FATAL (size >= 20);
    CU_ASSERT_STRING_EQUAL (tm_market_universe_symbol (0), "NIFTY-I");
    static const char *required [] = { "NIFTY-I", "BANKNIFTY-I", "NIFTY 50", "NIFTY BANK",
                                       "RELIANCE", NULL };
    for (size_t r = 0; required [r]; r++) {
        bool found = false;
        for (size_t i = 0; i < size && !found; i++)
            found = strcmp (tm_market_universe_symbol (i), required [r]) == 0;
        if (!found)
            s_fail_text (required [r], __LINE__);
    }
    //  Names are unique, fit TM_SYMBOL_MAX and can be put in a topic
    for (size_t i = 0; i < size; i++) {
        const char *a = tm_market_universe_symbol (i);
        CU_ASSERT (a && a [0] && strlen (a) < TM_SYMBOL_MAX && !strchr (a, TM_SYMBOL_END));
        for (size_t k = i + 1; k < size; k++)
            if (strcmp (a, tm_market_universe_symbol (k)) == 0)
                s_fail_text (a, __LINE__);
    }

    tm_market_t *all = tm_market_new (1, 0);
    tm_market_t *five = tm_market_new (1, 5);
    tm_market_t *more = tm_market_new (1, size + 10);
    CU_ASSERT_FATAL (all && five && more);
    CU_ASSERT (tm_market_size (all) == size);
    CU_ASSERT (tm_market_size (five) == 5);
    CU_ASSERT (tm_market_size (more) == size);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL (tm_market_symbol (five, i), tm_market_universe_symbol (i));
    //  A market of five only ever ticks those five
    tm_tick_t tick;
    for (int i = 0; i < 2000; i++) {
        tm_market_next (five, &tick, 0);
        if (s_index_of (five, tick.symbol) < 0) {
            s_fail_text (tick.symbol, __LINE__);
            break;
        }
    }
    tm_market_destroy (&all);
    tm_market_destroy (&five);
    tm_market_destroy (&more);
    CU_ASSERT (all == NULL);
    tm_market_destroy (&all);
}

//  The same seed replays the same ticks, whatever the clock says.
static void
test_same_seed (void)
{
    tm_market_t *a = tm_market_new (42, 0);
    tm_market_t *b = tm_market_new (42, 0);
    CU_ASSERT_FATAL (a && b);
    for (int i = 0; i < 10000; i++) {
        tm_tick_t ta, tb;
        int64_t now_a = 1767584700000000000LL + (int64_t) i * 1000000;
        int64_t now_b = 1767000000000000000LL + (int64_t) i * 7777777;
        tm_market_next (a, &ta, now_a);
        tm_market_next (b, &tb, now_b);
        const char *field = s_diff (&ta, &tb);
        if (field) {
            char what [120];
            snprintf (what, sizeof what, "tick %d differs in %s for the same seed", i, field);
            s_fail_text (what, __LINE__);
            break;
        }
        if (ta.exchange_ts != now_a || tb.exchange_ts != now_b) {
            s_fail_text ("exchange_ts is not the now_ns given", __LINE__);
            break;
        }
    }
    tm_market_destroy (&a);
    tm_market_destroy (&b);
}

static void
test_other_seed (void)
{
    tm_market_t *a = tm_market_new (1, 0);
    tm_market_t *b = tm_market_new (2, 0);
    CU_ASSERT_FATAL (a && b);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        tm_tick_t ta, tb;
        tm_market_next (a, &ta, 0);
        tm_market_next (b, &tb, 0);
        if (s_diff (&ta, &tb))
            differ++;
    }
    //  Not one lucky difference: nearly every tick differs
    CU_ASSERT (differ > 900);
    tm_market_destroy (&a);
    tm_market_destroy (&b);

    //  The first NIFTY-I prices differ too, not just the order symbols come in
    a = tm_market_new (1, 1);
    b = tm_market_new (2, 1);
    tm_tick_t ta, tb;
    differ = 0;
    for (int i = 0; i < 100; i++) {
        tm_market_next (a, &ta, 0);
        tm_market_next (b, &tb, 0);
        differ += ta.last_price != tb.last_price;
    }
    CU_ASSERT (differ > 50);
    tm_market_destroy (&a);
    tm_market_destroy (&b);
}

//  Collect the first n ticks of symbol from a market of `symbols` symbols.
static size_t
s_collect (uint64_t seed, size_t symbols, const char *symbol, tm_tick_t *out, size_t n)
{
    tm_market_t *market = tm_market_new (seed, symbols);
    assert (market);
    size_t got = 0;
    for (int i = 0; i < 200000 && got < n; i++) {
        tm_tick_t tick;
        tm_market_next (market, &tick, i);
        if (strcmp (tick.symbol, symbol) == 0)
            out [got++] = tick;
    }
    tm_market_destroy (&market);
    return got;
}

//  A symbol's path is the same whichever other symbols are enabled: the k-th NIFTY-I tick
//  (src_seq k) of a market of every symbol equals that of a market of five, or of one.
static void
test_path_independent (void)
{
    const size_t n = 500;
    tm_tick_t *all = calloc (n, sizeof *all);
    tm_tick_t *some = calloc (n, sizeof *some);
    assert (all && some);
    const struct {
        const char *symbol;
        size_t symbols;
    } cases [] = { { "NIFTY-I", 5 }, { "NIFTY-I", 1 }, { "RELIANCE", 0 } };
    CU_ASSERT_FATAL (s_collect (7, 0, "NIFTY-I", all, n) == n);
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        size_t symbols = cases [c].symbols;
        if (symbols == 0) {
            //  RELIANCE: every symbol against just enough to include it
            tm_market_t *probe = tm_market_new (7, 0);
            symbols = (size_t) s_index_of (probe, "RELIANCE") + 1;
            tm_market_destroy (&probe);
            CU_ASSERT_FATAL (s_collect (7, 0, "RELIANCE", all, n) == n);
        }
        CU_ASSERT_FATAL (s_collect (7, symbols, cases [c].symbol, some, n) == n);
        for (size_t k = 0; k < n; k++) {
            const char *field = s_diff (&all [k], &some [k]);
            if (!field && all [k].src_seq != k + 1)
                field = "src_seq is not k + 1";
            if (field) {
                char what [160];
                snprintf (what, sizeof what, "%s tick %zu differs in %s between all symbols "
                          "and the first %zu", cases [c].symbol, k, field, symbols);
                s_fail_text (what, __LINE__);
                break;
            }
        }
    }
    free (all);
    free (some);
}

typedef struct {
    size_t ticks;                   //  Ticks of the symbol so far
    uint64_t last_src_seq;          //  src_seq of its previous tick
    double start;                   //  Its first last_price
    double min, max;                //  Range of last_price
    size_t moves;                   //  Ticks whose price differs from the one before
    double last;                    //  Previous last_price
    int64_t volume;                 //  Previous volume
} s_track_t;

//  100 000 ticks: every price positive and on the 0.05 grid, OHLC and book consistent,
//  volume cumulative, and prices that move but stay in a plausible band.
static void
test_invariants (void)
{
    tm_market_t *market = tm_market_new (1, 0);
    CU_ASSERT_FATAL (market != NULL);
    size_t size = tm_market_size (market);
    s_track_t *track = calloc (size, sizeof *track);
    assert (track);
    int nifty = s_index_of (market, "NIFTY-I");
    int index = s_index_of (market, "NIFTY 50");
    CU_ASSERT_FATAL (nifty >= 0 && index >= 0);
    double ratio = 0;               //  NIFTY-I over NIFTY 50 at the start
    double worst_ratio = 0;         //  Largest relative drift of that ratio
    int failures = 0;
    size_t with_provider = 0;       //  Ticks the market wrongly named a provider on
    char what [200];

    for (int i = 0; i < 100000 && failures < 5; i++) {
        tm_tick_t t;
        tm_market_next (market, &t, 1767584700000000000LL + i);
        int s = s_index_of (market, t.symbol);
        if (s < 0) {
            snprintf (what, sizeof what, "tick %d: symbol '%s' not in the market", i, t.symbol);
            s_fail_text (what, __LINE__);
            failures++;
            continue;
        }
        s_track_t *tr = &track [s];
        const char *bad = NULL;
        if (t.provider [0] || t.stream [0])
            with_provider++;
        if (!t.token [0])
            bad = "no token";
        else
        if (t.src_seq != tr->last_src_seq + 1)
            bad = "src_seq is not the symbol's previous + 1";
        else
        if (!(t.last_price > 0) || !s_on_tick (t.last_price))
            bad = "last_price not positive on the 0.05 grid";
        else
        if (!(t.fields & TM_TICK_QUOTE))
            bad = "no QUOTE group";
        else
        if (!(t.open > 0 && t.high > 0 && t.low > 0 && t.close > 0)
        ||  !s_on_tick (t.open) || !s_on_tick (t.high) || !s_on_tick (t.low)
        ||  !s_on_tick (t.close))
            bad = "OHLC not positive on the 0.05 grid";
        else
        if (!(t.high >= t.last_price && t.last_price >= t.low))
            bad = "not high >= last >= low";
        else
        if (!(t.high >= t.open && t.open >= t.low))
            bad = "not high >= open >= low";
        else
        if (t.volume < tr->volume || t.last_quantity < 0)
            bad = "volume went down";
        else
        if ((t.fields & TM_TICK_BOOK)
        &&  !(t.bid_price > 0 && t.bid_price < t.ask_price && s_on_tick (t.bid_price)
              && s_on_tick (t.ask_price) && t.bid_quantity > 0 && t.ask_quantity > 0))
            bad = "book not bid < ask, positive, on the grid";
        else
        if ((t.fields & TM_TICK_OI) && t.oi <= 0)
            bad = "open interest not positive";
        if (!bad && (t.fields & TM_TICK_DEPTH)) {
            if (t.bid_levels == 0 || t.bid_levels > TM_DEPTH_MAX || t.ask_levels == 0
            ||  t.ask_levels > TM_DEPTH_MAX)
                bad = "depth levels out of range";
            for (int l = 0; !bad && l < t.bid_levels; l++)
                if (!(t.bids [l].price > 0) || !s_on_tick (t.bids [l].price)
                ||  t.bids [l].quantity <= 0
                ||  (l > 0 && !(t.bids [l].price < t.bids [l - 1].price)))
                    bad = "bids not positive, on the grid, best first";
            for (int l = 0; !bad && l < t.ask_levels; l++)
                if (!s_on_tick (t.asks [l].price) || t.asks [l].quantity <= 0
                ||  (l > 0 && !(t.asks [l].price > t.asks [l - 1].price)))
                    bad = "asks not on the grid, best first";
            if (!bad && !(t.bids [0].price < t.asks [0].price))
                bad = "depth crossed";
        }
        if (bad) {
            snprintf (what, sizeof what, "tick %d (%s src_seq %" PRIu64 " last %.4f): %s", i,
                      t.symbol, t.src_seq, t.last_price, bad);
            s_fail_text (what, __LINE__);
            failures++;
        }
        if (tr->ticks == 0)
            tr->start = tr->min = tr->max = t.last_price;
        else
        if (t.last_price != tr->last)
            tr->moves++;
        tr->ticks++;
        tr->last_src_seq = t.src_seq;
        tr->last = t.last_price;
        tr->volume = t.volume;
        if (t.last_price < tr->min)
            tr->min = t.last_price;
        if (t.last_price > tr->max)
            tr->max = t.last_price;
        //  The future follows its index
        if (track [nifty].ticks && track [index].ticks) {
            double now_ratio = track [nifty].last / track [index].last;
            if (ratio == 0)
                ratio = now_ratio;
            double drift = fabs (now_ratio / ratio - 1.0);
            if (drift > worst_ratio)
                worst_ratio = drift;
        }
    }
    for (size_t s = 0; s < size; s++) {
        s_track_t *tr = &track [s];
        const char *symbol = tm_market_symbol (market, s);
        if (tr->ticks == 0) {
            snprintf (what, sizeof what, "%s never ticked in 100 000 ticks", symbol);
            s_fail_text (what, __LINE__);
            continue;
        }
        if (tr->ticks >= 200 && tr->moves < tr->ticks / 20) {
            snprintf (what, sizeof what, "%s moved %zu times in %zu ticks", symbol, tr->moves,
                      tr->ticks);
            s_fail_text (what, __LINE__);
        }
        if (tr->min < tr->start * 0.8 || tr->max > tr->start * 1.2) {
            snprintf (what, sizeof what, "%s left +-20%% of %.2f: %.2f .. %.2f", symbol,
                      tr->start, tr->min, tr->max);
            s_fail_text (what, __LINE__);
        }
    }
    //  market.h: the tick is cleared first; stream and provider are left to the caller
    if (with_provider) {
        snprintf (what, sizeof what, "%zu of 100 000 ticks carry a stream or provider",
                  with_provider);
        s_fail_text (what, __LINE__);
    }
    if (worst_ratio > 0.02) {
        snprintf (what, sizeof what, "NIFTY-I / NIFTY 50 drifted %.2f%% from its start",
                  worst_ratio * 100);
        s_fail_text (what, __LINE__);
    }
    free (track);
    tm_market_destroy (&market);
}

int
tm_market_tests (void)
{
    CU_pSuite suite = CU_add_suite ("market", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "universe and market sizes", test_universe)
    ||  !CU_add_test (suite, "same seed, same ticks", test_same_seed)
    ||  !CU_add_test (suite, "other seed, other ticks", test_other_seed)
    ||  !CU_add_test (suite, "a symbol's path ignores the others", test_path_independent)
    ||  !CU_add_test (suite, "100 000 ticks look like a market", test_invariants))
        return -1;
    return 0;
}
