//  tdsim - a wire-faithful TrueData real-time WebSocket simulator on loopback (see tdsim.h)
//
//  Sections: the symbol universe (generated, deterministic for the seed and the clock's IST
//  date), the market walk, the message encoder (truedata.md 3, written from the tables, not
//  from actors/truedata_msg.c), sessions, the /_sim/ control plane, and the timer that drives
//  ticks. Everything runs in the thread that calls tm_tdsim_service; there are no locks.
//
//  The market is anchored in time, so that two simulators with one seed are two providers of
//  one market, as the failover tests need. Each symbol's events are a pure function of the
//  seed, its id and the clock: event k happens at the anchor (09:15 IST of the clock's day,
//  midnight before that) plus the first k intervals drawn from the symbol's own generator,
//  and is stamped from that instant, not from when it is sent. Only subscribed symbols are
//  walked as time passes; one that wakes first catches up without sending (cost: the events
//  since the anchor, about 30 ns each), so a simulator subscribed late, restarted or back from
//  the silent fault sends what the market does now, never what it missed.
//
//  With --log, each market message queued to a session (a trade, a bidask, a snapshot row)
//  also becomes one JSON line of what a client decodes from it, flushed at once, so a test
//  can compare the daemon's output with the truth while both run.
//
//  Prices are held in paise (int64), so every price on the wire is an exact multiple of the
//  0.05 tick and prints without trailing zeros ("21950", "22087.75", "22087.8").

#include "tickmux.h"
#include <libwebsockets.h>
#include <jansson.h>
#include <ctype.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <time.h>
#include <math.h>
#include "tdsim.h"

//  Limits: the TrueData ones come from truedata.md 2 and 3.2; the rest bound what a client
//  can make us hold.
#define S_CHUNK_ROWS        1500            //  Rows per "symbols added" / "removed" reply
#define S_CONNS_MAX         16              //  Sessions held, dead and refused ones included
#define S_WS_MSG_MAX        (64 * 1024)     //  Largest client message; beyond it, close 1009
#define S_BODY_MAX          (64 * 1024)     //  Largest HTTP request body
#define S_ARGS_MAX          (16 * 1024)     //  Decoded query + form parameters of one request
#define S_PATH_MAX          256             //  Request path
#define S_CRED_MAX          256             //  user or password, decoded, including the NUL
#define S_QUEUE_MAX         (16 * 1024 * 1024)  //  Bytes queued to one slow client
#define S_HTTP_CHUNK        (16 * 1024)     //  Bytes per HTTP body write
#define S_TX_PACKET_MAX     (1024 * 1024)   //  Largest message written whole (s_protocols)
#define S_WRITES_MAX        64              //  WebSocket messages per writeable callback
#define S_TRADE_MAX         512             //  Bytes of one encoded trade / bidask message
#define S_REFUSE_CLOSE_US   100000          //  Refused login: close this long after the verdict
#define S_PERIOD_MAX_US     250000          //  Longest timer period (bounds exit latency too)
#define S_PERIOD_MIN_US     1000            //  lws waits in whole milliseconds
#define S_IST_OFFSET_S      19800           //  IST is UTC+05:30, no DST
#define S_OPEN_MINUTE       (9 * 60 + 15)   //  NSE opens at 09:15 IST
#define S_LATE_MAX_NS       2000000000LL    //  Events older than this when due are not sent
#define S_TICK_PAISE        5               //  0.05 rupee, the tick of everything here
#define S_STRIKES           420             //  Strikes per option chain (x CE/PE)
#define S_EXPIRIES          3               //  Weekly expiries generated per underlying

#define S_WELCOME_TEXT      "TrueData Real Time Data Service"
#define S_BAD_LOGIN_TEXT    "Invalid Username or Password"
#define S_DUPLICATE_TEXT    "User Already Connected"

//  Kinds of symbol
#define S_KIND_EQ           0
#define S_KIND_INDEX        1
#define S_KIND_FUT          2
#define S_KIND_OPT          3

//  What a symbol did in this timer period
#define S_EVENT_NONE        0
#define S_EVENT_TRADE       1
#define S_EVENT_BIDASK      2

static const char *s_event_names [] = { "touchline", "trade", "bidask" };

//  ------------------------------------------------------------------------------------------
//  Types

//  One symbol's market state, as the touchline row and the trade message carry it
typedef struct {
    int64_t ltp;                    //  Last price, paise
    int64_t ltq;                    //  Quantity of the last trade
    int64_t atp;                    //  Average traded price, paise
    int64_t ttq;                    //  Day volume
    int64_t open;                   //  Day open, paise; 0 before the first trade
    int64_t high;                   //  Day high, paise
    int64_t low;                    //  Day low, paise
    int64_t close;                  //  Previous close, paise
    int64_t oi;                     //  Open interest (derivatives), else 0
    int64_t prev_oi;                //  Previous day's open interest
    int64_t turnover;               //  Day turnover, paise
    int64_t bid;                    //  Best bid, paise
    int64_t bid_qty;                //  Best bid quantity
    int64_t ask;                    //  Best ask, paise
    int64_t ask_qty;                //  Best ask quantity
    uint64_t seq;                   //  Tick sequence number of the last trade
    int64_t ts;                     //  Epoch seconds (UTC) of the last update
    char tag;                       //  Special tag of the last trade: 'O', 'H', 'L' or 0
} s_state_t;

typedef struct {
    char name [TM_SYMBOL_MAX];      //  TrueData name, e.g. NIFTY24012521500CE
    uint32_t id;                    //  TrueData symbol id
    int kind;                       //  S_KIND_*
    uint32_t lot;                   //  Quantities move in multiples of this
    s_state_t now;                  //  Current state
    s_state_t sent;                 //  State as last put on the wire, for /_sim/last
    bool ever_sent;                 //  sent is meaningful
    int sent_event;                 //  S_EVENT_* of the last message sent (NONE = a row)
    uint64_t rng;                   //  Walk state, seeded by seed and id
    size_t refs;                    //  Sessions subscribed to it; 0 = asleep, caught up on use
    int64_t next_at;                //  Fake-clock ns of its next event; all before are in now
    //  Options only
    size_t underlying;              //  Index of its underlying index in syms
    double strike;                  //  Rupees
    bool call;                      //  CE, else PE
    int days;                       //  Calendar days to expiry at start-up
    double greeks [6];              //  Last greeks sent (iv delta theta gamma vega rho)
    bool greeks_sent;               //  greeks is meaningful
} s_sym_t;

//  A WebSocket message waiting in a session's queue
typedef struct _s_msg_t {
    struct _s_msg_t *next;          //  Queue link
    bool binary;                    //  Binary frame (the binary fault) or text (JSON)
    size_t len;                     //  Payload bytes
    uint8_t data [];                //  LWS_PRE bytes of headroom, then the payload
} s_msg_t;

//  One WebSocket session
typedef struct {
    tm_tdsim_t *sim;                //  Owner, for the timers
    struct lws *wsi;                //  Its connection
    unsigned id;                    //  1, 2, ... in accept order
    char user [S_CRED_MAX];         //  Login name it gave (decoded)
    bool logged_in;                 //  Welcome was success:true and it is not closing
    bool dead;                      //  Killed by a fault or gone: no longer live
    bool stalled;                   //  Reading paused by the silent fault
    int close_code;                 //  Close frame to send once the queue is written, or 0
    uint8_t *subscribed;            //  1 per universe index it subscribed
    size_t symbols;                 //  Subscribed symbols
    s_msg_t *head;                  //  Oldest queued message
    s_msg_t *tail;                  //  Newest queued message
    size_t queued_bytes;            //  Payload bytes queued
    uint64_t dropped;               //  Messages dropped because the queue was full
    uint64_t received;              //  Client messages received
    char *rx;                       //  Reassembly of a fragmented client message
    size_t rx_len;                  //  Bytes in rx
    bool rx_overflow;               //  Current message is over S_WS_MSG_MAX: discarding it
    bool waiting_room;              //  Head message waits for socket buffer space
    int64_t next_heartbeat;         //  Monotonic ns the next HeartBeat is due
    lws_sorted_usec_list_t heartbeat_sul;   //  Sends the HeartBeat
    lws_sorted_usec_list_t close_sul;       //  Closes a refused login with 1008
} s_conn_t;

//  Per-connection lws user data: an HTTP transaction, or a session once upgraded
typedef struct {
    s_conn_t *conn;                 //  Session, or NULL for HTTP
    int method;                     //  LWSHUMETH_* of the current request
    char path [S_PATH_MAX];         //  Request path, decoded by lws
    char args [S_ARGS_MAX];         //  Decoded "name=value" strings, NUL-separated
    size_t args_len;                //  Bytes used in args
    bool args_overflow;             //  More parameters than args holds
    bool body_expected;             //  POST body still to come
    char *body;                     //  POST body (owned)
    size_t body_len;                //  Bytes in body
    bool body_overflow;             //  Body longer than S_BODY_MAX
    uint8_t *out;                   //  Response body with LWS_PRE headroom (owned)
    size_t out_len;                 //  Response body bytes
    size_t out_sent;                //  Bytes written so far
} s_pss_t;

//  A growing text buffer for the messages we build
typedef struct {
    char *data;                     //  Text, NUL-terminated (owned)
    size_t len;                     //  Bytes used, without the NUL
    size_t cap;                     //  Bytes allocated
} s_text_t;

struct _tm_tdsim_t {
    tm_tdsim_config_t config;       //  Strings point into the copies below
    char *user;                     //  Owned copy
    char *password;                 //  Owned copy
    struct lws_context *context;    //  The one lws context
    struct lws_vhost *vhost;        //  127.0.0.1:port
    int port;                       //  Port actually bound
    s_sym_t *syms;                  //  Every symbol, in id order per kind
    size_t nsyms;                   //  Entries in syms
    uint32_t *by_name;              //  Symbol indexes sorted by name, for lookups
    uint32_t *mark;                 //  Scratch: request generation that last named a symbol
    uint32_t generation;            //  Current request generation
    size_t *due;                    //  Scratch: heap of symbols with events due in a pass
    s_conn_t *conns [S_CONNS_MAX];  //  Sessions, live and dying
    size_t nconns;                  //  Entries in conns
    unsigned next_conn_id;          //  Id of the next session
    lws_sorted_usec_list_t tick_sul;    //  Drives ticks and hang-up probes
    int64_t interval_ns;            //  Mean time between ticks of one symbol
    lws_usec_t period_us;           //  Longest wait of the timer
    int64_t anchor_ns;              //  Fake-clock ns the market opened: every walk starts here
    int64_t market_ns;              //  Fake-clock ns subscribed symbols have been walked to
    int64_t timer_ns;               //  Fake-clock ns the timer runs next
    bool silent;                    //  Fault "silent": nothing leaves, reads pause
    bool refuse;                    //  Fault "refuse": every login gets User Already Connected
    uint64_t logins;                //  Logins accepted
    uint64_t logins_refused;        //  Logins refused, for any reason
    uint64_t malformed;             //  Client messages we could not use
    uint64_t largest_request;       //  Most symbols seen in one addsymbol / removesymbol
    uint64_t trades_sent;           //  trade messages queued
    uint64_t greeks_sent;           //  greeks messages queued
    uint64_t bidasks_sent;          //  bidask messages queued
    uint64_t heartbeats_sent;       //  HeartBeat messages queued
    uint64_t frames_sent;           //  WebSocket messages written
    uint64_t faults;                //  Faults injected
    FILE *log;                      //  --log file, or NULL
    bool log_failed;                //  A log write failed and was reported
    s_text_t log_line;              //  Scratch for the timer's log lines, reused
};

//  ------------------------------------------------------------------------------------------
//  Small helpers

//  splitmix64, one state per symbol, so a symbol's path does not depend on which others
//  are subscribed.
static uint64_t
s_rand (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

//  Uniform in [0, 1)
static double
s_unit (uint64_t *state)
{
    return (double) (s_rand (state) >> 11) / 9007199254740992.0;
}

static int64_t
s_now_s (void)
{
    return tm_clock_now_ns () / 1000000000;
}

//  Epoch seconds (UTC) to stamp on an exchange event that happened at at_ns on the clock:
//  delay_ms behind it, floored to the wire's whole seconds, so the stamp is never later than
//  the delay says, a test knows the lag to within one second, and two simulators stamp the
//  same event alike however late either sends it.
static int64_t
s_stamp_s (tm_tdsim_t *self, int64_t at_ns)
{
    int64_t ns = at_ns - (int64_t) self->config.delay_ms * 1000000;
    int64_t whole = ns / 1000000000;
    return ns % 1000000000 < 0 ? whole - 1 : whole;
}

//  Civil date and time in IST of a UTC epoch second count
static void
s_ist_tm (int64_t epoch_s, struct tm *tm)
{
    time_t t = (time_t) (epoch_s + S_IST_OFFSET_S);
    gmtime_r (&t, tm);
}

//  "YYYY-MM-DDTHH:MM:SS" in IST without a zone (truedata.md 3), into 20+ bytes
static void
s_ist_stamp (char *buf, size_t size, int64_t epoch_s)
{
    struct tm tm;
    s_ist_tm (epoch_s, &tm);
    strftime (buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
}

//  Paise to rupees without trailing zeros: "21950", "22087.75", "22087.8", "-3.5"
static void
s_format_paise (char *buf, size_t size, int64_t paise)
{
    bool negative = paise < 0;
    uint64_t p = (uint64_t) (negative ? -paise : paise);
    const char *sign = negative ? "-" : "";
    if (p % 100 == 0)
        snprintf (buf, size, "%s%" PRIu64, sign, p / 100);
    else
    if (p % 10 == 0)
        snprintf (buf, size, "%s%" PRIu64 ".%" PRIu64, sign, p / 100, (p % 100) / 10);
    else
        snprintf (buf, size, "%s%" PRIu64 ".%02" PRIu64, sign, p / 100, p % 100);
}

static double
s_rupees (int64_t paise)
{
    return (double) paise / 100.0;
}

//  Round rupees to the nearest tick, in paise, never below one tick
static int64_t
s_to_paise (double rupees)
{
    int64_t ticks = (int64_t) (rupees * 100.0 / S_TICK_PAISE + 0.5);
    return (ticks < 1 ? 1 : ticks) * S_TICK_PAISE;
}

static void
s_text_add (s_text_t *text, const char *data, size_t len)
{
    if (text->len + len + 1 > text->cap) {
        size_t cap = text->cap ? text->cap : 1024;
        while (cap < text->len + len + 1)
            cap *= 2;
        text->data = (char *) realloc (text->data, cap);
        assert (text->data);
        text->cap = cap;
    }
    memcpy (text->data + text->len, data, len);
    text->len += len;
    text->data [text->len] = '\0';
}

static void
s_text_printf (s_text_t *text, const char *format, ...)
{
    char buf [512];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (buf, sizeof buf, format, args);
    va_end (args);
    assert (n >= 0 && (size_t) n < sizeof buf);     //  Our formats are short
    s_text_add (text, buf, (size_t) n);
}

//  Append text as a JSON string literal (quotes and escapes included). The input is valid
//  UTF-8 (jansson checked it), so bytes from 0x80 up pass through unchanged.
static void
s_text_add_string (s_text_t *text, const char *value)
{
    s_text_add (text, "\"", 1);
    for (const char *c = value; *c; c++) {
        unsigned char u = (unsigned char) *c;
        if (u == '"' || u == '\\') {
            char esc [2] = { '\\', (char) u };
            s_text_add (text, esc, 2);
        }
        else
        if (u < 0x20)
            s_text_printf (text, "\\u%04x", u);
        else
            s_text_add (text, c, 1);
    }
    s_text_add (text, "\"", 1);
}

//  ------------------------------------------------------------------------------------------
//  The symbol universe

typedef struct {
    const char *name;               //  NSE symbol, TrueData's name for the cash equity
    uint32_t id;                    //  TrueData id (RELIANCE's is the observed one)
    double price;                   //  Rough price level in rupees
} s_equity_t;

static const s_equity_t s_equities [] = {
    { "RELIANCE", 100001262, 2900.0 },
    { "SBIN", 100003045, 620.0 },
    { "INFY", 100001594, 1500.0 },
    { "TCS", 100011536, 3900.0 },
    { "HDFCBANK", 100001333, 1450.0 },
    { "ITC", 100001660, 440.0 },
    { "LT", 100011483, 3500.0 },
    { "AXISBANK", 100005900, 1080.0 },
    { "ICICIBANK", 100004963, 1000.0 },
    { "KOTAKBANK", 100001922, 1800.0 },
    { "HINDUNILVR", 100001394, 2500.0 },
    { "BHARTIARTL", 100010604, 1100.0 },
    { "BAJFINANCE", 100000317, 7000.0 },
    { "ASIANPAINT", 100000236, 3000.0 },
    { "MARUTI", 100010999, 10500.0 },
    { "HCLTECH", 100007229, 1550.0 },
    { "WIPRO", 100003787, 480.0 },
    { "SUNPHARMA", 100003351, 1500.0 },
    { "TITAN", 100003506, 3600.0 },
    { "ULTRACEMCO", 100011532, 9800.0 },
    //  A name with '&': clients must percent-encode it in URLs, and JSON carries it as is.
    { "M&M", 100002031, 1650.0 },
    { "ADANIPORTS", 100015083, 1200.0 },
    { "COALINDIA", 100020374, 380.0 },
    { "JSWSTEEL", 100011723, 820.0 },
    { "TATASTEEL", 100003499, 140.0 },
    { "NTPC", 100011630, 330.0 },
    { "ONGC", 100002475, 260.0 },
    { "POWERGRID", 100014977, 280.0 },
};
#define S_EQUITIES (sizeof s_equities / sizeof s_equities [0])

typedef struct {
    const char *name;               //  NSE index name with spaces
    uint32_t id;                    //  TrueData id
    double price;                   //  Rough level
} s_index_t;

static const s_index_t s_indices [] = {
    { "NIFTY 50", 200000001, 22000.0 },
    { "NIFTY BANK", 200000004, 47000.0 },
    { "NIFTY FIN SERVICE", 200000006, 21000.0 },
    { "NIFTY IT", 200000009, 35000.0 },
    { "INDIA VIX", 200000013, 14.5 },
};
#define S_INDICES (sizeof s_indices / sizeof s_indices [0])

typedef struct {
    const char *name;               //  Continuous future, -I near month
    uint32_t id;                    //  TrueData id (NIFTY-I's is the observed one)
    size_t index;                   //  Its underlying index in s_indices
    int month;                      //  1 near, 2 next, 3 far: sets the basis
    uint32_t lot;                   //  Lot size
} s_future_t;

static const s_future_t s_futures [] = {
    { "NIFTY-I", 900000596, 0, 1, 50 },
    { "NIFTY-II", 900000597, 0, 2, 50 },
    { "NIFTY-III", 900000598, 0, 3, 50 },
    { "BANKNIFTY-I", 900000604, 1, 1, 15 },
    { "BANKNIFTY-II", 900000605, 1, 2, 15 },
    { "FINNIFTY-I", 900000611, 2, 1, 40 },
};
#define S_FUTURES (sizeof s_futures / sizeof s_futures [0])

typedef struct {
    const char *underlying;         //  Name prefix of its options
    size_t index;                   //  Its underlying index in s_indices
    int64_t step;                   //  Rupees between strikes
    uint32_t lot;                   //  Lot size
} s_chain_t;

static const s_chain_t s_chains [] = {
    { "NIFTY", 0, 50, 50 },
    { "BANKNIFTY", 1, 100, 15 },
};
#define S_CHAINS (sizeof s_chains / sizeof s_chains [0])

#define S_UNIVERSE (S_EQUITIES + S_INDICES + S_FUTURES + S_CHAINS * S_EXPIRIES * S_STRIKES * 2)

//  The opening state: yesterday's close near level; unless pre_open, an open near the close,
//  some trades done and a sequence number well on. A pre-open symbol has no open, high, low or
//  volume yet, so its first trade carries the "O" tag. ts stamps its last update.
static void
s_sym_start (s_sym_t *sym, double level, uint64_t seed, bool pre_open, int64_t ts)
{
    sym->rng = seed ^ ((uint64_t) sym->id * 0xD6E8FEB86659FD93ULL);
    s_rand (&sym->rng);
    s_state_t *q = &sym->now;
    memset (q, 0, sizeof *q);
    //  Derivatives stay near the level they were priced from, so the chain stays ordered.
    double spread = sym->kind == S_KIND_FUT || sym->kind == S_KIND_OPT ? 0.004 : 0.06;
    double close = level * (1.0 - spread / 2 + spread * s_unit (&sym->rng));
    q->close = s_to_paise (close);
    q->ts = ts;
    bool tradable = sym->kind != S_KIND_INDEX;
    bool derivative = sym->kind == S_KIND_FUT || sym->kind == S_KIND_OPT;
    if (derivative) {
        q->prev_oi = sym->lot * (int64_t) (20000 + s_rand (&sym->rng) % 200000);
        q->oi = q->prev_oi;
    }
    //  One symbol in eight has not traded yet, so a test sees "O" tags at any hour.
    if (pre_open || s_rand (&sym->rng) % 8 == 0)
        q->ltp = q->close;
    else {
        double open = close * (0.99 + 0.02 * s_unit (&sym->rng));
        double last = open * (0.995 + 0.01 * s_unit (&sym->rng));
        q->open = s_to_paise (open);
        q->ltp = s_to_paise (last);
        int64_t hi = q->open > q->ltp ? q->open : q->ltp;
        int64_t lo = q->open < q->ltp ? q->open : q->ltp;
        q->high = hi + S_TICK_PAISE * (int64_t) (s_rand (&sym->rng) % 20);
        q->low = lo - S_TICK_PAISE * (int64_t) (s_rand (&sym->rng) % 20);
        if (q->low < S_TICK_PAISE)
            q->low = lo;
        q->seq = 1000 + s_rand (&sym->rng) % 100000;
        if (tradable) {
            q->ltq = sym->lot * (int64_t) (1 + s_rand (&sym->rng) % 10);
            q->ttq = sym->lot * (int64_t) (10000 + s_rand (&sym->rng) % 90000);
            q->atp = (q->open + q->ltp) / 2;
            q->turnover = q->atp * q->ttq;
            if (derivative)
                q->oi = q->prev_oi + sym->lot * ((int64_t) (s_rand (&sym->rng) % 2001) - 1000);
            if (q->oi < 0)
                q->oi = 0;
        }
    }
    if (tradable) {
        q->bid = q->ltp > S_TICK_PAISE ? q->ltp - S_TICK_PAISE : 0;
        q->ask = q->ltp + S_TICK_PAISE;
        q->bid_qty = q->bid ? sym->lot * (int64_t) (1 + s_rand (&sym->rng) % 40) : 0;
        q->ask_qty = sym->lot * (int64_t) (1 + s_rand (&sym->rng) % 40);
    }
}

//  Draw the interval to sym's next event from its own walk state: uniform in [0.5, 1.5) of the
//  mean, so the mean rate is --rate and symbols do not tick in lockstep.
static void
s_sym_schedule (tm_tdsim_t *self, s_sym_t *sym)
{
    sym->next_at += (int64_t) ((0.5 + s_unit (&sym->rng)) * (double) self->interval_ns);
}

static s_sym_t *
s_sym_add (tm_tdsim_t *self, const char *name, uint32_t id, int kind, uint32_t lot)
{
    assert (self->nsyms < S_UNIVERSE);
    s_sym_t *sym = &self->syms [self->nsyms++];
    memset (sym, 0, sizeof *sym);
    snprintf (sym->name, sizeof sym->name, "%s", name);
    sym->id = id;
    sym->kind = kind;
    sym->lot = lot;
    return sym;
}

//  0 = Sunday, of a UTC-free civil date
static int
s_weekday (int year, int month, int day)
{
    struct tm tm = { 0 };
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = 12;
    time_t t = timegm (&tm);
    struct tm out;
    gmtime_r (&t, &out);
    return out.tm_wday;
}

//  Option premium: intrinsic value plus a time value that fades away from the money and
//  grows with the days left.
static double
s_option_price (double spot, double strike, bool call, int days)
{
    double intrinsic = call ? spot - strike : strike - spot;
    if (intrinsic < 0)
        intrinsic = 0;
    double distance = (spot - strike) / (spot * 0.03);
    double time_value = spot * 0.004 * sqrt ((double) days + 1) * exp (-distance * distance);
    return intrinsic + time_value + 0.05;
}

static int
s_by_name_cmp (const void *a, const void *b, void *arg)
{
    const s_sym_t *syms = (const s_sym_t *) arg;
    return strcmp (syms [*(const uint32_t *) a].name, syms [*(const uint32_t *) b].name);
}

static void
s_universe_build (tm_tdsim_t *self)
{
    self->syms = (s_sym_t *) calloc (S_UNIVERSE, sizeof (s_sym_t));
    self->by_name = (uint32_t *) calloc (S_UNIVERSE, sizeof (uint32_t));
    self->mark = (uint32_t *) calloc (S_UNIVERSE, sizeof (uint32_t));
    self->due = (size_t *) calloc (S_UNIVERSE, sizeof (size_t));
    assert (self->syms && self->by_name && self->mark && self->due);
    uint64_t seed = self->config.seed;

    //  Dates follow the injectable clock in IST, so TICKMUX_FAKE_TIME pins expiries. Started
    //  before 09:15 IST, the market opens at midnight with nothing traded, so every first
    //  trade sets the open.
    int64_t now_ns = tm_clock_now_ns ();
    int64_t now_s = now_ns / 1000000000;
    struct tm today;
    s_ist_tm (now_s, &today);
    bool pre_open = today.tm_hour * 60 + today.tm_min < S_OPEN_MINUTE;
    int64_t day_s = now_s - (now_s + S_IST_OFFSET_S) % 86400;
    //  The market opened at the anchor, the same instant for every simulator started on this
    //  IST day on the same side of 09:15: 09:15 IST, or before it midnight IST. Each walk
    //  starts there, so an event's time and content follow from the seed and the clock alone.
    self->anchor_ns = (day_s + (pre_open ? 0 : S_OPEN_MINUTE * 60)) * 1000000000;
    self->market_ns = now_ns;
    //  The opening snapshot's stamp lags the anchor like every other exchange stamp
    int64_t stamp_s = s_stamp_s (self, self->anchor_ns);

    for (size_t i = 0; i < S_EQUITIES; i++) {
        s_sym_t *sym = s_sym_add (self, s_equities [i].name, s_equities [i].id, S_KIND_EQ, 1);
        s_sym_start (sym, s_equities [i].price, seed, pre_open, stamp_s);
    }
    double spot [S_INDICES];
    for (size_t i = 0; i < S_INDICES; i++) {
        s_sym_t *sym = s_sym_add (self, s_indices [i].name, s_indices [i].id, S_KIND_INDEX, 1);
        s_sym_start (sym, s_indices [i].price, seed, pre_open, stamp_s);
        spot [i] = s_rupees (sym->now.ltp);
    }
    for (size_t i = 0; i < S_FUTURES; i++) {
        const s_future_t *fut = &s_futures [i];
        s_sym_t *sym = s_sym_add (self, fut->name, fut->id, S_KIND_FUT, fut->lot);
        s_sym_start (sym, spot [fut->index] * (1.0 + 0.004 * fut->month), seed, pre_open,
                     stamp_s);
    }
    //  Options: the next S_EXPIRIES Thursdays from today (today included when it is one),
    //  S_STRIKES strikes centred on the money, a CE and a PE each (truedata.md 4 naming).
    int days_to_thursday = (4 - today.tm_wday + 7) % 7;
    uint32_t id = 300100001;
    for (size_t c = 0; c < S_CHAINS; c++) {
        const s_chain_t *chain = &s_chains [c];
        double atm = floor (spot [chain->index] / (double) chain->step + 0.5)
                   * (double) chain->step;
        for (int e = 0; e < S_EXPIRIES; e++) {
            int days = days_to_thursday + 7 * e;
            struct tm expiry;
            s_ist_tm (day_s + (int64_t) days * 86400, &expiry);
            assert (s_weekday (expiry.tm_year + 1900, expiry.tm_mon + 1, expiry.tm_mday) == 4);
            for (int k = 0; k < S_STRIKES; k++) {
                double strike = atm + (double) (k - S_STRIKES / 2) * (double) chain->step;
                for (int call = 1; call >= 0; call--) {
                    char name [TM_SYMBOL_MAX];
                    snprintf (name, sizeof name, "%s%02d%02d%02d%.0f%s", chain->underlying,
                              expiry.tm_year % 100, expiry.tm_mon + 1, expiry.tm_mday, strike,
                              call ? "CE" : "PE");
                    s_sym_t *sym = s_sym_add (self, name, id++, S_KIND_OPT, chain->lot);
                    sym->underlying = S_EQUITIES + chain->index;
                    sym->strike = strike;
                    sym->call = call;
                    sym->days = days;
                    s_sym_start (sym, s_option_price (spot [chain->index], strike, call, days),
                                 seed, pre_open, stamp_s);
                }
            }
        }
    }
    assert (self->nsyms == S_UNIVERSE);
    for (size_t i = 0; i < self->nsyms; i++) {
        self->by_name [i] = (uint32_t) i;
        self->syms [i].next_at = self->anchor_ns;
        s_sym_schedule (self, &self->syms [i]);
    }
    qsort_r (self->by_name, self->nsyms, sizeof (uint32_t), s_by_name_cmp, self->syms);
}

//  Symbol by its exact TrueData name, or NULL
static s_sym_t *
s_sym_find (tm_tdsim_t *self, const char *name)
{
    size_t lo = 0, hi = self->nsyms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        s_sym_t *sym = &self->syms [self->by_name [mid]];
        int cmp = strcmp (sym->name, name);
        if (cmp == 0)
            return sym;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

//  Symbol by a client's name: upper-cased as the libraries do before sending (truedata.md 2)
static s_sym_t *
s_sym_lookup (tm_tdsim_t *self, const char *text)
{
    char name [TM_SYMBOL_MAX];
    size_t len = strlen (text);
    if (len >= sizeof name)
        return NULL;
    for (size_t i = 0; i <= len; i++)
        name [i] = (char) toupper ((unsigned char) text [i]);
    return s_sym_find (self, name);
}

//  ------------------------------------------------------------------------------------------
//  The market walk

static void
s_requote (s_sym_t *sym, uint64_t r)
{
    s_state_t *q = &sym->now;
    int64_t below = 1 + (int64_t) (r % 3), above = (int64_t) ((r >> 2) % 3);
    q->bid = q->ltp - below * S_TICK_PAISE;
    q->ask = q->ltp + above * S_TICK_PAISE;
    if (q->bid < S_TICK_PAISE)
        q->bid = 0;                 //  No bid at the floor price, as on a far OTM option
    if (q->ask <= q->bid)
        q->ask = q->bid + S_TICK_PAISE;
    q->bid_qty = q->bid ? sym->lot * (int64_t) (1 + (r >> 8) % 40) : 0;
    q->ask_qty = sym->lot * (int64_t) (1 + (r >> 16) % 40);
}

//  One event of a symbol: a trade, or (tradables, with bid/ask on) a quote change. It leaves
//  the stamp and the average price to s_sym_settle, which a catch-up calls only once.
static int
s_walk (s_sym_t *sym, bool bidask)
{
    s_state_t *q = &sym->now;
    uint64_t r = s_rand (&sym->rng);
    bool tradable = sym->kind != S_KIND_INDEX;
    if (tradable && bidask && r % 5 == 0) {
        s_requote (sym, r >> 3);
        return S_EVENT_BIDASK;
    }
    //  Mostly one-tick moves, sometimes none, rarely three; a weak pull toward the
    //  previous close (beyond 3 % of it) keeps a long run inside a plausible day range.
    unsigned pick = (unsigned) ((r >> 3) % 100);
    int64_t steps = pick < 30 ? 0 : pick < 75 ? 1 : pick < 92 ? 2 : 3;
    int64_t away = 100 * (q->ltp - q->close);
    unsigned threshold = 500 + (away > 3 * q->close ? 150 : 0) - (away < -3 * q->close ? 150 : 0);
    bool up = ((r >> 10) % 1000) >= threshold;
    int64_t price = q->ltp + (up ? steps : -steps) * S_TICK_PAISE;
    if (price < S_TICK_PAISE)
        price = S_TICK_PAISE;
    q->ltp = price;
    q->tag = 0;
    if (q->open == 0) {
        q->open = q->high = q->low = price;
        q->tag = 'O';
    }
    else
    if (price > q->high) {
        q->high = price;
        q->tag = 'H';
    }
    else
    if (price < q->low) {
        q->low = price;
        q->tag = 'L';
    }
    q->seq++;
    if (tradable) {
        int64_t lots = sym->lot > 1 ? 1 + (int64_t) ((r >> 20) % 10)
                                    : 1 + (int64_t) ((r >> 20) % 200);
        q->ltq = lots * sym->lot;
        q->ttq += q->ltq;
        q->turnover += price * q->ltq;
        if (sym->kind != S_KIND_EQ) {
            q->oi += ((int64_t) ((r >> 32) % 21) - 10) * sym->lot;
            if (q->oi < 0)
                q->oi = 0;
        }
        s_requote (sym, r >> 40);
    }
    return S_EVENT_TRADE;
}

//  After events up to one at at_ns: the stamp it carries and the day's average price
static void
s_sym_settle (tm_tdsim_t *self, s_sym_t *sym, int64_t at_ns)
{
    s_state_t *q = &sym->now;
    q->ts = s_stamp_s (self, at_ns);
    if (q->ttq)
        q->atp = (q->turnover + q->ttq / 2) / q->ttq;
}

//  Apply sym's next event, stamped with the time it happens, and draw the one after.
//  Returns its S_EVENT_*.
static int
s_sym_step (tm_tdsim_t *self, s_sym_t *sym)
{
    int64_t at_ns = sym->next_at;
    int event = s_walk (sym, self->config.bidask);
    s_sym_schedule (self, sym);
    s_sym_settle (self, sym, at_ns);
    return event;
}

//  Fast-forward sym, sending nothing, through every event at or before until (fake-clock ns):
//  the market went on while nobody watched it. Only for a symbol nobody is sent (asleep, or
//  the whole simulator silent), or its events would go missing from the feed.
static void
s_sym_catch_up (tm_tdsim_t *self, s_sym_t *sym, int64_t until)
{
    if (sym->next_at > until)
        return;
    int64_t at_ns;
    do {
        at_ns = sym->next_at;
        s_walk (sym, self->config.bidask);
        s_sym_schedule (self, sym);
    } while (sym->next_at <= until);
    s_sym_settle (self, sym, at_ns);
}

//  ------------------------------------------------------------------------------------------
//  Message encoder (truedata.md 3): every array element is a JSON string

//  A touchline row: 18 elements, or 17 without previous-day OI (the 2020-era layout)
static void
s_add_row (s_text_t *text, const s_sym_t *sym, const s_state_t *q, bool row17)
{
    char stamp [32], ltp [32], atp [32], open [32], high [32], low [32], close [32];
    char turnover [32], bid [32], ask [32];
    s_ist_stamp (stamp, sizeof stamp, q->ts);
    s_format_paise (ltp, sizeof ltp, q->ltp);
    s_format_paise (atp, sizeof atp, q->atp);
    s_format_paise (open, sizeof open, q->open);
    s_format_paise (high, sizeof high, q->high);
    s_format_paise (low, sizeof low, q->low);
    s_format_paise (close, sizeof close, q->close);
    s_format_paise (turnover, sizeof turnover, q->turnover);
    s_format_paise (bid, sizeof bid, q->bid);
    s_format_paise (ask, sizeof ask, q->ask);
    s_text_add (text, "[", 1);
    s_text_add_string (text, sym->name);
    s_text_printf (text, ",\"%u\",\"%s\",\"%s\",\"%" PRId64 "\",\"%s\",\"%" PRId64 "\","
                   "\"%s\",\"%s\",\"%s\",\"%s\",\"%" PRId64 "\",",
                   sym->id, stamp, ltp, q->ltq, atp, q->ttq, open, high, low, close, q->oi);
    if (!row17)
        s_text_printf (text, "\"%" PRId64 "\",", q->prev_oi);
    s_text_printf (text, "\"%s\",\"%s\",\"%" PRId64 "\",\"%s\",\"%" PRId64 "\"]",
                   turnover, bid, q->bid_qty, ask, q->ask_qty);
}

//  The row of an unknown symbol (a choice; errata: id "0", the zero timestamp, "Invalid")
static void
s_add_invalid_row (s_text_t *text, const char *symbol)
{
    s_text_t name = { NULL, 0, 0 };
    s_text_add (&name, "Invalid Symbol: ", 16);
    s_text_add (&name, symbol, strlen (symbol));
    s_text_add (text, "[", 1);
    s_text_add_string (text, name.data);
    s_text_add (text, ",\"0\",\"0001-01-01T00:00:00\"", 26);
    for (int i = 3; i < 18; i++)
        s_text_add (text, ",\"0\"", 4);
    s_text_add (text, "]", 1);
    free (name.data);
}

//  {"trade":[19 or 15 strings]} or {"bidask":[6 strings]} into buf. Returns the length.
static size_t
s_encode_event (const s_sym_t *sym, int event, bool bidask, char *buf, size_t size)
{
    const s_state_t *q = &sym->now;
    char stamp [32], ltp [32], atp [32], open [32], high [32], low [32], close [32];
    char turnover [32], bid [32], ask [32];
    s_ist_stamp (stamp, sizeof stamp, q->ts);
    s_format_paise (bid, sizeof bid, q->bid);
    s_format_paise (ask, sizeof ask, q->ask);
    int n;
    if (event == S_EVENT_BIDASK)
        n = snprintf (buf, size, "{\"bidask\":[\"%u\",\"%s\",\"%s\",\"%" PRId64 "\",\"%s\",\"%"
                      PRId64 "\"]}", sym->id, stamp, bid, q->bid_qty, ask, q->ask_qty);
    else {
        s_format_paise (ltp, sizeof ltp, q->ltp);
        s_format_paise (atp, sizeof atp, q->atp);
        s_format_paise (open, sizeof open, q->open);
        s_format_paise (high, sizeof high, q->high);
        s_format_paise (low, sizeof low, q->low);
        s_format_paise (close, sizeof close, q->close);
        s_format_paise (turnover, sizeof turnover, q->turnover);
        char tag [2] = { q->tag, '\0' };
        n = snprintf (buf, size, "{\"trade\":[\"%u\",\"%s\",\"%s\",\"%" PRId64 "\",\"%s\",\"%"
                      PRId64 "\",\"%s\",\"%s\",\"%s\",\"%s\",\"%" PRId64 "\",\"%" PRId64 "\","
                      "\"%s\",\"%s\",\"%" PRIu64 "\"", sym->id, stamp, ltp, q->ltq, atp, q->ttq,
                      open, high, low, close, q->oi, q->prev_oi, turnover, tag, q->seq);
        if (n > 0 && (size_t) n < size)
            n += bidask
               ? snprintf (buf + n, size - (size_t) n, ",\"%s\",\"%" PRId64 "\",\"%s\",\"%"
                           PRId64 "\"]}", bid, q->bid_qty, ask, q->ask_qty)
               : snprintf (buf + n, size - (size_t) n, "]}");
    }
    assert (n > 0 && (size_t) n < size);
    return (size_t) n;
}

//  Black-Scholes greeks of an option at its underlying's price now, in the order of the
//  greeks message (truedata.md 3.9): iv, delta, theta (per day), gamma, vega and rho (per
//  1 %). A fixture: one volatility with a slight smile, not the premium the walk trades at.
#define S_RATE      0.07

static void
s_greeks (const s_sym_t *sym, double spot, double out [6])
{
    double t = (sym->days > 0 ? sym->days : 0.5) / 365.0;
    double sigma = 0.14 + 0.2 * fabs (log (sym->strike / spot));
    double root_t = sqrt (t);
    double d1 = (log (spot / sym->strike) + (S_RATE + sigma * sigma / 2) * t) / (sigma * root_t);
    double d2 = d1 - sigma * root_t;
    double pdf = exp (-d1 * d1 / 2) / sqrt (2 * M_PI);
    double discount = sym->strike * exp (-S_RATE * t);
    double n_d1 = 0.5 * erfc (-d1 / M_SQRT2), n_d2 = 0.5 * erfc (-d2 / M_SQRT2);
    out [0] = sigma;
    out [1] = sym->call ? n_d1 : n_d1 - 1;
    out [2] = (-spot * pdf * sigma / (2 * root_t)
            - (sym->call ? S_RATE * discount * n_d2 : -S_RATE * discount * (1 - n_d2))) / 365;
    out [3] = pdf / (spot * sigma * root_t);
    out [4] = spot * pdf * root_t / 100;
    out [5] = (sym->call ? discount * t * n_d2 : -discount * t * (1 - n_d2)) / 100;
}

//  {"greeks":[id, time, iv, delta, theta, gamma, vega, rho]} into buf, the values as TrueData
//  prints them (strings, exponents for tiny ones); sent holds what the strings say.
static size_t
s_encode_greeks (const s_sym_t *sym, double spot, double sent [6], char *buf, size_t size)
{
    double g [6];
    s_greeks (sym, spot, g);
    char stamp [32], text [6][32];
    s_ist_stamp (stamp, sizeof stamp, sym->now.ts);
    for (int i = 0; i < 6; i++) {
        snprintf (text [i], sizeof text [i], "%.6g", g [i]);
        sent [i] = strtod (text [i], NULL);
    }
    int n = snprintf (buf, size, "{\"greeks\":[\"%u\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\","
                      "\"%s\",\"%s\"]}", sym->id, stamp, text [0], text [1], text [2], text [3],
                      text [4], text [5]);
    assert (n > 0 && (size_t) n < size);
    return (size_t) n;
}

//  ------------------------------------------------------------------------------------------
//  Session queues

static s_msg_t *
s_msg_new (size_t len, bool binary)
{
    s_msg_t *msg = (s_msg_t *) malloc (sizeof (s_msg_t) + LWS_PRE + len);
    assert (msg);
    msg->next = NULL;
    msg->binary = binary;
    msg->len = len;
    return msg;
}

static uint8_t *
s_msg_payload (s_msg_t *msg)
{
    return msg->data + LWS_PRE;
}

//  Queue a copy of data. A full queue drops the message rather than grow without bound;
//  while silent, messages wait in the queue (nothing is generated then but login replies).
//  Returns 0, or -1 when dropped.
static int
s_conn_push (s_conn_t *conn, const void *data, size_t len, bool binary)
{
    if (conn->dead || conn->close_code || conn->queued_bytes + len > S_QUEUE_MAX) {
        conn->dropped++;
        return -1;
    }
    s_msg_t *msg = s_msg_new (len, binary);
    memcpy (s_msg_payload (msg), data, len);
    if (conn->tail)
        conn->tail->next = msg;
    else
        conn->head = msg;
    conn->tail = msg;
    conn->queued_bytes += len;
    if (!conn->stalled)
        lws_callback_on_writable (conn->wsi);
    return 0;
}

static int
s_conn_push_text (s_conn_t *conn, const char *text)
{
    return s_conn_push (conn, text, strlen (text), false);
}

//  Record that sym's current state went out in a message of kind event
static void
s_sym_sent (s_sym_t *sym, int event)
{
    sym->sent = sym->now;
    sym->ever_sent = true;
    sym->sent_event = event;
}

//  ------------------------------------------------------------------------------------------
//  The --log file

//  Append to text the log line of a message that carries sym's current state to conn:
//  {"conn":1,"kind":"trade","symbol":"NIFTY-I","exchange_ts":1767584700000000000,
//   "ltp":22101,"volume":6543275,"bid":22100.5,"ask":22101}
//  kind is "trade", "bidask" or "snapshot". exchange_ts is the wire's stamp as a client reads
//  it (whole seconds, in ns); prices are printed as on the wire. A bidask carries no ltp or
//  volume, so the line has the symbol's, as the connector's merged tick does.
static void
s_log_add (s_text_t *text, const s_conn_t *conn, const s_sym_t *sym, const char *kind)
{
    const s_state_t *q = &sym->now;
    char ltp [32], bid [32], ask [32];
    s_format_paise (ltp, sizeof ltp, q->ltp);
    s_format_paise (bid, sizeof bid, q->bid);
    s_format_paise (ask, sizeof ask, q->ask);
    s_text_printf (text, "{\"conn\":%u,\"kind\":\"%s\",\"symbol\":", conn->id, kind);
    s_text_add_string (text, sym->name);
    s_text_printf (text, ",\"exchange_ts\":%" PRId64 ",\"ltp\":%s,\"volume\":%" PRId64
                   ",\"bid\":%s,\"ask\":%s}\n", q->ts * 1000000000, ltp, q->ttq, bid, ask);
}

//  Write the lines in text, flushing after each: a test reads the file while we run, and a
//  line left in stdio's buffer would look like a message that never went out.
static void
s_log_write (tm_tdsim_t *self, const s_text_t *text)
{
    const char *line = text->data;
    const char *end = text->data + text->len;
    while (line < end) {
        const char *newline = (const char *) memchr (line, '\n', (size_t) (end - line));
        size_t len = newline ? (size_t) (newline - line) + 1 : (size_t) (end - line);
        if ((fwrite (line, 1, len, self->log) != len || fflush (self->log))
        &&  !self->log_failed) {
            //  Once: a full disk would otherwise print a line per tick
            fprintf (stderr, "tickmux-sim: truedata: --log write failed: %s\n",
                     strerror (errno));
            self->log_failed = true;
        }
        line += len;
    }
}

//  ------------------------------------------------------------------------------------------
//  Sessions

static void s_timer_at (tm_tdsim_t *self, int64_t at_ns);
static int64_t s_market_run (tm_tdsim_t *self, int64_t until, bool send);

//  A symbol woken by its first subscriber first catches up with the market, so its snapshot
//  row and its next event are those of a simulator that watched it all along. It lands where
//  the timer left the awake ones; its events after that go out on the next pass.
static void
s_sym_ref (tm_tdsim_t *self, s_sym_t *sym)
{
    if (sym->refs++ == 0) {
        s_sym_catch_up (self, sym, self->market_ns);
        if (sym->next_at < self->timer_ns)
            s_timer_at (self, sym->next_at);
    }
}

//  A reply that carries a list of symbols, split into chunks of S_CHUNK_ROWS entries
typedef struct {
    const char *message;            //  "symbols added", "touchline" or "symbols removed"
    const char *count_key;          //  "symbolsadded" or "symbolsremoved"
    s_text_t list;                  //  Entries of the current chunk, comma-separated
    size_t rows;                    //  Entries in list
    size_t count;                   //  Entries of this chunk that count in count_key
    size_t replies;                 //  Chunks queued so far
    s_text_t log;                   //  --log lines of the current chunk's rows
} s_reply_t;

//  Queue the current chunk, keys in the order of the observed messages (truedata.md 3.2)
static void
s_reply_flush (s_conn_t *conn, s_reply_t *reply)
{
    s_text_t text = { NULL, 0, 0 };
    s_text_printf (&text, "{\"success\":true,\"message\":\"%s\",\"%s\":%zu,\"symbollist\":[",
                   reply->message, reply->count_key, reply->count);
    if (reply->rows)
        s_text_add (&text, reply->list.data, reply->list.len);
    s_text_printf (&text, "],\"totalsymbolsubscribed\":%zu}", conn->symbols);
    //  Rows are logged only once their chunk is queued: a dropped reply never reached anyone
    if (s_conn_push (conn, text.data, text.len, false) == 0 && conn->sim->log)
        s_log_write (conn->sim, &reply->log);
    free (text.data);
    reply->log.len = 0;
    reply->list.len = 0;
    reply->rows = reply->count = 0;
    reply->replies++;
}

//  Before an entry: the separator
static s_text_t *
s_reply_entry (s_reply_t *reply)
{
    if (reply->rows)
        s_text_add (&reply->list, ",", 1);
    return &reply->list;
}

//  After an entry; counted says whether it counts in count_key
static void
s_reply_entry_done (s_conn_t *conn, s_reply_t *reply, bool counted)
{
    reply->rows++;
    reply->count += counted;
    if (reply->rows == S_CHUNK_ROWS)
        s_reply_flush (conn, reply);
}

//  Queue what is left; every request gets at least one reply, even an empty one.
static void
s_reply_end (s_conn_t *conn, s_reply_t *reply)
{
    if (reply->rows || !reply->replies)
        s_reply_flush (conn, reply);
    free (reply->list.data);
    free (reply->log.data);
}

//  A snapshot row of sym in reply, 17 or 18 elements, logged with its chunk
static void
s_reply_row (s_conn_t *conn, s_reply_t *reply, s_sym_t *sym, bool row17)
{
    //  A row of a symbol nobody subscribed (the row17 fault's) shows the market now too
    if (!sym->refs)
        s_sym_catch_up (conn->sim, sym, conn->sim->market_ns);
    s_add_row (s_reply_entry (reply), sym, &sym->now, row17);
    if (conn->sim->log)
        s_log_add (&reply->log, conn, sym, "snapshot");
    s_sym_sent (sym, S_EVENT_NONE);
    s_reply_entry_done (conn, reply, true);
}

//  addsymbol (truedata.md 3.2): a row per symbol, a null for one repeated in the request
//  (errata), an "Invalid" row for an unknown one, nothing for those beyond maxsymbols.
//  symbolsadded counts the rows of symbols now subscribed. Returns the number of entries
//  that were not strings.
static size_t
s_conn_add (tm_tdsim_t *self, s_conn_t *conn, json_t *symbols)
{
    s_reply_t reply = { "symbols added", "symbolsadded", { NULL, 0, 0 }, 0, 0, 0,
                        { NULL, 0, 0 } };
    size_t bad = 0;
    self->generation++;
    size_t i;
    json_t *item;
    json_array_foreach (symbols, i, item) {
        const char *name = json_string_value (item);
        if (!name) {
            bad++;
            continue;
        }
        s_sym_t *sym = s_sym_lookup (self, name);
        if (!sym) {
            //  Echoed upper-cased, as the name would have been looked up
            size_t len = strlen (name);
            char *upper = strdup (name);
            assert (upper);
            for (size_t c = 0; c < len; c++)
                upper [c] = (char) toupper ((unsigned char) upper [c]);
            s_add_invalid_row (s_reply_entry (&reply), upper);
            free (upper);
            s_reply_entry_done (conn, &reply, false);
            continue;
        }
        size_t index = (size_t) (sym - self->syms);
        if (self->mark [index] == self->generation) {
            s_text_add (s_reply_entry (&reply), "null", 4);
            s_reply_entry_done (conn, &reply, false);
            continue;
        }
        self->mark [index] = self->generation;
        if (!conn->subscribed [index]) {
            //  Beyond the limit the excess is silently not subscribed (truedata.md 5).
            if (conn->symbols >= self->config.max_symbols)
                continue;
            conn->subscribed [index] = 1;
            conn->symbols++;
            s_sym_ref (self, sym);
        }
        s_reply_row (conn, &reply, sym, false);
    }
    s_reply_end (conn, &reply);
    return bad;
}

//  removesymbol (truedata.md 3.3): "SYMBOL:ID" strings for the symbols that were subscribed
static size_t
s_conn_remove (tm_tdsim_t *self, s_conn_t *conn, json_t *symbols)
{
    s_reply_t reply = { "symbols removed", "symbolsremoved", { NULL, 0, 0 }, 0, 0, 0,
                        { NULL, 0, 0 } };
    size_t bad = 0;
    size_t i;
    json_t *item;
    json_array_foreach (symbols, i, item) {
        const char *name = json_string_value (item);
        if (!name) {
            bad++;
            continue;
        }
        s_sym_t *sym = s_sym_lookup (self, name);
        size_t index = sym ? (size_t) (sym - self->syms) : 0;
        if (!sym || !conn->subscribed [index])
            continue;
        conn->subscribed [index] = 0;
        conn->symbols--;
        sym->refs--;
        char entry [TM_SYMBOL_MAX + 16];
        snprintf (entry, sizeof entry, "%s:%u", sym->name, sym->id);
        s_text_add_string (s_reply_entry (&reply), entry);
        s_reply_entry_done (conn, &reply, true);
    }
    s_reply_end (conn, &reply);
    return bad;
}

//  A touchline refresh (truedata.md 3.4) of everything conn subscribed, or, for the row17
//  fault, a "symbols added" snapshot with 17-element rows (of two fixed symbols when conn
//  has none). Chunked like an addsymbol reply.
static void
s_conn_touchline (tm_tdsim_t *self, s_conn_t *conn, bool row17)
{
    s_reply_t reply = { row17 ? "symbols added" : "touchline", "symbolsadded",
                        { NULL, 0, 0 }, 0, 0, 0, { NULL, 0, 0 } };
    s_sym_t *fixed [2] = { s_sym_find (self, "RELIANCE"), s_sym_find (self, "NIFTY 50") };
    bool use_fixed = row17 && conn->symbols == 0;
    size_t count = use_fixed ? 2 : self->nsyms;
    for (size_t i = 0; i < count; i++) {
        s_sym_t *sym = use_fixed ? fixed [i] : &self->syms [i];
        if (!use_fixed && !conn->subscribed [i])
            continue;
        s_reply_row (conn, &reply, sym, row17);
    }
    s_reply_end (conn, &reply);
}

static void
s_market_status (s_conn_t *conn)
{
    //  Free text (truedata.md 3.7); NSE cash hours on weekdays, holidays ignored.
    struct tm tm;
    s_ist_tm (s_now_s (), &tm);
    int minute = tm.tm_hour * 60 + tm.tm_min;
    bool open = tm.tm_wday != 0 && tm.tm_wday != 6 && minute >= 9 * 60 + 15
             && minute < 15 * 60 + 30;
    s_conn_push_text (conn, open ? "{\"success\":true,\"message\":\"marketstatus\","
                                   "\"data\":\"NSE EQ: Market Open\"}"
                                 : "{\"success\":true,\"message\":\"marketstatus\","
                                   "\"data\":\"NSE EQ: Market Closed\"}");
}

static void
s_conn_request (tm_tdsim_t *self, s_conn_t *conn, const char *text, size_t len)
{
    conn->received++;
    json_error_t error;
    json_t *root = json_loadb (text, len, 0, &error);
    const char *method = json_is_object (root)
                       ? json_string_value (json_object_get (root, "method")) : NULL;
    json_t *symbols = method ? json_object_get (root, "symbols") : NULL;
    bool ok = false;
    //  Tests check that clients keep their requests within truedata.md 2's 1500 symbols
    if (json_is_array (symbols) && json_array_size (symbols) > self->largest_request)
        self->largest_request = json_array_size (symbols);
    if (!method)
        ;
    else
    if (streq (method, "addsymbol") && json_is_array (symbols))
        ok = s_conn_add (self, conn, symbols) == 0;
    else
    if (streq (method, "removesymbol") && json_is_array (symbols))
        ok = s_conn_remove (self, conn, symbols) == 0;
    else
    if (streq (method, "getmarketstatus")) {
        s_market_status (conn);
        ok = true;
    }
    else
    if (streq (method, "touchline")) {
        s_conn_touchline (self, conn, false);
        ok = true;
    }
    else
    if (streq (method, "logout")) {
        //  The session ends server-side (truedata.md 2): a normal close once queued
        //  messages are out.
        conn->logged_in = false;
        conn->close_code = LWS_CLOSE_STATUS_NORMAL;
        lws_callback_on_writable (conn->wsi);
        ok = true;
    }
    //  The real server's reaction to junk is undocumented: ignore and count.
    if (!ok)
        self->malformed++;
    json_decref (root);
}

static void
s_on_heartbeat (lws_sorted_usec_list_t *sul)
{
    s_conn_t *conn = lws_container_of (sul, s_conn_t, heartbeat_sul);
    tm_tdsim_t *self = conn->sim;
    if (!self->silent && !conn->dead && conn->logged_in) {
        //  Server time with exactly 6 fraction digits (truedata.md 3.7, errata: a 'T')
        int64_t ns = tm_clock_now_ns ();
        char stamp [32], text [128];
        s_ist_stamp (stamp, sizeof stamp, ns / 1000000000);
        snprintf (text, sizeof text, "{\"success\":true,\"message\":\"HeartBeat\","
                  "\"timestamp\":\"%s.%06d\"}", stamp, (int) (ns % 1000000000 / 1000));
        if (s_conn_push_text (conn, text) == 0)
            self->heartbeats_sent++;
    }
    //  The cadence is kept from the first beat, so writing late does not drift it.
    int64_t period = (int64_t) self->config.heartbeat_ms * 1000000;
    int64_t now = tm_clock_mono_ns ();
    conn->next_heartbeat += period;
    if (conn->next_heartbeat <= now)
        conn->next_heartbeat = now + period;
    lws_sul_schedule (self->context, 0, &conn->heartbeat_sul, s_on_heartbeat,
                      (lws_usec_t) ((conn->next_heartbeat - now) / 1000));
}

static void
s_on_refused_close (lws_sorted_usec_list_t *sul)
{
    s_conn_t *conn = lws_container_of (sul, s_conn_t, close_sul);
    if (conn->dead || conn->close_code)
        return;
    conn->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
    lws_callback_on_writable (conn->wsi);
}

//  The welcome (truedata.md 3.1), success or failure; a refused session closes with 1008
//  after S_REFUSE_CLOSE_US.
static void
s_conn_login (tm_tdsim_t *self, s_conn_t *conn, const char *user, const char *password)
{
    const char *refusal = NULL;
    if (self->refuse)
        refusal = S_DUPLICATE_TEXT;
    else
    if (!user || !password || !streq (user, self->user) || !streq (password, self->password))
        refusal = S_BAD_LOGIN_TEXT;
    else
        for (size_t i = 0; i < self->nconns; i++) {
            s_conn_t *other = self->conns [i];
            if (other != conn && other->logged_in && !other->dead && streq (other->user, user))
                refusal = S_DUPLICATE_TEXT;
        }
    char text [512];
    if (refusal) {
        self->logins_refused++;
        snprintf (text, sizeof text, "{\"success\":false,\"message\":\"%s\",\"segments\":null,"
                  "\"maxsymbols\":0,\"subscription\":null,\"validity\":\"0001-01-01T00:00:00\"}",
                  refusal);
        s_conn_push_text (conn, text);
        lws_sul_schedule (self->context, 0, &conn->close_sul, s_on_refused_close,
                          S_REFUSE_CLOSE_US);
        return;
    }
    self->logins++;
    conn->logged_in = true;
    //  Valid for a year from today, at midnight IST
    struct tm tm;
    s_ist_tm (s_now_s () + 365 * 86400, &tm);
    char validity [32];
    strftime (validity, sizeof validity, "%Y-%m-%dT00:00:00", &tm);
    snprintf (text, sizeof text, "{\"success\":true,\"message\":\"" S_WELCOME_TEXT "\","
              "\"segments\":[\"EQ\",\"FO\",\"IND\"],\"maxsymbols\":%zu,\"subscription\":\"tick\","
              "\"validity\":\"%s\"}", self->config.max_symbols, validity);
    s_conn_push_text (conn, text);
    int64_t period = (int64_t) self->config.heartbeat_ms * 1000000;
    conn->next_heartbeat = tm_clock_mono_ns () + period;
    lws_sul_schedule (self->context, 0, &conn->heartbeat_sul, s_on_heartbeat,
                      (lws_usec_t) (period / 1000));
}

//  Copy the value of query parameter name (decoded by lws) into buf. Returns buf or NULL
//  when absent or too long.
static const char *
s_query_arg (struct lws *wsi, const char *name, char *buf, size_t size)
{
    size_t name_len = strlen (name);
    char pair [S_CRED_MAX + 32];
    for (int n = 0; ; n++) {
        int len = lws_hdr_copy_fragment (wsi, pair, sizeof pair, WSI_TOKEN_HTTP_URI_ARGS, n);
        if (len < 0)
            return NULL;
        if ((size_t) len > name_len && strncmp (pair, name, name_len) == 0
        &&  pair [name_len] == '=') {
            if ((size_t) len - name_len - 1 >= size)
                return NULL;
            memcpy (buf, pair + name_len + 1, (size_t) len - name_len);
            return buf;
        }
    }
}

static s_conn_t *
s_conn_new (tm_tdsim_t *self, struct lws *wsi)
{
    if (self->nconns >= S_CONNS_MAX)
        return NULL;
    s_conn_t *conn = (s_conn_t *) calloc (1, sizeof (s_conn_t));
    assert (conn);
    conn->subscribed = (uint8_t *) calloc (self->nsyms, 1);
    assert (conn->subscribed);
    conn->sim = self;
    conn->wsi = wsi;
    conn->id = ++self->next_conn_id;
    //  Room for several large snapshot replies, so s_has_room rarely makes a client wait
    int sndbuf = 4 * 1024 * 1024;
    int fd = lws_get_socket_fd (wsi);
    if (fd >= 0)
        setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    self->conns [self->nconns++] = conn;
    if (self->silent) {
        lws_rx_flow_control (wsi, 0);
        conn->stalled = true;
    }
    char user [S_CRED_MAX], password [S_CRED_MAX];
    const char *u = s_query_arg (wsi, "user", user, sizeof user);
    const char *p = s_query_arg (wsi, "password", password, sizeof password);
    if (u)
        snprintf (conn->user, sizeof conn->user, "%s", u);
    s_conn_login (self, conn, u, p);
    return conn;
}

static void
s_conn_destroy (tm_tdsim_t *self, s_conn_t **conn_p)
{
    s_conn_t *conn = *conn_p;
    if (!conn)
        return;
    lws_sul_cancel (&conn->heartbeat_sul);
    lws_sul_cancel (&conn->close_sul);
    for (size_t i = 0; i < self->nsyms; i++)
        if (conn->subscribed [i])
            self->syms [i].refs--;
    for (size_t i = 0; i < self->nconns; i++)
        if (self->conns [i] == conn) {
            self->conns [i] = self->conns [--self->nconns];
            break;
        }
    while (conn->head) {
        s_msg_t *next = conn->head->next;
        free (conn->head);
        conn->head = next;
    }
    free (conn->subscribed);
    free (conn->rx);
    free (conn);
    *conn_p = NULL;
}

static int
s_conn_receive (tm_tdsim_t *self, s_conn_t *conn, const void *in, size_t len)
{
    //  An oversized message is read to its end and dropped, then closed with 1009 from the
    //  writeable callback: returning -1 here with input left in lws's buffer makes lws 4.1.6
    //  spin on the dead socket once the client goes.
    if (conn->rx_overflow || conn->rx_len + len > S_WS_MSG_MAX) {
        conn->rx_overflow = true;
        if (lws_is_final_fragment (conn->wsi)) {
            self->malformed++;
            conn->logged_in = false;
            conn->close_code = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
            lws_callback_on_writable (conn->wsi);
        }
        return 0;
    }
    if (!conn->rx) {
        conn->rx = (char *) malloc (S_WS_MSG_MAX);
        assert (conn->rx);
    }
    memcpy (conn->rx + conn->rx_len, in, len);
    conn->rx_len += len;
    if (!lws_is_final_fragment (conn->wsi))
        return 0;
    //  A refused or closing session's messages are read and ignored.
    if (!conn->logged_in || conn->close_code)
        ;
    else
    if (lws_frame_is_binary (conn->wsi))
        self->malformed++;          //  Clients only ever send JSON text
    else
        s_conn_request (self, conn, conn->rx, conn->rx_len);
    conn->rx_len = 0;
    return 0;
}

//  True when the kernel can take len more bytes now. We never let lws hold a partial
//  write: with output buffered, lws 4.1.6 defers reading, and if the client then vanishes
//  it spins reading EOF instead of closing. SIOCOUTQ counts payload, SO_SNDBUF truesize,
//  hence the factor of two.
static bool
s_has_room (struct lws *wsi, size_t len)
{
    int fd = lws_get_socket_fd (wsi);
    int queued = 0, sndbuf = 0;
    socklen_t size = sizeof sndbuf;
    if (fd < 0 || ioctl (fd, SIOCOUTQ, &queued) || getsockopt (fd, SOL_SOCKET, SO_SNDBUF,
                                                               &sndbuf, &size))
        return true;                //  Cannot tell: let lws cope
    return 2 * ((size_t) queued + len + LWS_PRE) <= (size_t) sndbuf;
}

static int
s_conn_writeable (tm_tdsim_t *self, s_conn_t *conn)
{
    if (self->silent || conn->dead)
        return 0;
    //  Several messages per callback while the kernel takes them whole: a 4000-symbol
    //  session at 2 ticks/s is 8000 messages a second.
    for (int n = 0; conn->head && n < S_WRITES_MAX; n++) {
        if (!s_has_room (conn->wsi, conn->head->len)) {
            conn->waiting_room = true;  //  The timer asks for writeable again
            return 0;
        }
        s_msg_t *msg = conn->head;
        conn->head = msg->next;
        if (!conn->head)
            conn->tail = NULL;
        conn->queued_bytes -= msg->len;
        int rc = lws_write (conn->wsi, s_msg_payload (msg), msg->len,
                            msg->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        bool short_write = rc < (int) msg->len;
        free (msg);
        if (short_write)
            return -1;
        self->frames_sent++;
    }
    if (conn->head) {
        lws_callback_on_writable (conn->wsi);
        return 0;
    }
    if (conn->close_code) {
        const char *why = conn->close_code == LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE
                        ? "message too large"
                        : conn->close_code == LWS_CLOSE_STATUS_POLICY_VIOLATION
                        ? "login refused" : "logout";
        lws_close_reason (conn->wsi, (enum lws_close_status) conn->close_code,
                          (unsigned char *) why, strlen (why));
        return -1;
    }
    return 0;
}

//  Only the session limit can refuse the upgrade itself; credentials are judged by the
//  welcome message, as TrueData does (truedata.md 1).
static int
s_confirm_upgrade (tm_tdsim_t *self, struct lws *wsi)
{
    if (self->nconns < S_CONNS_MAX)
        return 0;
    //  Written by hand: at this point lws has not recorded the request's HTTP version, and
    //  lws_return_http_status would answer "HTTP/1.0", which WebSocket clients reject.
    static const char body [] = "{\"error\":\"too many sessions\"}";
    char answer [LWS_PRE + 256];
    int len = snprintf (answer + LWS_PRE, sizeof answer - LWS_PRE,
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                        "content-length: %zu\r\nconnection: close\r\n\r\n%s",
                        sizeof body - 1, body);
    if (len < 0 || (size_t) len >= sizeof answer - LWS_PRE
    ||  lws_write (wsi, (unsigned char *) answer + LWS_PRE, (size_t) len,
                   LWS_WRITE_HTTP_HEADERS) != len)
        return -1;
    return 1;
}

//  ------------------------------------------------------------------------------------------
//  HTTP plumbing (the control plane)

static void
s_pss_reset (s_pss_t *pss)
{
    free (pss->body);
    free (pss->out);
    s_conn_t *conn = pss->conn;
    memset (pss, 0, sizeof *pss);
    pss->conn = conn;
}

static void
s_args_add (s_pss_t *pss, const char *pair, size_t len)
{
    if (pss->args_len + len + 1 > sizeof pss->args) {
        pss->args_overflow = true;
        return;
    }
    memcpy (pss->args + pss->args_len, pair, len);
    pss->args [pss->args_len + len] = '\0';
    pss->args_len += len + 1;
}

//  Value of the parameter called name, or NULL
static const char *
s_arg (s_pss_t *pss, const char *name)
{
    size_t name_len = strlen (name);
    for (size_t at = 0; at < pss->args_len; at += strlen (pss->args + at) + 1) {
        const char *pair = pss->args + at;
        if (strncmp (pair, name, name_len) == 0 && pair [name_len] == '=')
            return pair + name_len + 1;
    }
    return NULL;
}

static int
s_hex (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

//  Split an application/x-www-form-urlencoded body into the parameter list
static void
s_args_add_form (s_pss_t *pss, const char *body, size_t len)
{
    char pair [1024];
    size_t n = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? body [i] : '&';
        if (c == '&') {
            if (n)
                s_args_add (pss, pair, n);
            n = 0;
            continue;
        }
        if (c == '+')
            c = ' ';
        else
        if (c == '%' && i + 2 < len && s_hex (body [i + 1]) >= 0 && s_hex (body [i + 2]) >= 0) {
            c = (char) (s_hex (body [i + 1]) * 16 + s_hex (body [i + 2]));
            i += 2;
        }
        if (n < sizeof pair - 1)
            pair [n++] = c;
        else
            pss->args_overflow = true;
    }
}

//  Answer with body (copied)
static int
s_respond (struct lws *wsi, s_pss_t *pss, unsigned status, const char *body, size_t len)
{
    free (pss->out);
    pss->out = (uint8_t *) malloc (LWS_PRE + len + 1);
    assert (pss->out);
    memcpy (pss->out + LWS_PRE, body, len);
    pss->out_len = len;
    pss->out_sent = 0;
    unsigned char headers [LWS_PRE + 1024];
    unsigned char *start = headers + LWS_PRE, *p = start, *end = headers + sizeof headers - 1;
    if (lws_add_http_common_headers (wsi, status, "application/json", len, &p, end))
        return 1;
    if (lws_finalize_write_http_header (wsi, start, &p, end))
        return 1;
    lws_callback_on_writable (wsi);
    return 0;
}

//  Answer with root as JSON (takes root)
static int
s_respond_json (struct lws *wsi, s_pss_t *pss, unsigned status, json_t *root)
{
    char *text = json_dumps (root, JSON_COMPACT | JSON_REAL_PRECISION (15));
    json_decref (root);
    assert (text);
    int rc = s_respond (wsi, pss, status, text, strlen (text));
    free (text);
    return rc;
}

static int
s_respond_error (struct lws *wsi, s_pss_t *pss, unsigned status, const char *message)
{
    return s_respond_json (wsi, pss, status, json_pack ("{s:s}", "error", message));
}

//  ------------------------------------------------------------------------------------------
//  The /_sim/ control plane

static void
s_conn_kill (s_conn_t *conn)
{
    //  shutdown () sends FIN with no close frame: the client sees an abnormal closure
    //  (1006), as after a network drop. lws frees the session once it notices.
    int fd = lws_get_socket_fd (conn->wsi);
    if (fd >= 0)
        shutdown (fd, SHUT_RDWR);
    conn->dead = true;
    conn->logged_in = false;
    lws_set_timeout (conn->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}

static int
s_sim_fault (tm_tdsim_t *self, struct lws *wsi, s_pss_t *pss)
{
    static const char *kinds [] = { "close", "silent", "garbage", "binary", "unknown",
        "touchline", "row17", "refuse", "resume", NULL };
    const char *kind = s_arg (pss, "kind");
    size_t k = 0;
    while (kind && kinds [k] && !streq (kinds [k], kind))
        k++;
    if (!kind || !kinds [k]) {
        char message [256];
        snprintf (message, sizeof message, "kind '%.64s': expected one of close, silent, "
                  "garbage, binary, unknown, touchline, row17, refuse, resume",
                  kind ? kind : "");
        return s_respond_error (wsi, pss, 400, message);
    }
    self->faults++;
    if (streq (kind, "silent") || streq (kind, "resume")) {
        bool silent = streq (kind, "silent");
        if (!silent)
            self->refuse = false;
        //  The silence starts and ends now, not at the timer's next pass: what happened
        //  before it still goes out, what happened in it never does.
        if (silent != self->silent)
            s_market_run (self, tm_clock_now_ns (), !self->silent);
        self->silent = silent;
        for (size_t i = 0; i < self->nconns; i++) {
            s_conn_t *conn = self->conns [i];
            if (conn->dead)
                continue;
            //  Not reading also means not answering pings: a stalled server sends nothing.
            lws_rx_flow_control (conn->wsi, silent ? 0 : 1);
            conn->stalled = silent;
            if (!silent && (conn->head || conn->close_code))
                lws_callback_on_writable (conn->wsi);
        }
    }
    else
    if (streq (kind, "refuse"))
        self->refuse = true;
    size_t affected = 0;
    for (size_t i = 0; i < self->nconns; i++) {
        s_conn_t *conn = self->conns [i];
        if (conn->dead || !conn->logged_in)
            continue;
        if (streq (kind, "close"))
            s_conn_kill (conn);
        else
        if (streq (kind, "garbage"))
            s_conn_push_text (conn, "tickmux-sim garbage: {\"trade\":[\"not json");
        else
        if (streq (kind, "binary")) {
            //  Looks like a compressed-mode frame (truedata.md 8) but is just bytes
            uint8_t bytes [90];
            uint64_t state = self->config.seed ^ self->faults;
            for (size_t b = 0; b < sizeof bytes; b++)
                bytes [b] = (uint8_t) s_rand (&state);
            bytes [0] = 'T';
            s_conn_push (conn, bytes, sizeof bytes, true);
        }
        else
        if (streq (kind, "unknown"))
            s_conn_push_text (conn, "{\"bar15sec\":[\"200000001\",\"2024-01-25T10:15:00\","
                                    "\"1\",\"2\",\"0.5\",\"1.5\",\"10\",\"0\"]}");
        else
        if (streq (kind, "touchline") || streq (kind, "row17"))
            s_conn_touchline (self, conn, streq (kind, "row17"));
        else
            continue;
        affected++;
    }
    return s_respond_json (wsi, pss, 200, json_pack ("{s:s, s:s, s:I}", "status", "ok",
                           "kind", kind, "connections", (json_int_t) affected));
}

static int
s_sim_state (tm_tdsim_t *self, struct lws *wsi, s_pss_t *pss)
{
    json_t *conns = json_array ();
    for (size_t i = 0; i < self->nconns; i++) {
        s_conn_t *conn = self->conns [i];
        if (conn->dead || !conn->logged_in)
            continue;
        json_array_append_new (conns, json_pack ("{s:i, s:s, s:I, s:I, s:I, s:I}",
            "id", (int) conn->id, "user", conn->user, "symbols", (json_int_t) conn->symbols,
            "queued_bytes", (json_int_t) conn->queued_bytes,
            "dropped", (json_int_t) conn->dropped, "received", (json_int_t) conn->received));
    }
    char anchor [32];
    s_ist_stamp (anchor, sizeof anchor, self->anchor_ns / 1000000000);
    return s_respond_json (wsi, pss, 200, json_pack (
        "{s:o, s:I, s:I, s:I, s:I, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:i, s:s}",
        "connections", conns,
        "largest_request", (json_int_t) self->largest_request,
        "logins_refused", (json_int_t) self->logins_refused,
        "logins", (json_int_t) self->logins,
        "malformed", (json_int_t) self->malformed,
        "silent", self->silent, "refuse", self->refuse,
        "trades_sent", (json_int_t) self->trades_sent,
        "greeks_sent", (json_int_t) self->greeks_sent,
        "bidasks_sent", (json_int_t) self->bidasks_sent,
        "heartbeats_sent", (json_int_t) self->heartbeats_sent,
        "frames_sent", (json_int_t) self->frames_sent,
        "faults", (json_int_t) self->faults,
        "universe", (json_int_t) self->nsyms,
        "log", self->log != NULL,
        "delay_ms", self->config.delay_ms,
        "anchor", anchor));
}

static int
s_sim_last (tm_tdsim_t *self, struct lws *wsi, s_pss_t *pss)
{
    const char *name = s_arg (pss, "symbol");
    if (!name || !*name)
        return s_respond_error (wsi, pss, 400, "missing `symbol`");
    s_sym_t *sym = s_sym_lookup (self, name);
    if (!sym)
        return s_respond_error (wsi, pss, 404, "unknown symbol");
    if (!sym->ever_sent)
        return s_respond_error (wsi, pss, 404, "nothing sent for symbol");
    const s_state_t *q = &sym->sent;
    char stamp [32];
    s_ist_stamp (stamp, sizeof stamp, q->ts);
    char tag [2] = { q->tag, '\0' };
    json_t *root = json_pack ("{s:s, s:I, s:f, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:f, s:I,"
                              " s:f, s:I, s:I, s:s, s:f, s:f, s:I, s:s, s:s}",
        "symbol", sym->name, "id", (json_int_t) sym->id,
        "ltp", s_rupees (q->ltp), "ltq", (json_int_t) q->ltq, "volume", (json_int_t) q->ttq,
        "open", s_rupees (q->open), "high", s_rupees (q->high), "low", s_rupees (q->low),
        "prev_close", s_rupees (q->close), "oi", (json_int_t) q->oi,
        "bid", s_rupees (q->bid), "bid_qty", (json_int_t) q->bid_qty,
        "ask", s_rupees (q->ask), "ask_qty", (json_int_t) q->ask_qty,
        "seq", (json_int_t) q->seq, "ts", stamp,
        "atp", s_rupees (q->atp), "turnover", s_rupees (q->turnover),
        "prev_oi", (json_int_t) q->prev_oi, "tag", tag,
        "kind", s_event_names [sym->sent_event]);
    if (sym->greeks_sent)
        json_object_set_new (root, "greeks", json_pack ("{s:f, s:f, s:f, s:f, s:f, s:f}",
            "iv", sym->greeks [0], "delta", sym->greeks [1], "theta", sym->greeks [2],
            "gamma", sym->greeks [3], "vega", sym->greeks [4], "rho", sym->greeks [5]));
    return s_respond_json (wsi, pss, 200, root);
}

//  The universe, so tests can name symbols (option names follow the seed and the date):
//  {"symbols":[{"symbol":..., "id":..., "kind":"eq|index|fut|opt"}, ...]}
static int
s_sim_symbols (tm_tdsim_t *self, struct lws *wsi, s_pss_t *pss)
{
    static const char *kinds [] = { "eq", "index", "fut", "opt" };
    json_t *list = json_array ();
    for (size_t i = 0; i < self->nsyms; i++) {
        s_sym_t *sym = &self->syms [i];
        json_array_append_new (list, json_pack ("{s:s, s:I, s:s}", "symbol", sym->name,
                               "id", (json_int_t) sym->id, "kind", kinds [sym->kind]));
    }
    return s_respond_json (wsi, pss, 200, json_pack ("{s:o}", "symbols", list));
}

static int
s_dispatch (tm_tdsim_t *self, struct lws *wsi, s_pss_t *pss)
{
    const char *path = pss->path;
    if (pss->args_overflow || pss->body_overflow)
        return s_respond_error (wsi, pss, 400, "request too large");
    if (streq (path, "/_sim/fault")) {
        if (pss->method != LWSHUMETH_POST)
            return s_respond_error (wsi, pss, 405, "use POST");
        return s_sim_fault (self, wsi, pss);
    }
    if (streq (path, "/_sim/state"))
        return s_sim_state (self, wsi, pss);
    if (streq (path, "/_sim/last"))
        return s_sim_last (self, wsi, pss);
    if (streq (path, "/_sim/symbols"))
        return s_sim_symbols (self, wsi, pss);
    return s_respond_error (wsi, pss, 404, "not found (the feed is a WebSocket at any path)");
}

static int
s_http_request (tm_tdsim_t *self, struct lws *wsi, s_pss_t *pss, const char *path)
{
    s_pss_reset (pss);
    char *uri;
    int uri_len;
    pss->method = lws_http_get_uri_and_method (wsi, &uri, &uri_len);
    snprintf (pss->path, sizeof pss->path, "%s", path ? path : "/");
    char pair [2048];
    for (int n = 0; ; n++) {
        int len = lws_hdr_copy_fragment (wsi, pair, sizeof pair, WSI_TOKEN_HTTP_URI_ARGS, n);
        if (len < 0)
            break;
        if (len > 0)
            s_args_add (pss, pair, (size_t) len);
    }
    if (pss->method == LWSHUMETH_POST) {
        char length [32];
        if (lws_hdr_copy (wsi, length, sizeof length, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0
        &&  atoll (length) > 0) {
            if (atoll (length) > S_BODY_MAX)
                return s_respond_error (wsi, pss, 413, "body too large");
            pss->body_expected = true;
            return 0;               //  Answered on LWS_CALLBACK_HTTP_BODY_COMPLETION
        }
    }
    return s_dispatch (self, wsi, pss);
}

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    tm_tdsim_t *self = (tm_tdsim_t *) lws_context_user (lws_get_context (wsi));
    s_pss_t *pss = (s_pss_t *) user;
    switch (reason) {
        case LWS_CALLBACK_HTTP:
            return s_http_request (self, wsi, pss, (const char *) in);

        case LWS_CALLBACK_HTTP_BODY:
            if (!pss->body_expected)
                break;
            if (pss->body_len + len > S_BODY_MAX) {
                pss->body_overflow = true;
                break;
            }
            pss->body = (char *) realloc (pss->body, pss->body_len + len + 1);
            assert (pss->body);
            memcpy (pss->body + pss->body_len, in, len);
            pss->body_len += len;
            break;

        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            if (!pss->body_expected)
                break;
            pss->body_expected = false;
            if (pss->body)
                s_args_add_form (pss, pss->body, pss->body_len);
            free (pss->body);
            pss->body = NULL;
            pss->body_len = 0;
            return s_dispatch (self, wsi, pss);

        case LWS_CALLBACK_HTTP_WRITEABLE: {
            if (!pss || !pss->out)
                break;
            size_t left = pss->out_len - pss->out_sent;
            size_t chunk = left < S_HTTP_CHUNK ? left : S_HTTP_CHUNK;
            //  Bytes before the chunk were sent already, so they serve as its LWS_PRE room.
            if (lws_write (wsi, pss->out + LWS_PRE + pss->out_sent, chunk,
                           chunk == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) chunk)
                return -1;
            pss->out_sent += chunk;
            if (pss->out_sent < pss->out_len) {
                lws_callback_on_writable (wsi);
                break;
            }
            free (pss->out);
            pss->out = NULL;
            if (lws_http_transaction_completed (wsi))
                return -1;
            break;
        }
        case LWS_CALLBACK_CLOSED_HTTP:
            if (pss)
                s_pss_reset (pss);
            break;

        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            return s_confirm_upgrade (self, wsi);

        case LWS_CALLBACK_ESTABLISHED:
            s_pss_reset (pss);
            pss->conn = s_conn_new (self, wsi);
            return pss->conn ? 0 : -1;

        case LWS_CALLBACK_RECEIVE:
            if (!pss->conn)
                return -1;
            return s_conn_receive (self, pss->conn, in, len);

        case LWS_CALLBACK_SERVER_WRITEABLE:
            if (!pss->conn)
                return -1;
            return s_conn_writeable (self, pss->conn);

        case LWS_CALLBACK_CLOSED:
            s_conn_destroy (self, &pss->conn);
            s_pss_reset (pss);
            break;

        default:
            break;
    }
    return 0;
}

static struct lws_protocols s_protocols [] = {
    //  TrueData clients name no subprotocol, so protocols [0] gets their upgrade at any path,
    //  and all HTTP.
    //  tx_packet_size: left at 0, lws 4.1.6 writes at most rx_buffer_size bytes of a message
    //  and returns short, so a 1500-row snapshot (about 300 KB; under 1 MiB even for 64 KiB
    //  of escaped invalid names) would end the session.
    { "truedata", s_callback, sizeof (s_pss_t), 4096, 0, NULL, S_TX_PACKET_MAX },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

//  ------------------------------------------------------------------------------------------
//  The timer: ticks and hang-up probes

//  Whether due entry a comes before b: the earlier event, then the lower index, so a
//  derivative's underlying (listed before it) moves first when both tick at the same ns
static bool
s_due_before (tm_tdsim_t *self, size_t a, size_t b)
{
    int64_t at_a = self->syms [a].next_at, at_b = self->syms [b].next_at;
    return at_a < at_b || (at_a == at_b && a < b);
}

static void
s_due_push (tm_tdsim_t *self, size_t *count, size_t index)
{
    size_t *heap = self->due;
    size_t child = (*count)++;
    while (child > 0) {
        size_t parent = (child - 1) / 2;
        if (!s_due_before (self, index, heap [parent]))
            break;
        heap [child] = heap [parent];
        child = parent;
    }
    heap [child] = index;
}

static size_t
s_due_pop (tm_tdsim_t *self, size_t *count)
{
    size_t *heap = self->due;
    size_t top = heap [0];
    size_t last = heap [--*count];
    size_t parent = 0;
    while (true) {
        size_t child = 2 * parent + 1;
        if (child >= *count)
            break;
        if (child + 1 < *count && s_due_before (self, heap [child + 1], heap [child]))
            child++;
        if (!s_due_before (self, heap [child], last))
            break;
        heap [parent] = heap [child];
        parent = child;
    }
    if (*count)
        heap [parent] = last;
    return top;
}

//  Send the event sym just had (S_EVENT_*) to every session subscribed to it, then, after an
//  option's trade, its greeks at the underlying's price at the same instant (at_ns).
static void
s_sym_send (tm_tdsim_t *self, size_t index, int event, int64_t at_ns)
{
    s_sym_t *sym = &self->syms [index];
    char text [S_TRADE_MAX];
    size_t len = s_encode_event (sym, event, self->config.bidask, text, sizeof text);
    bool sent = false;
    for (size_t c = 0; c < self->nconns; c++) {
        s_conn_t *conn = self->conns [c];
        if (conn->logged_in && !conn->dead && conn->subscribed [index]
        &&  s_conn_push (conn, text, len, false) == 0) {
            sent = true;
            if (self->log) {
                self->log_line.len = 0;
                s_log_add (&self->log_line, conn, sym,
                           event == S_EVENT_TRADE ? "trade" : "bidask");
                s_log_write (self, &self->log_line);
            }
        }
    }
    if (!sent)
        return;
    s_sym_sent (sym, event);
    if (event == S_EVENT_TRADE)
        self->trades_sent++;
    else
        self->bidasks_sent++;
    //  An option's trade is followed by its greeks, when the account has them
    if (self->config.greeks && sym->kind == S_KIND_OPT && event == S_EVENT_TRADE) {
        //  A subscribed underlying has already had its events up to at_ns in this pass (they
        //  come first in time order); one asleep catches up to that instant, so every
        //  simulator prices this trade's greeks at the same spot.
        s_sym_t *underlying = &self->syms [sym->underlying];
        if (!underlying->refs)
            s_sym_catch_up (self, underlying, at_ns);
        len = s_encode_greeks (sym, s_rupees (underlying->now.ltp), sym->greeks, text,
                               sizeof text);
        for (size_t c = 0; c < self->nconns; c++) {
            s_conn_t *conn = self->conns [c];
            if (conn->logged_in && !conn->dead && conn->subscribed [index])
                s_conn_push (conn, text, len, false);
        }
        sym->greeks_sent = true;
        self->greeks_sent++;
    }
}

//  Walk every subscribed symbol through its events up to until (fake-clock ns), all symbols
//  together in time order, so a trade's greeks see the underlying as it was at that instant.
//  With send, each event goes out, except one already S_LATE_MAX_NS old (a stalled process
//  does not burst; the market went on without it); without, they happen unseen (the silent
//  fault). Returns the fake-clock ns of the next event of a subscribed symbol, or INT64_MAX.
static int64_t
s_market_run (tm_tdsim_t *self, int64_t until, bool send)
{
    int64_t next = INT64_MAX;
    size_t count = 0;
    for (size_t i = 0; i < self->nsyms; i++) {
        s_sym_t *sym = &self->syms [i];
        if (!sym->refs)
            continue;
        if (sym->next_at <= until)
            s_due_push (self, &count, i);
        else
        if (sym->next_at < next)
            next = sym->next_at;
    }
    while (count) {
        size_t index = s_due_pop (self, &count);
        s_sym_t *sym = &self->syms [index];
        int64_t at_ns = sym->next_at;
        int event = s_sym_step (self, sym);
        if (send && at_ns >= until - S_LATE_MAX_NS)
            s_sym_send (self, index, event, at_ns);
        if (sym->next_at <= until)
            s_due_push (self, &count, index);
        else
        if (sym->next_at < next)
            next = sym->next_at;
    }
    if (until > self->market_ns)
        self->market_ns = until;
    return next;
}

static void s_on_timer (lws_sorted_usec_list_t *sul);

//  Run the timer when the fake clock reaches at_ns, but within S_PERIOD_MIN_US and period_us
//  of now: the clock is the real one shifted, so its distance is the wait.
static void
s_timer_at (tm_tdsim_t *self, int64_t at_ns)
{
    int64_t now = tm_clock_now_ns ();
    int64_t wait_ns = at_ns > now ? at_ns - now : 0;
    if (wait_ns > (int64_t) self->period_us * 1000)
        wait_ns = (int64_t) self->period_us * 1000;
    int64_t wait_us = (wait_ns + 999) / 1000;
    if (wait_us < S_PERIOD_MIN_US)
        wait_us = S_PERIOD_MIN_US;
    self->timer_ns = now + wait_us * 1000;
    lws_sul_cancel (&self->tick_sul);
    lws_sul_schedule (self->context, 0, &self->tick_sul, s_on_timer, (lws_usec_t) wait_us);
}

static void
s_on_timer (lws_sorted_usec_list_t *sul)
{
    tm_tdsim_t *self = lws_container_of (sul, tm_tdsim_t, tick_sul);
    for (size_t c = 0; c < self->nconns; c++) {
        s_conn_t *conn = self->conns [c];
        if (conn->dead)
            continue;
        //  Ask the kernel whether the client has gone. A stalled session does not read, so
        //  lws cannot see it leave (and its user could not log in again); and lws 4.1.6
        //  with output still buffered for a vanished client keeps reading EOF in a busy
        //  loop instead of closing, so we close it ourselves.
        struct pollfd pfd = { lws_get_socket_fd (conn->wsi), POLLRDHUP, 0 };
        if (pfd.fd >= 0 && poll (&pfd, 1, 0) == 1
        &&  (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            s_conn_kill (conn);
            continue;
        }
        if (conn->waiting_room && !conn->stalled) {
            conn->waiting_room = false;
            lws_callback_on_writable (conn->wsi);
        }
    }
    //  While silent the market goes on unseen, as it does for a feed that has gone quiet
    s_timer_at (self, s_market_run (self, tm_clock_now_ns (), !self->silent));
}

//  ------------------------------------------------------------------------------------------
//  Public API

void
tm_tdsim_config_defaults (tm_tdsim_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof *config);
    config->port = 0;
    config->seed = 1;
    config->rate = 2.0;
    config->user = "tmuser";
    config->password = "tmpass";
    config->max_symbols = 5000;
    config->heartbeat_ms = 5000;
    config->bidask = true;
    config->greeks = true;
    config->delay_ms = 0;
    config->log_path = NULL;
}

static void
s_log_emit (int level, const char *line)
{
    fprintf (stderr, "tickmux-sim: lws: %s", line);
}

tm_tdsim_t *
tm_tdsim_new (const tm_tdsim_config_t *config, char *err, size_t err_size)
{
    assert (config);
    if (!(config->rate > 0) || config->rate > TM_TDSIM_RATE_MAX
    ||  config->port < 0 || config->port > 65535
    ||  config->max_symbols < 1 || config->max_symbols > TM_TDSIM_SYMBOLS_MAX
    ||  config->heartbeat_ms < TM_TDSIM_HEARTBEAT_MIN_MS
    ||  config->heartbeat_ms > TM_TDSIM_HEARTBEAT_MAX_MS
    ||  config->delay_ms < 0 || config->delay_ms > TM_TDSIM_DELAY_MAX_MS
    ||  !config->user || !config->password) {
        snprintf (err, err_size, "bad configuration (0 < rate <= %g, port 0-65535, "
                  "max_symbols 1-%d, heartbeat_ms %d-%d, delay_ms 0-%d, user and password set)",
                  TM_TDSIM_RATE_MAX, TM_TDSIM_SYMBOLS_MAX, TM_TDSIM_HEARTBEAT_MIN_MS,
                  TM_TDSIM_HEARTBEAT_MAX_MS, TM_TDSIM_DELAY_MAX_MS);
        return NULL;
    }
    tm_tdsim_t *self = (tm_tdsim_t *) calloc (1, sizeof (tm_tdsim_t));
    assert (self);
    self->config = *config;
    self->user = strdup (config->user);
    self->password = strdup (config->password);
    assert (self->user && self->password);
    self->config.user = self->user;
    self->config.password = self->password;
    self->config.log_path = NULL;   //  Borrowed: not kept past this call
    if (config->log_path) {
        self->log = fopen (config->log_path, "a");
        if (!self->log) {
            snprintf (err, err_size, "--log '%s': %s", config->log_path, strerror (errno));
            tm_tdsim_destroy (&self);
            return NULL;
        }
    }
    self->interval_ns = (int64_t) (1e9 / config->rate);
    lws_usec_t period = (lws_usec_t) (self->interval_ns / 2000);
    self->period_us = period < S_PERIOD_MIN_US ? S_PERIOD_MIN_US
                    : period > S_PERIOD_MAX_US ? S_PERIOD_MAX_US : period;
    s_universe_build (self);

    lws_set_log_level (LLL_ERR, s_log_emit);
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof info);
    info.port = config->port;
    info.iface = "127.0.0.1";
    info.protocols = s_protocols;
    info.user = self;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.max_http_header_data = 8192;
    info.fd_limit_per_thread = 256;
    self->context = lws_create_context (&info);
    if (!self->context) {
        snprintf (err, err_size, "cannot listen on 127.0.0.1:%d", config->port);
        tm_tdsim_destroy (&self);
        return NULL;
    }
    self->vhost = lws_get_vhost_by_name (self->context, "default");
    self->port = self->vhost ? lws_get_vhost_listen_port (self->vhost) : config->port;
    if (self->port <= 0) {
        snprintf (err, err_size, "cannot listen on 127.0.0.1:%d", config->port);
        tm_tdsim_destroy (&self);
        return NULL;
    }
    s_timer_at (self, INT64_MAX);
    return self;
}

void
tm_tdsim_destroy (tm_tdsim_t **self_p)
{
    assert (self_p);
    tm_tdsim_t *self = *self_p;
    if (!self)
        return;
    if (self->context) {
        lws_sul_cancel (&self->tick_sul);
        //  Closes every connection; sessions are freed in LWS_CALLBACK_CLOSED.
        lws_context_destroy (self->context);
    }
    for (size_t i = self->nconns; i > 0; i--) {
        s_conn_t *conn = self->conns [i - 1];
        s_conn_destroy (self, &conn);
    }
    free (self->syms);
    free (self->by_name);
    free (self->mark);
    free (self->due);
    free (self->user);
    free (self->password);
    if (self->log)
        fclose (self->log);
    free (self->log_line.data);
    free (self);
    *self_p = NULL;
}

int
tm_tdsim_port (tm_tdsim_t *self)
{
    assert (self);
    return self->port;
}

size_t
tm_tdsim_symbols (tm_tdsim_t *self)
{
    assert (self);
    return self->nsyms;
}

int
tm_tdsim_service (tm_tdsim_t *self)
{
    assert (self);
    //  The timer keeps the wait under S_PERIOD_MAX_US; a signal ends it at once (EINTR).
    return lws_service (self->context, 0) < 0 ? -1 : 0;
}
