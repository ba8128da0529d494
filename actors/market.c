//  market - a deterministic simulated market (see market.h)
//
//  Each symbol owns two generators: a walk generator (shared by an index and its future, so
//  NIFTY-I tracks NIFTY 50) and a noise generator of its own (quantities, book, basis). The
//  market's own generator only chooses which symbol ticks next. All are splitmix64 seeded from
//  the seed and the symbol's name, which is why a symbol's path depends on nothing else.

#include "tickmux.h"
#include "market.h"

typedef enum { S_INDEX, S_FUTURE, S_STOCK } s_type_t;

typedef struct {
    const char *symbol;             //  Canonical symbol
    s_type_t type;                  //  Index, index future or stock
    double price;                   //  Previous close, the walk's anchor
    double weight;                  //  How often it ticks, relative
    double sigma;                   //  Per-tick volatility of log price
    const char *underlying;         //  For a future: the index it tracks
    int lot;                        //  Trade quantities come in multiples of this
} s_spec_t;

static const s_spec_t s_universe [] = {
    { "NIFTY-I",        S_FUTURE, 24280.00, 4.0, 0.00018, "NIFTY 50", 75 },
    { "BANKNIFTY-I",    S_FUTURE, 51630.00, 4.0, 0.00024, "NIFTY BANK", 30 },
    { "FINNIFTY-I",     S_FUTURE, 23410.00, 2.0, 0.00022, "NIFTY FIN SERVICE", 65 },
    { "NIFTY 50",       S_INDEX,  24210.00, 4.0, 0.00018, NULL, 0 },
    { "NIFTY BANK",     S_INDEX,  51480.00, 4.0, 0.00024, NULL, 0 },
    { "NIFTY FIN SERVICE", S_INDEX, 23350.00, 2.0, 0.00022, NULL, 0 },
    { "RELIANCE",       S_STOCK,  2935.40, 2.5, 0.00030, NULL, 1 },
    { "TCS",            S_STOCK,  4102.15, 1.5, 0.00028, NULL, 1 },
    { "INFY",           S_STOCK,  1856.70, 1.8, 0.00032, NULL, 1 },
    { "HDFCBANK",       S_STOCK,  1648.25, 2.2, 0.00027, NULL, 1 },
    { "ICICIBANK",      S_STOCK,  1251.80, 2.0, 0.00030, NULL, 1 },
    { "SBIN",           S_STOCK,   821.35, 2.0, 0.00035, NULL, 1 },
    { "ITC",            S_STOCK,   468.90, 1.5, 0.00025, NULL, 1 },
    { "LT",             S_STOCK,  3605.00, 1.2, 0.00030, NULL, 1 },
    { "AXISBANK",       S_STOCK,  1149.60, 1.4, 0.00033, NULL, 1 },
    { "KOTAKBANK",      S_STOCK,  1752.05, 1.2, 0.00030, NULL, 1 },
    { "BHARTIARTL",     S_STOCK,  1548.45, 1.2, 0.00029, NULL, 1 },
    { "HINDUNILVR",     S_STOCK,  2398.10, 0.9, 0.00024, NULL, 1 },
    { "BAJFINANCE",     S_STOCK,  7195.55, 1.0, 0.00038, NULL, 1 },
    { "MARUTI",         S_STOCK, 12488.00, 0.8, 0.00028, NULL, 1 },
    { "TATAMOTORS",     S_STOCK,   948.70, 1.6, 0.00040, NULL, 1 },
    { "WIPRO",          S_STOCK,   561.20, 0.9, 0.00031, NULL, 1 },
    { "SUNPHARMA",      S_STOCK,  1801.35, 0.8, 0.00027, NULL, 1 },
    { "TITAN",          S_STOCK,  3402.90, 0.8, 0.00030, NULL, 1 },
    { "ASIANPAINT",     S_STOCK,  2895.00, 0.7, 0.00026, NULL, 1 },
};
#define S_UNIVERSE  (sizeof s_universe / sizeof s_universe [0])
#define S_TICK_SIZE 0.05
#define S_REVERSION 0.0008          //  Pull of the log price back to the anchor, per tick

typedef struct {
    const s_spec_t *spec;           //  What this symbol is
    char token [TM_TOKEN_MAX];      //  Provider's id for it
    uint64_t walk;                  //  Walk generator state
    uint64_t noise;                 //  Noise generator state
    double x;                       //  Log of the walk's price, relative to the anchor
    double vol;                     //  Volatility regime multiplier (clusters big moves)
    double last;                    //  Last price
    double open, high, low;         //  Day so far
    int64_t volume;                 //  Cumulative volume
    int64_t oi;                     //  Open interest
    uint64_t seq;                   //  Ticks so far (src_seq)
} s_symbol_t;

struct _tm_market_t {
    uint64_t chooser;               //  Generator that picks the next symbol
    size_t size;                    //  Symbols in this market
    s_symbol_t symbols [S_UNIVERSE];
    double cumulative [S_UNIVERSE]; //  Running sum of weights, for picking
};

static uint64_t
s_next (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

//  Uniform in (0, 1)
static double
s_uniform (uint64_t *state)
{
    return ((double) (s_next (state) >> 11) + 0.5) / 9007199254740992.0;
}

//  Standard normal (Box-Muller; one value per call keeps the stream simple to replay)
static double
s_normal (uint64_t *state)
{
    double u1 = s_uniform (state), u2 = s_uniform (state);
    return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}

static uint64_t
s_hash (uint64_t seed, const char *text)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (; *text; text++)
        h = (h ^ (unsigned char) *text) * 1099511628211ULL;
    uint64_t state = h;
    return s_next (&state);
}

static double
s_round_tick (double price)
{
    double p = round (price / S_TICK_SIZE) * S_TICK_SIZE;
    return p < S_TICK_SIZE ? S_TICK_SIZE : round (p * 100.0) / 100.0;
}

size_t
tm_market_universe_size (void)
{
    return S_UNIVERSE;
}

const char *
tm_market_universe_symbol (size_t index)
{
    return index < S_UNIVERSE ? s_universe [index].symbol : NULL;
}

tm_market_t *
tm_market_new (uint64_t seed, size_t symbols)
{
    tm_market_t *self = (tm_market_t *) zmalloc (sizeof (tm_market_t));
    assert (self);
    self->size = (symbols == 0 || symbols > S_UNIVERSE) ? S_UNIVERSE : symbols;
    self->chooser = s_hash (seed, "chooser");
    double sum = 0;
    for (size_t i = 0; i < self->size; i++) {
        s_symbol_t *s = &self->symbols [i];
        s->spec = &s_universe [i];
        snprintf (s->token, sizeof s->token, "SIM-%u", (unsigned) (i + 1) % 100000u);
        //  A future walks with its index: same walk seed, its own noise.
        s->walk = s_hash (seed, s->spec->underlying ? s->spec->underlying : s->spec->symbol);
        s->noise = s_hash (seed ^ 0x5eed, s->spec->symbol);
        s->vol = 1.0;
        //  The day opens a little away from the previous close.
        double gap = 0.004 * s_normal (&s->noise);
        s->x = gap;
        s->last = s->open = s->high = s->low = s_round_tick (s->spec->price * exp (gap));
        s->oi = s->spec->type == S_FUTURE
              ? (int64_t) (8000000 + 4000000 * s_uniform (&s->noise)) / s->spec->lot * s->spec->lot
              : 0;
        sum += s->spec->weight;
        self->cumulative [i] = sum;
    }
    return self;
}

void
tm_market_destroy (tm_market_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

size_t
tm_market_size (tm_market_t *self)
{
    return self->size;
}

const char *
tm_market_symbol (tm_market_t *self, size_t index)
{
    assert (index < self->size);
    return self->symbols [index].spec->symbol;
}

static void
s_fill_book (s_symbol_t *s, tm_tick_t *tick)
{
    //  The spread is one or two ticks, the last trade at one side of it.
    double spread = S_TICK_SIZE * (1 + (s_next (&s->noise) % 2));
    double bid = s_next (&s->noise) % 2 ? s->last : s->last - spread;
    if (bid < S_TICK_SIZE)
        bid = S_TICK_SIZE;
    double ask = bid + spread;
    int unit = s->spec->lot > 1 ? s->spec->lot : 1;
    for (int i = 0; i < TM_DEPTH_MAX; i++) {
        tick->bids [i].price = s_round_tick (bid - i * S_TICK_SIZE);
        tick->bids [i].quantity = unit * (int64_t) (1 + s_next (&s->noise) % (s->spec->lot > 1 ? 40 : 900));
        tick->bids [i].orders = (int32_t) (1 + s_next (&s->noise) % 25);
        tick->asks [i].price = s_round_tick (ask + i * S_TICK_SIZE);
        tick->asks [i].quantity = unit * (int64_t) (1 + s_next (&s->noise) % (s->spec->lot > 1 ? 40 : 900));
        tick->asks [i].orders = (int32_t) (1 + s_next (&s->noise) % 25);
    }
    tick->bid_levels = tick->ask_levels = TM_DEPTH_MAX;
    tick->bid_price = tick->bids [0].price;
    tick->bid_quantity = tick->bids [0].quantity;
    tick->ask_price = tick->asks [0].price;
    tick->ask_quantity = tick->asks [0].quantity;
}

void
tm_market_next (tm_market_t *self, tm_tick_t *tick, int64_t now_ns)
{
    assert (self && tick);
    double pick = s_uniform (&self->chooser) * self->cumulative [self->size - 1];
    size_t i = 0;
    while (i + 1 < self->size && self->cumulative [i] < pick)
        i++;
    s_symbol_t *s = &self->symbols [i];
    const s_spec_t *spec = s->spec;

    //  Volatility clusters: the regime drifts back to 1 and jumps now and then.
    s->vol += 0.02 * (1.0 - s->vol) + 0.08 * fabs (s_normal (&s->walk)) - 0.064;
    if (s->vol < 0.3)
        s->vol = 0.3;
    double z = s_normal (&s->walk);
    s->x += -S_REVERSION * s->x + spec->sigma * s->vol * z;
    double price = spec->price * exp (s->x);
    if (spec->type == S_FUTURE)         //  Carry of a near-month future, plus a little noise
        price *= 1.0028 + 0.00005 * s_normal (&s->noise);
    s->last = s_round_tick (price);
    if (s->last > s->high)
        s->high = s->last;
    if (s->last < s->low)
        s->low = s->last;
    s->seq++;

    memset (tick, 0, sizeof *tick);
    //  Both fit: the universe is ours, and tokens are "SIM-<n>".
    memcpy (tick->symbol, spec->symbol, strlen (spec->symbol) + 1);
    memcpy (tick->token, s->token, sizeof s->token);
    tick->src_seq = s->seq;
    tick->last_price = s->last;
    tick->open = s->open;
    tick->high = s->high;
    tick->low = s->low;
    tick->close = s_round_tick (spec->price);
    tick->exchange_ts = now_ns;
    tick->fields = TM_TICK_QUOTE;
    if (spec->type != S_INDEX) {
        //  Trade sizes: mostly small, now and then a block.
        double u = s_uniform (&s->noise);
        int64_t lots = 1 + (int64_t) (-log (u) * (spec->type == S_FUTURE ? 3.0 : 60.0));
        tick->last_quantity = lots * (spec->lot > 0 ? spec->lot : 1);
        s->volume += tick->last_quantity;
        tick->volume = s->volume;
        tick->fields |= TM_TICK_BOOK | TM_TICK_DEPTH;
        s_fill_book (s, tick);
    }
    if (spec->type == S_FUTURE) {
        s->oi += spec->lot * ((int64_t) (s_next (&s->noise) % 21) - 10);
        if (s->oi < spec->lot)
            s->oi = spec->lot;
        tick->oi = s->oi;
        tick->fields |= TM_TICK_OI;
    }
}
