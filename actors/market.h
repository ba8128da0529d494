//  market - a deterministic simulated market (a plain class the sim actor wraps)
//
//  Prices follow a geometric random walk with a slow pull back to the day's anchor, on the
//  exchange's tick size, with per-symbol volatility; index futures move with their index;
//  volume and open interest accumulate, OHLC is tracked, and a five-level book sits around the
//  last price. The path of each symbol depends only on the seed and the symbol, never on
//  timing or on which other symbols are enabled, so a seed replays exactly.

#ifndef TM_MARKET_H_INCLUDED
#define TM_MARKET_H_INCLUDED

typedef struct _tm_market_t tm_market_t;

//  Symbols of the built-in universe, in order (at least 20, NIFTY-I first).
size_t
    tm_market_universe_size (void);
const char *
    tm_market_universe_symbol (size_t index);

//  Create a market over the first `symbols` symbols of the universe (0 or more than the
//  universe: all). Caller owns return value and must destroy it when done.
tm_market_t *
    tm_market_new (uint64_t seed, size_t symbols);

void
    tm_market_destroy (tm_market_t **self_p);

//  Number of symbols in this market, and the name of symbol i (borrowed).
size_t
    tm_market_size (tm_market_t *self);
const char *
    tm_market_symbol (tm_market_t *self, size_t index);

//  Advance the market by one tick on a symbol chosen by the market's own generator (liquid
//  symbols tick more often) and write it into tick: symbol, token, src_seq and all prices;
//  exchange_ts = now_ns. The tick is cleared first, so stream, provider, seq and the pipeline
//  timestamps are left to the caller (the market does not know its instance name).
void
    tm_market_next (tm_market_t *self, tm_tick_t *tick, int64_t now_ns);

#endif
