//  kite_instruments - Kite's instrument dump and the canonical symbols tickmux gives them
//
//  A plain module that actors/zerodha wraps. Parses the CSV of GET /instruments with libcsv
//  (names may be quoted: kite.md fixtures README), and resolves what clients ask for:
//    "RELIANCE"          NSE equity of that tradingsymbol
//    "NIFTY 50"          an index (segment INDICES) of that tradingsymbol
//    "NIFTY-I", "-II"    the nearest (next) NFO future of the underlying NIFTY whose expiry is
//                        today or later, "today" being the injectable clock's date in IST;
//                        BANKNIFTY-I, FINNIFTY-I likewise
//    "NIFTY24012521500CE"  an NFO option by name, expiry (YYMMDD), strike and type, as
//                        TrueData names it (truedata.md 4), so both providers agree
//    "NSE:INFY"          EXCHANGE:TRADINGSYMBOL, any exchange
//  and the reverse, token -> canonical symbol, for the ticks.

#ifndef TM_KITE_INSTRUMENTS_H_INCLUDED
#define TM_KITE_INSTRUMENTS_H_INCLUDED

#define TM_KITE_CSV_MAX         (64 * 1024 * 1024)  //  Largest dump accepted
#define TM_KITE_FIELD_MAX       64                  //  Longest text field kept

typedef struct {
    uint32_t instrument_token;      //  Id on the WebSocket
    uint32_t exchange_token;        //  Exchange's id
    char tradingsymbol [TM_KITE_FIELD_MAX];     //  Kite's name: INFY, NIFTY24JANFUT
    char name [TM_KITE_FIELD_MAX];  //  Underlying or company name, may be ""
    char exchange [8];              //  NSE, BSE, NFO, BFO, CDS, BCD, MCX
    char segment [16];              //  NSE, NFO-FUT, INDICES, ...
    char instrument_type [8];       //  EQ, FUT, CE, PE
    int32_t expiry;                 //  Days since 1970-01-01, -1 for none
    double strike;                  //  0 for non-options
    double tick_size;               //  E.g. 0.05
    int32_t lot_size;               //  Contract size
} tm_kite_instrument_t;

typedef struct _tm_kite_instruments_t tm_kite_instruments_t;

//  Caller owns return value and must destroy it when done.
tm_kite_instruments_t *
    tm_kite_instruments_new (void);

void
    tm_kite_instruments_destroy (tm_kite_instruments_t **self_p);

//  Replace the contents with a CSV dump (header line first, columns in kite.md 4 order; the
//  header is checked). Rows that do not parse, repeat a token or an EXCHANGE:TRADINGSYMBOL, or
//  come after TM_UNIVERSE_MAX kept rows are skipped and counted in *rejected. Returns 0,
//  or -1 with err naming the line and column when the header is wrong, the data is larger than
//  TM_KITE_CSV_MAX, or no row parses. now_ns (injectable clock) fixes "today" for the
//  continuous futures until the next load. On -1 the previous contents stay as they were.
int
    tm_kite_instruments_load (tm_kite_instruments_t *self, const char *csv, size_t size,
                              int64_t now_ns, size_t *rejected, char *err, size_t err_size);

//  Kite regenerates the dump once a day, ready after about 08:30 IST (kite.md 4): the first
//  08:30 IST strictly after now_ns (both ns since the epoch, on the injectable clock).
#define TM_KITE_REFRESH_MINUTE  (8 * 60 + 30)
int64_t
    tm_kite_instruments_next_refresh (int64_t now_ns);

//  Number of instruments loaded.
size_t
    tm_kite_instruments_size (tm_kite_instruments_t *self);

//  The instrument a canonical symbol names, or NULL. Borrowed: valid until the next load.
const tm_kite_instrument_t *
    tm_kite_instruments_resolve (tm_kite_instruments_t *self, const char *symbol);

//  The instrument of a token, or NULL. Borrowed: valid until the next load.
const tm_kite_instrument_t *
    tm_kite_instruments_by_token (tm_kite_instruments_t *self, uint32_t token);

//  The canonical symbol of a token, fixed at load: an NSE equity or an index (segment INDICES)
//  by its tradingsymbol ("RELIANCE", "NIFTY 50"), the nearest and next NFO futures of an
//  underlying as NAME-I and NAME-II ("NIFTY-I"), an NFO option as NAME+YYMMDD+STRIKE+CE|PE
//  ("NIFTY24012521500CE"), anything else as EXCHANGE:TRADINGSYMBOL
//  ("BSE:RELIANCE", "NFO:NIFTY24FEBFUT", "CDS:USDINR24JANFUT"); a short form another row
//  already took falls back to the long one. Borrowed; NULL when unknown.
//  tm_kite_instruments_resolve accepts every one of these, and EXCHANGE:TRADINGSYMBOL for any.
const char *
    tm_kite_instruments_symbol (tm_kite_instruments_t *self, uint32_t token);

//  Every instrument's canonical symbol (as tm_kite_instruments_symbol), in dump order.
//  Calls fn (symbol, arg) for each.
void
    tm_kite_instruments_each_symbol (tm_kite_instruments_t *self,
                                     void (*fn) (const char *symbol, void *arg), void *arg);

#endif
