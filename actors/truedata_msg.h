//  truedata_msg - decoder of TrueData's real-time JSON messages, encoder of its requests
//
//  A plain module (no sockets, no threads) that actors/truedata wraps, written from
//  ../shared/protocols/truedata.md sections 2, 3 and the errata. Values arrive as JSON strings
//  (numbers accepted too; "" is 0 / absent); timestamps are IST wall-clock without a zone and
//  become UTC nanoseconds; anything that does not parse makes the message TM_MALFORMED.

#ifndef TM_TRUEDATA_MSG_H_INCLUDED
#define TM_TRUEDATA_MSG_H_INCLUDED

#include <jansson.h>

#define TM_TD_TEXT_MAX          (1024 * 1024)   //  Largest message accepted
#define TM_TD_ROWS_MAX          1500            //  Rows in one "symbols added" / touchline reply
#define TM_TD_BATCH_MAX         1500            //  Symbols in one addsymbol / removesymbol
#define TM_TD_REASON_MAX        128             //  Welcome / market status text kept

typedef enum {
    TM_TD_WELCOME = 1,      //  First message: success or refusal (3.1)
    TM_TD_ADDED,            //  "symbols added": snapshot rows (3.2)
    TM_TD_TOUCHLINE,        //  "touchline": snapshot rows replacing state (3.4)
    TM_TD_REMOVED,          //  "symbols removed" (3.3)
    TM_TD_TRADE,            //  trade, 15 or 19 elements (3.5)
    TM_TD_BIDASK,           //  bidask (3.6)
    TM_TD_BIDASK_L2,        //  bidaskL2, 35 elements, Node layout (3.6)
    TM_TD_BAR,              //  bar1min / bar5min (3.8)
    TM_TD_GREEKS,           //  greeks (3.9)
    TM_TD_HEARTBEAT,        //  HeartBeat (3.7)
    TM_TD_MARKETSTATUS,     //  marketstatus (3.7)
    TM_TD_REFUSED,          //  Any other success:false control message (its text in reason)
    TM_TD_UNKNOWN           //  A control or data message of a kind not listed: count, ignore
} tm_td_kind_t;

//  One "symbols added" / touchline row (the touchline, 17 or 18 elements)
typedef struct {
    char symbol [TM_SYMBOL_MAX];    //  TrueData name as subscribed
    uint64_t id;                    //  Symbol id: the key of every later data message
    bool invalid;                   //  The server refused the symbol ("Invalid ..." row)
    int64_t ts;                     //  Last update, ns UTC
    double ltp, atp, open, high, low, prev_close, turnover;
    int64_t ltq, ttq, oi, prev_oi;  //  prev_oi is 0 on a 17-element row
    double bid, ask;                //  Best bid / ask (0 when the account has no bid/ask)
    int64_t bid_qty, ask_qty;
} tm_td_row_t;

typedef struct {
    tm_td_kind_t kind;              //  What this message is
    char reason [TM_TD_REASON_MAX]; //  WELCOME / REFUSED / MARKETSTATUS: the server's text
    bool success;                   //  WELCOME: the login succeeded
    int64_t max_symbols;            //  WELCOME: maxsymbols
    uint64_t id;                    //  Data messages: the symbol id
    int64_t ts;                     //  Data messages and HEARTBEAT: ns UTC
    //  TRADE (the 19-element form also sets has_book) and BAR
    double ltp, atp, open, high, low, close, prev_close, turnover;
    int64_t ltq, ttq, oi, prev_oi, seq, volume;
    char tag;                       //  TRADE: 'O', 'H', 'L' or 0
    bool has_book;                  //  TRADE with bid/ask, BIDASK, BIDASK_L2
    double bid, ask;
    int64_t bid_qty, ask_qty;
    tm_level_t bids [TM_DEPTH_MAX]; //  BIDASK_L2
    tm_level_t asks [TM_DEPTH_MAX];
    int bar_minutes;                //  BAR: 1 or 5
    double iv, delta, theta, gamma, vega, rho;  //  GREEKS
    size_t rows_count;              //  ADDED / TOUCHLINE rows written; REMOVED ids written
    int64_t total_subscribed;       //  ADDED / TOUCHLINE / REMOVED: totalsymbolsubscribed
} tm_td_msg_t;

//  Decode one text message. rows (room for rows_max) receives ADDED / TOUCHLINE rows; for
//  REMOVED only rows [i].symbol, .id and .invalid are set. Null rows are skipped (errata). Returns 0, or
//  TM_MALFORMED (too large, not JSON, not an object, a data array of the wrong length, a value
//  or timestamp that does not parse, more rows than rows_max).
int
    tm_td_decode (const char *text, size_t len, tm_td_msg_t *msg, tm_td_row_t *rows,
                  size_t rows_max);

//  IST wall-clock "YYYY-MM-DDTHH:MM:SS[.ffffff]" (T or space; 0 to 9 fraction digits), or the
//  legacy "M/D/YYYY h:mm:ss AM|PM", to ns UTC. Returns 0 or -1.
int
    tm_td_parse_time (const char *text, int64_t *ns);

//  Fill a tick from a snapshot row (every group it has: QUOTE, BOOK when a bid or ask is
//  present, OI when non-zero). symbol = row->symbol; stream, provider and pipeline timestamps
//  are the caller's; token = the id as decimal text.
void
    tm_td_row_to_tick (const tm_td_row_t *row, tm_tick_t *tick);

//  Apply a TRADE, BIDASK, BIDASK_L2 or GREEKS message to the symbol's last tick (kept by the
//  caller, from the snapshot), so the tick always carries the whole state. GREEKS sets the
//  greeks group and leaves exchange_ts at the last trade's. Returns 0, or -1 for a message
//  kind that carries no tick.
int
    tm_td_apply (const tm_td_msg_t *msg, tm_tick_t *tick);

//  {"method":"addsymbol","symbols":[...]} / removesymbol, count 1..TM_TD_BATCH_MAX symbols,
//  upper-cased. Caller owns return value (free ()); NULL for a bad method or count.
char *
    tm_td_request (const char *method, const char * const *symbols, size_t count);

#endif
