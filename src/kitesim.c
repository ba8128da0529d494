//  kitesim - a wire-faithful Zerodha Kite simulator on loopback (see kitesim.h)
//
//  Sections: instruments (generated, deterministic for the seed), the market walk, the
//  packet encoder (kite.md 7, written from the tables, not from actors/kite_frame.c), ticker
//  sessions, REST, the /_sim/ control plane, and the timer that drives ticks and heartbeats.
//  Everything runs in the thread that calls tm_kitesim_service; there are no locks.

#include "tickmux.h"
#include <libwebsockets.h>
#include <jansson.h>
#include <zlib.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <time.h>
#include "kitesim.h"

//  Limits (kite.md 6.1 for the Kite ones; the rest bound what a client can make us hold)
#define S_TOKENS_MAX        3000            //  Instruments per ticker connection (Kite's limit)
#define S_CONNS_PER_KEY     3               //  Live ticker connections per api_key (Kite's)
#define S_CONNS_MAX         16              //  Ticker sessions held, dead ones included
#define S_WS_MSG_MAX        (64 * 1024)     //  Largest client message; beyond it, close 1009
#define S_BODY_MAX          (64 * 1024)     //  Largest HTTP request body
#define S_ARGS_MAX          (16 * 1024)     //  Decoded query + form parameters of one request
#define S_PATH_MAX          256             //  Request path
#define S_FRAME_MAX         (32 * 1024)     //  Bytes in one market-data frame we build
#define S_QUEUE_MAX         (16 * 1024 * 1024)  //  Bytes queued to one slow client
#define S_HTTP_CHUNK        (16 * 1024)     //  Bytes per HTTP body write
#define S_ORDERS_MAX        10000           //  Orders kept for GET /orders
#define S_QUOTE_MAX         500             //  Instruments per GET /quote (Kite's limit)
#define S_QUOTE_LTP_MAX     1000            //  Instruments per GET /quote/ltp and /ohlc
#define S_HEARTBEAT_NS      1000000000LL    //  Idle time before a 1-byte heartbeat
#define S_PERIOD_MAX_US     250000          //  Longest timer period (bounds exit latency too)
#define S_PERIOD_MIN_US     1000            //  lws waits in whole milliseconds
#define S_IST_OFFSET_S      19800           //  IST is UTC+05:30, no DST

//  Segment ids (kite.md 7.4): instrument_token & 0xff
#define S_SEG_NSE           1
#define S_SEG_NFO           2
#define S_SEG_CDS           3
#define S_SEG_BSE           4
#define S_SEG_BCD           6
#define S_SEG_INDICES       9

//  Subscription modes; 0 means "not subscribed" in a session's mode table
#define S_MODE_NONE         0
#define S_MODE_LTP          1
#define S_MODE_QUOTE        2
#define S_MODE_FULL         3

//  What changed in an instrument since the last period: a mode gets a packet only when a
//  field it carries changed (kite.md 6.2, "afterwards a packet is sent only when ...").
#define S_CHANGED_LTP       1
#define S_CHANGED_QUOTE     2
#define S_CHANGED_FULL      4

static const char *s_mode_names [] = { "none", "ltp", "quote", "full" };
static const int s_mode_needs [] = {
    0, S_CHANGED_LTP, S_CHANGED_QUOTE, S_CHANGED_QUOTE | S_CHANGED_FULL
};

//  ------------------------------------------------------------------------------------------
//  Types

typedef struct {
    uint32_t quantity;              //  Quantity resting at this level
    uint32_t price;                 //  Segment units
    uint16_t orders;                //  Orders at this level (uint16 on the wire)
} s_level_t;

//  One instrument's market state, in wire units (kite.md 7.2), ready to encode.
typedef struct {
    uint32_t last_price;            //  Segment units
    uint32_t last_quantity;         //  Of the last trade
    uint32_t average_price;         //  VWAP, segment units
    uint32_t volume;                //  Traded today
    uint32_t buy_quantity;          //  Total pending bids
    uint32_t sell_quantity;         //  Total pending offers
    uint32_t open;                  //  Day open, segment units
    uint32_t high;                  //  Day high
    uint32_t low;                   //  Day low
    uint32_t close;                 //  Previous close
    uint32_t last_trade_time;       //  Epoch seconds, UTC
    uint32_t oi;                    //  Open interest (derivatives), else 0
    uint32_t oi_day_high;           //  Highest OI today
    uint32_t oi_day_low;            //  Lowest OI today
    uint32_t exchange_time;         //  Epoch seconds of this state, UTC
    s_level_t bids [TM_DEPTH_MAX];  //  Best first
    s_level_t asks [TM_DEPTH_MAX];  //  Best first
} s_quote_t;

typedef struct {
    uint32_t token;                 //  instrument_token = exchange_token << 8 | segment
    uint32_t exchange_token;        //  Exchange's own id
    char tradingsymbol [32];        //  Kite's naming, e.g. NIFTY24JANFUT
    char name [48];                 //  Company or underlying, may hold a comma
    char expiry [11];               //  yyyy-mm-dd, or "" for cash and indices
    double strike;                  //  Rupees; 0 on non-options
    uint32_t csv_tick;              //  tick_size column in segment units (0 on indices)
    uint32_t tick;                  //  Walk step in segment units
    uint32_t lot_size;              //  lot_size column
    const char *type;               //  EQ, FUT, CE, PE
    const char *segment_name;       //  segment column: NSE, NFO-OPT, INDICES ...
    const char *exchange;           //  exchange column: NSE, NFO, CDS ...
    uint8_t segment;                //  token & 0xff
    uint32_t divisor;               //  Segment units per rupee (kite.md 7.4)
    bool derivative;                //  Carries open interest
    s_quote_t now;                  //  Current state
    s_quote_t sent;                 //  State as last put on the wire, for /_sim/last
    bool ever_sent;                 //  sent is meaningful
    int sent_mode;                  //  Mode of the last packet sent
    double turnover;                //  Sum of price x quantity today, for the VWAP
    uint64_t rng;                   //  Walk state, seeded by seed and token
    size_t refs;                    //  Sessions subscribed to it; 0 = the walk sleeps
    int64_t next_due;               //  Monotonic ns of its next tick
    int changed;                    //  S_CHANGED_* since the last period
} s_inst_t;

//  A WebSocket message waiting in a session's queue
typedef struct _s_msg_t {
    struct _s_msg_t *next;          //  Queue link
    bool binary;                    //  Binary (market data, heartbeat) or text (JSON)
    size_t len;                     //  Payload bytes
    uint8_t data [];                //  LWS_PRE bytes of headroom, then the payload
} s_msg_t;

//  One ticker connection
typedef struct {
    struct lws *wsi;                //  Its connection
    unsigned id;                    //  1, 2, ... in accept order; "connection" in the log
    uint8_t *modes;                 //  S_MODE_* per instrument index
    size_t tokens;                  //  Subscribed instruments
    size_t by_mode [4];             //  Subscribed instruments per mode
    s_msg_t *head;                  //  Oldest queued message
    s_msg_t *tail;                  //  Newest queued message
    size_t queued_bytes;            //  Payload bytes queued
    uint64_t dropped;               //  Frames dropped because the queue was full
    uint64_t received;              //  Client messages received
    int64_t last_tx;                //  Monotonic ns of our last write
    int close_code;                 //  Close frame to send on the next writeable, or 0
    bool dead;                      //  Shut down by a fault or gone quiet: no longer live
    bool stalled;                   //  Reading paused by the silent fault
    char *rx;                       //  Reassembly of a fragmented client message
    size_t rx_len;                  //  Bytes in rx
    bool rx_overflow;               //  Current message is over S_WS_MSG_MAX: discarding it
    bool waiting_room;              //  Head message waits for socket buffer space
} s_conn_t;

//  Per-connection lws user data: an HTTP transaction, or a ticker session once upgraded
typedef struct {
    s_conn_t *conn;                 //  Ticker session, or NULL for HTTP
    int method;                     //  LWSHUMETH_* of the current request
    char path [S_PATH_MAX];         //  Request path, decoded by lws
    char args [S_ARGS_MAX];         //  Decoded "name=value" strings, NUL-separated
    size_t args_len;                //  Bytes used in args
    bool args_overflow;             //  More parameters than args holds
    bool authorized;                //  Authorization header matched the session
    bool gzip;                      //  Client accepts gzip
    bool body_expected;             //  POST body still to come
    char *body;                     //  POST body (owned)
    size_t body_len;                //  Bytes in body
    bool body_overflow;             //  Body longer than S_BODY_MAX
    uint8_t *out;                   //  Response body with LWS_PRE headroom (owned)
    size_t out_len;                 //  Response body bytes
    size_t out_sent;                //  Bytes written so far
} s_pss_t;

struct _tm_kitesim_t {
    tm_kitesim_config_t config;     //  Strings point into the copies below
    char *api_key;                  //  Owned copy
    char *api_secret;               //  Owned copy
    char *access_token;             //  Owned copy
    char *request_token;            //  Owned copy
    struct lws_context *context;    //  The one lws context
    struct lws_vhost *vhost;        //  127.0.0.1:port
    int port;                       //  Port actually bound
    s_inst_t *insts;                //  Every instrument, in CSV order
    size_t ninsts;                  //  Entries in insts
    uint32_t *by_token;             //  Instrument indexes sorted by token, for lookups
    size_t *ticked;                 //  Scratch: instruments that ticked this period
    s_conn_t *conns [S_CONNS_MAX];  //  Ticker sessions, live and dying
    size_t nconns;                  //  Entries in conns
    unsigned next_conn_id;          //  Id of the next session
    lws_sorted_usec_list_t tick_sul;    //  Drives ticks, heartbeats and stall probes
    int64_t interval_ns;            //  Mean time between ticks of one instrument
    lws_usec_t period_us;           //  Timer period
    bool silent;                    //  Fault "silent": nothing leaves, reads pause
    int refuse;                     //  Fault refuse_403 / refuse_429: that status, or 0
    uint64_t refused_403;           //  Upgrades refused with 403
    uint64_t refused_429;           //  Upgrades refused with 429
    uint64_t malformed;             //  Client messages we could not use
    uint64_t upgrades;              //  Upgrades accepted
    uint64_t packets_sent;          //  Market-data packets queued
    uint64_t frames_sent;           //  WebSocket messages written
    uint64_t faults;                //  Faults injected
    json_t *orders;                 //  Array of order objects, oldest first
    uint64_t order_seq;             //  Last order number handed out
    FILE *log;                      //  --log file, or NULL
};

//  ------------------------------------------------------------------------------------------
//  Small helpers

//  splitmix64: tiny, fast and good enough for a market walk; one state per instrument keeps
//  each instrument's path independent of which others are subscribed.
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

static uint32_t
s_now_s (void)
{
    return (uint32_t) (tm_clock_now_ns () / 1000000000);
}

//  Civil date and time in IST of a UTC epoch second count
static void
s_ist_tm (int64_t epoch_s, struct tm *tm)
{
    time_t t = (time_t) (epoch_s + S_IST_OFFSET_S);
    gmtime_r (&t, tm);
}

//  "yyyy-mm-dd hh:mm:ss" in IST, the REST timestamp form (kite.md 3)
static void
s_ist_stamp (char *buf, size_t size, int64_t epoch_s)
{
    struct tm tm;
    s_ist_tm (epoch_s, &tm);
    strftime (buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

//  Units to a decimal string the way Python's repr prints a float: trailing zeros trimmed
//  but at least one decimal ("0.0", "2528.4", "83.2525"). Exact, since units are integers.
static void
s_format_units (char *buf, size_t size, int64_t units, uint32_t divisor)
{
    int decimals = 0;
    for (uint32_t d = divisor; d > 1; d /= 10)
        decimals++;
    bool negative = units < 0;
    uint64_t u = (uint64_t) (negative ? -units : units);
    if (decimals == 0) {
        snprintf (buf, size, "%s%" PRIu64 ".0", negative ? "-" : "", u);
        return;
    }
    int n = snprintf (buf, size, "%s%" PRIu64 ".%0*" PRIu64, negative ? "-" : "",
                      u / divisor, decimals, u % divisor);
    if (n < 0 || (size_t) n >= size) {
        buf [0] = '\0';
        return;
    }
    char *dot = strchr (buf, '.');
    char *end = buf + strlen (buf) - 1;
    while (end > dot + 1 && *end == '0')
        *end-- = '\0';
}

static double
s_rupees (int64_t units, uint32_t divisor)
{
    return (double) units / divisor;
}

static void
s_sha256_hex (const char *text, char *hex)
{
    unsigned char digest [EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest (text, strlen (text), digest, &len, EVP_sha256 (), NULL);
    for (unsigned int i = 0; i < len; i++)
        sprintf (hex + 2 * i, "%02x", digest [i]);
    hex [2 * len] = '\0';
}

//  ------------------------------------------------------------------------------------------
//  Instruments

typedef struct {
    const char *symbol;             //  tradingsymbol
    const char *name;               //  name column
    uint32_t exchange_token;        //  NSE's token (the real one where we know it)
    double price;                   //  Rough price level in rupees
} s_equity_t;

static const s_equity_t s_equities [] = {
    { "RELIANCE", "RELIANCE INDUSTRIES", 2885, 2900.0 },
    { "INFY", "INFOSYS", 1594, 1500.0 },
    { "TCS", "TATA CONSULTANCY SERV LT", 11536, 3900.0 },
    { "HDFCBANK", "HDFC BANK", 1333, 1450.0 },
    { "SBIN", "STATE BANK OF INDIA", 3045, 620.0 },
    { "ITC", "ITC", 1660, 440.0 },
    { "LT", "LARSEN & TOUBRO", 11483, 3500.0 },
    { "AXISBANK", "AXIS BANK", 5900, 1080.0 },
    { "ICICIBANK", "ICICI BANK", 4963, 1000.0 },
    { "KOTAKBANK", "KOTAK MAHINDRA BANK", 1922, 1800.0 },
    { "HINDUNILVR", "HINDUSTAN UNILEVER", 1394, 2500.0 },
    { "BHARTIARTL", "BHARTI AIRTEL", 10604, 1100.0 },
    { "BAJFINANCE", "BAJAJ FINANCE", 317, 7000.0 },
    { "ASIANPAINT", "ASIAN PAINTS", 236, 3000.0 },
    { "MARUTI", "MARUTI SUZUKI INDIA", 10999, 10500.0 },
    { "HCLTECH", "HCL TECHNOLOGIES", 7229, 1550.0 },
    { "WIPRO", "WIPRO", 3787, 480.0 },
    { "SUNPHARMA", "SUN PHARMACEUTICAL IND L", 3351, 1350.0 },
    { "TITAN", "TITAN COMPANY", 3506, 3700.0 },
    { "ULTRACEMCO", "ULTRATECH CEMENT", 11532, 9800.0 },
    { "NESTLEIND", "NESTLE INDIA", 17963, 2500.0 },
    { "POWERGRID", "POWER GRID CORP. LTD.", 14977, 240.0 },
    { "NTPC", "NTPC", 11630, 310.0 },
    { "ONGC", "OIL AND NATURAL GAS CORP.", 2475, 250.0 },
    { "TATAMOTORS", "TATA MOTORS", 3456, 800.0 },
    { "TATASTEEL", "TATA STEEL", 3499, 140.0 },
    //  Real dumps quote names like this one (fixtures README): the CSV must survive it.
    { "M&M", "MAHINDRA & MAHINDRA, LTD", 2031, 1650.0 },
    { "ADANIPORTS", "ADANI PORT & SEZ", 15083, 1200.0 },
    { "COALINDIA", "COAL INDIA", 20374, 380.0 },
    { "JSWSTEEL", "JSW STEEL", 11723, 820.0 },
};
#define S_EQUITIES (sizeof s_equities / sizeof s_equities [0])

typedef struct {
    const char *symbol;             //  tradingsymbol and name
    uint32_t exchange_token;        //  So that the token is the real one (256265 ...)
    double price;                   //  Rough level
    const char *underlying;         //  NFO name of its derivatives
    uint32_t strike_step;           //  Rupees between option strikes
    uint32_t lot_size;              //  NFO lot size
} s_index_t;

static const s_index_t s_indices [] = {
    { "NIFTY 50", 1001, 22000.0, "NIFTY", 50, 50 },
    { "NIFTY BANK", 1016, 47000.0, "BANKNIFTY", 100, 15 },
    { "NIFTY FIN SERVICE", 1007, 21000.0, "FINNIFTY", 50, 40 },
};
#define S_INDICES (sizeof s_indices / sizeof s_indices [0])
#define S_EXPIRIES 3

static const char *s_months [] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"
};

static int
s_days_in_month (int year, int month)
{
    static const int days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days [month - 1];
}

//  0 = Sunday
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

//  NSE monthly F&O expiry: the last Thursday of the month
static int
s_last_thursday (int year, int month)
{
    int last = s_days_in_month (year, month);
    return last - (s_weekday (year, month, last) - 4 + 7) % 7;
}

//  NSE/BSE currency futures expire two working days before the last working day of the
//  month (holidays ignored here).
static int
s_currency_expiry (int year, int month)
{
    int day = s_days_in_month (year, month);
    int working = 0;
    while (day > 1) {
        int wd = s_weekday (year, month, day);
        if (wd != 0 && wd != 6 && ++working == 3)
            break;
        day--;
    }
    return day;
}

//  "yyyy-mm-dd" into a buffer of 11 bytes
static void
s_format_date (char *buf, int year, int month, int day)
{
    snprintf (buf, 11, "%04u-%02u-%02u", (unsigned) year % 10000u, (unsigned) month % 100u,
              (unsigned) day % 100u);
}

static void
s_next_month (int *year, int *month)
{
    if (++*month > 12) {
        *month = 1;
        ++*year;
    }
}

//  Round rupees to the nearest tick, in units, never below one tick
static uint32_t
s_to_units (double rupees, uint32_t divisor, uint32_t tick)
{
    double units = rupees * divisor / tick;
    int64_t ticks = (int64_t) (units + 0.5);
    if (ticks < 1)
        ticks = 1;
    return (uint32_t) (ticks * tick);
}

static void
s_make_depth (s_inst_t *inst)
{
    s_quote_t *q = &inst->now;
    memset (q->bids, 0, sizeof q->bids);
    memset (q->asks, 0, sizeof q->asks);
    if (inst->segment == S_SEG_INDICES)
        return;
    //  Best offer at the last price and best bid one tick below, as in kite.md 7.7; a level
    //  that would fall to zero or below stays an all-zero entry.
    uint32_t lot = inst->lot_size ? inst->lot_size : 1;
    for (int level = 0; level < TM_DEPTH_MAX; level++) {
        int64_t bid = (int64_t) q->last_price - (int64_t) inst->tick * (level + 1);
        int64_t ask = (int64_t) q->last_price + (int64_t) inst->tick * level;
        uint64_t r = s_rand (&inst->rng);
        if (bid > 0) {
            uint32_t lots = 1 + (uint32_t) (r % 40);
            q->bids [level].price = (uint32_t) bid;
            q->bids [level].quantity = lots * lot;
            q->bids [level].orders = (uint16_t) (1 + (r >> 8) % (lots < 20 ? lots : 20));
        }
        if (ask <= UINT32_MAX) {
            uint32_t lots = 1 + (uint32_t) ((r >> 16) % 40);
            q->asks [level].price = (uint32_t) ask;
            q->asks [level].quantity = lots * lot;
            q->asks [level].orders = (uint16_t) (1 + (r >> 24) % (lots < 20 ? lots : 20));
        }
    }
}

//  The opening state of an instrument: yesterday's close near `level`, an open near the
//  close, some volume already traded, all derived from the instrument's own random state.
static void
s_inst_start (s_inst_t *inst, double level, uint64_t seed)
{
    //  Derivatives stay close to the level they were priced from (their underlying's
    //  spot), so futures keep a sane basis and option chains stay ordered.
    double spread = inst->derivative ? 0.004 : 0.06;
    inst->rng = seed ^ ((uint64_t) inst->token * 0xD6E8FEB86659FD93ULL);
    s_rand (&inst->rng);
    s_quote_t *q = &inst->now;
    memset (q, 0, sizeof *q);
    double close = level * (1.0 - spread / 2 + spread * s_unit (&inst->rng));
    double open = close * (0.99 + 0.02 * s_unit (&inst->rng));
    double last = open * (0.995 + 0.01 * s_unit (&inst->rng));
    q->close = s_to_units (close, inst->divisor, inst->tick);
    q->open = s_to_units (open, inst->divisor, inst->tick);
    q->last_price = s_to_units (last, inst->divisor, inst->tick);
    uint32_t hi = q->open > q->last_price ? q->open : q->last_price;
    uint32_t lo = q->open < q->last_price ? q->open : q->last_price;
    q->high = hi + inst->tick * (uint32_t) (s_rand (&inst->rng) % 20);
    q->low = lo - inst->tick * (uint32_t) (s_rand (&inst->rng) % 20);
    if (q->low < inst->tick || q->low > lo)
        q->low = lo;
    uint32_t now = s_now_s ();
    q->exchange_time = now;
    if (inst->segment != S_SEG_INDICES) {
        uint32_t lot = inst->lot_size ? inst->lot_size : 1;
        q->last_quantity = lot * (1 + (uint32_t) (s_rand (&inst->rng) % 10));
        q->volume = lot * (10000 + (uint32_t) (s_rand (&inst->rng) % 90000));
        q->average_price = s_to_units ((open + last) / 2, inst->divisor, 1);
        inst->turnover = (double) q->average_price * q->volume;
        q->buy_quantity = lot * (1000 + (uint32_t) (s_rand (&inst->rng) % 9000));
        q->sell_quantity = lot * (1000 + (uint32_t) (s_rand (&inst->rng) % 9000));
        q->last_trade_time = now;
        if (inst->derivative) {
            q->oi = lot * (20000 + (uint32_t) (s_rand (&inst->rng) % 200000));
            q->oi_day_high = q->oi + lot * (uint32_t) (s_rand (&inst->rng) % 1000);
            q->oi_day_low = q->oi - lot * (uint32_t) (s_rand (&inst->rng) % 1000);
        }
    }
    s_make_depth (inst);
}

static s_inst_t *
s_inst_add (tm_kitesim_t *self, uint8_t segment, uint32_t exchange_token, const char *symbol,
            const char *name)
{
    s_inst_t *inst = &self->insts [self->ninsts++];
    memset (inst, 0, sizeof *inst);
    inst->segment = segment;
    inst->exchange_token = exchange_token;
    inst->token = exchange_token << 8 | segment;
    snprintf (inst->tradingsymbol, sizeof inst->tradingsymbol, "%s", symbol);
    snprintf (inst->name, sizeof inst->name, "%s", name);
    inst->divisor = segment == S_SEG_CDS ? 10000000 : segment == S_SEG_BCD ? 10000 : 100;
    inst->tick = inst->csv_tick = 5;
    inst->lot_size = 1;
    inst->type = "EQ";
    return inst;
}

//  Option premium: intrinsic value plus a time value that fades away from the money, so
//  the chain looks like one (deep ITM near intrinsic, far OTM at a few ticks).
static double
s_option_price (double spot, double strike, bool call, int months)
{
    double intrinsic = call ? spot - strike : strike - spot;
    if (intrinsic < 0)
        intrinsic = 0;
    double distance = (spot - strike) / (spot * 0.05);
    double time_value = spot * 0.012 * sqrt ((double) months) * exp (-distance * distance);
    return intrinsic + time_value + 0.05;
}

static int
s_by_token_cmp (const void *a, const void *b, void *arg)
{
    const s_inst_t *insts = (const s_inst_t *) arg;
    uint32_t ta = insts [*(const uint32_t *) a].token;
    uint32_t tb = insts [*(const uint32_t *) b].token;
    return ta < tb ? -1 : ta > tb;
}

static void
s_universe_build (tm_kitesim_t *self)
{
    size_t total = S_EQUITIES + 1 + S_INDICES + S_INDICES * S_EXPIRIES + self->config.options + 2;
    self->insts = (s_inst_t *) calloc (total, sizeof (s_inst_t));
    self->by_token = (uint32_t *) calloc (total, sizeof (uint32_t));
    self->ticked = (size_t *) calloc (total, sizeof (size_t));
    assert (self->insts && self->by_token && self->ticked);
    uint64_t seed = self->config.seed;

    for (size_t i = 0; i < S_EQUITIES; i++) {
        const s_equity_t *eq = &s_equities [i];
        s_inst_t *inst = s_inst_add (self, S_SEG_NSE, eq->exchange_token, eq->symbol, eq->name);
        inst->segment_name = "NSE";
        inst->exchange = "NSE";
        s_inst_start (inst, eq->price, seed);
    }
    s_inst_t *bse = s_inst_add (self, S_SEG_BSE, 500325, "RELIANCE", "RELIANCE INDUSTRIES");
    bse->segment_name = "BSE";
    bse->exchange = "BSE";
    s_inst_start (bse, s_equities [0].price, seed);

    //  Expiries follow the injectable clock's date in IST, so TICKMUX_FAKE_TIME pins them.
    struct tm today;
    s_ist_tm (tm_clock_now_ns () / 1000000000, &today);
    int year = today.tm_year + 1900, month = today.tm_mon + 1;
    if (today.tm_mday > s_last_thursday (year, month))
        s_next_month (&year, &month);
    int ex_year [S_EXPIRIES], ex_month [S_EXPIRIES];
    char ex_date [S_EXPIRIES][11];
    for (int e = 0; e < S_EXPIRIES; e++) {
        ex_year [e] = year;
        ex_month [e] = month;
        s_format_date (ex_date [e], year, month, s_last_thursday (year, month));
        s_next_month (&year, &month);
    }

    double spot [S_INDICES];
    for (size_t i = 0; i < S_INDICES; i++) {
        const s_index_t *ix = &s_indices [i];
        s_inst_t *inst = s_inst_add (self, S_SEG_INDICES, ix->exchange_token, ix->symbol,
                                     ix->symbol);
        inst->segment_name = "INDICES";
        inst->exchange = "NSE";
        inst->csv_tick = 0;         //  Kite lists indices with tick 0.0 and lot 0
        inst->lot_size = 0;
        s_inst_start (inst, ix->price, seed);
        spot [i] = s_rupees (inst->now.last_price, inst->divisor);
    }
    char symbol [32];
    for (size_t i = 0; i < S_INDICES; i++)
        for (int e = 0; e < S_EXPIRIES; e++) {
            const s_index_t *ix = &s_indices [i];
            snprintf (symbol, sizeof symbol, "%s%02d%sFUT", ix->underlying, ex_year [e] % 100,
                      s_months [ex_month [e] - 1]);
            s_inst_t *inst = s_inst_add (self, S_SEG_NFO, 35000 + (uint32_t) (i * 10 + e),
                                         symbol, ix->underlying);
            inst->segment_name = "NFO-FUT";
            inst->exchange = "NFO";
            inst->type = "FUT";
            inst->lot_size = ix->lot_size;
            inst->derivative = true;
            memcpy (inst->expiry, ex_date [e], sizeof inst->expiry);
            s_inst_start (inst, spot [i] * (1.0 + 0.006 * (e + 1)), seed);
        }

    //  Options: --options spread over the nine (underlying, expiry) chains, each a ladder of
    //  CE/PE pairs outward from the money.
    size_t chains = S_INDICES * S_EXPIRIES;
    uint32_t option_token = 40000;
    for (size_t c = 0; c < chains; c++) {
        size_t count = self->config.options / chains + (c < self->config.options % chains);
        const s_index_t *ix = &s_indices [c / S_EXPIRIES];
        int e = (int) (c % S_EXPIRIES);
        double atm = floor (spot [c / S_EXPIRIES] / ix->strike_step + 0.5) * ix->strike_step;
        for (size_t j = 0; j < count; j++) {
            size_t rung = j / 2;
            int64_t offset = rung % 2 ? (int64_t) (rung + 1) / 2 : -(int64_t) (rung / 2);
            double strike = atm + (double) offset * ix->strike_step;
            bool call = j % 2 == 0;
            if (strike <= 0)
                strike = ix->strike_step * (double) (j + 1);
            snprintf (symbol, sizeof symbol, "%s%02d%s%.0f%s", ix->underlying,
                      ex_year [e] % 100, s_months [ex_month [e] - 1], strike, call ? "CE" : "PE");
            //  name is the underlying, as in Kite's own dump (NIFTY for NIFTY24125...CE)
            s_inst_t *inst = s_inst_add (self, S_SEG_NFO, option_token++, symbol,
                                         ix->underlying);
            inst->segment_name = "NFO-OPT";
            inst->exchange = "NFO";
            inst->type = call ? "CE" : "PE";
            inst->strike = strike;
            inst->lot_size = ix->lot_size;
            inst->derivative = true;
            memcpy (inst->expiry, ex_date [e], sizeof inst->expiry);
            s_inst_start (inst, s_option_price (spot [c / S_EXPIRIES], strike, call, e + 1),
                          seed);
        }
    }

    //  Currency futures, one per currency segment, so both unusual divisors are on the wire.
    year = today.tm_year + 1900;
    month = today.tm_mon + 1;
    if (today.tm_mday > s_currency_expiry (year, month))
        s_next_month (&year, &month);
    snprintf (symbol, sizeof symbol, "USDINR%02d%sFUT", year % 100, s_months [month - 1]);
    s_inst_t *cds = s_inst_add (self, S_SEG_CDS, 7001, symbol, "USDINR");
    s_inst_t *bcd = s_inst_add (self, S_SEG_BCD, 8001, symbol, "USDINR");
    cds->segment_name = "CDS-FUT";
    cds->exchange = "CDS";
    cds->tick = cds->csv_tick = 25000;      //  0.0025 rupee at 1e7 units per rupee
    bcd->segment_name = "BCD-FUT";
    bcd->exchange = "BCD";
    bcd->tick = bcd->csv_tick = 25;         //  0.0025 rupee at 1e4 units per rupee
    s_inst_t *fx [] = { cds, bcd };
    for (int i = 0; i < 2; i++) {
        fx [i]->type = "FUT";
        fx [i]->derivative = true;
        s_format_date (fx [i]->expiry, year, month, s_currency_expiry (year, month));
        s_inst_start (fx [i], 83.25, seed);
    }
    assert (self->ninsts <= total);

    for (size_t i = 0; i < self->ninsts; i++)
        self->by_token [i] = (uint32_t) i;
    qsort_r (self->by_token, self->ninsts, sizeof (uint32_t), s_by_token_cmp, self->insts);
}

//  Instrument by instrument_token, or NULL
static s_inst_t *
s_inst_find (tm_kitesim_t *self, uint32_t token)
{
    size_t lo = 0, hi = self->ninsts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        s_inst_t *inst = &self->insts [self->by_token [mid]];
        if (inst->token == token)
            return inst;
        if (inst->token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

//  Instrument by "EXCHANGE:TRADINGSYMBOL", or by tradingsymbol alone (first match, which
//  puts NSE ahead of BSE), or NULL
static s_inst_t *
s_inst_by_symbol (tm_kitesim_t *self, const char *exchange, const char *symbol)
{
    for (size_t i = 0; i < self->ninsts; i++) {
        s_inst_t *inst = &self->insts [i];
        if (streq (inst->tradingsymbol, symbol) && (!exchange || streq (inst->exchange, exchange)))
            return inst;
    }
    return NULL;
}

//  ------------------------------------------------------------------------------------------
//  The market walk

static void
s_walk (s_inst_t *inst, uint32_t now_s)
{
    s_quote_t *q = &inst->now;
    uint64_t r = s_rand (&inst->rng);
    //  Mostly one-tick moves, sometimes none (so LTP mode sees gaps), rarely three; a weak
    //  pull toward the previous close keeps a long run inside a plausible day range.
    unsigned pick = (unsigned) (r % 100);
    int64_t steps = pick < 35 ? 0 : pick < 75 ? 1 : pick < 92 ? 2 : 3;
    double pull = ((double) q->last_price - q->close) / (q->close ? q->close : 1);
    bool up = ((r >> 8) % 1000) >= (unsigned) (500 + (pull > 0.03 ? 150 : pull < -0.03 ? -150 : 0));
    int64_t price = (int64_t) q->last_price + (up ? steps : -steps) * inst->tick;
    if (price < inst->tick)
        price = inst->tick;
    if (price > (int64_t) UINT32_MAX - 10 * inst->tick)
        price = q->last_price;
    int changed = 0;
    if ((uint32_t) price != q->last_price)
        changed |= S_CHANGED_LTP | S_CHANGED_QUOTE | S_CHANGED_FULL;
    q->last_price = (uint32_t) price;
    if (q->last_price > q->high)
        q->high = q->last_price;
    if (q->last_price < q->low)
        q->low = q->last_price;
    q->exchange_time = now_s;
    if (inst->segment != S_SEG_INDICES) {
        //  Every tick of a tradable is a trade: volume, VWAP and the books always move.
        uint32_t lot = inst->lot_size ? inst->lot_size : 1;
        uint32_t lots = inst->lot_size > 1 ? 1 + (uint32_t) ((r >> 20) % 10)
                                           : 1 + (uint32_t) ((r >> 20) % 200);
        q->last_quantity = lots * lot;
        if (q->volume < UINT32_MAX - q->last_quantity) {
            q->volume += q->last_quantity;
            inst->turnover += (double) q->last_price * q->last_quantity;
            q->average_price = (uint32_t) (inst->turnover / q->volume + 0.5);
        }
        int64_t buy = (int64_t) q->buy_quantity + ((int64_t) ((r >> 32) % 41) - 20) * lot;
        int64_t sell = (int64_t) q->sell_quantity + ((int64_t) ((r >> 40) % 41) - 20) * lot;
        q->buy_quantity = (uint32_t) (buy > lot ? buy : lot);
        q->sell_quantity = (uint32_t) (sell > lot ? sell : lot);
        q->last_trade_time = now_s;
        if (inst->derivative) {
            int64_t oi = (int64_t) q->oi + ((int64_t) ((r >> 48) % 21) - 10) * lot;
            q->oi = (uint32_t) (oi > 0 ? oi : 0);
            if (q->oi > q->oi_day_high)
                q->oi_day_high = q->oi;
            if (q->oi < q->oi_day_low)
                q->oi_day_low = q->oi;
        }
        changed |= S_CHANGED_QUOTE | S_CHANGED_FULL;
        s_make_depth (inst);
    }
    inst->changed |= changed;
}

//  ------------------------------------------------------------------------------------------
//  Packet encoder, from kite.md 7.2 (big-endian, prices in segment units)

static uint8_t *
s_put32 (uint8_t *p, uint32_t v)
{
    p [0] = (uint8_t) (v >> 24);
    p [1] = (uint8_t) (v >> 16);
    p [2] = (uint8_t) (v >> 8);
    p [3] = (uint8_t) v;
    return p + 4;
}

static uint8_t *
s_put16 (uint8_t *p, uint16_t v)
{
    p [0] = (uint8_t) (v >> 8);
    p [1] = (uint8_t) v;
    return p + 2;
}

static size_t
s_packet_size (const s_inst_t *inst, int mode)
{
    bool index = inst->segment == S_SEG_INDICES;
    return mode == S_MODE_LTP ? 8 : mode == S_MODE_QUOTE ? (index ? 28 : 44) : (index ? 32 : 184);
}

//  Encode one packet of q in mode into out (s_packet_size bytes). Returns bytes written.
static size_t
s_encode_packet (const s_inst_t *inst, const s_quote_t *q, int mode, uint8_t *out)
{
    uint8_t *p = out;
    p = s_put32 (p, inst->token);
    p = s_put32 (p, q->last_price);
    if (mode == S_MODE_LTP)
        return (size_t) (p - out);
    if (inst->segment == S_SEG_INDICES) {
        //  Indices: high, low, open, close (not the tradables' O/H/L/C), then the signed
        //  change last - close in price units (kite.md 7.5, fixtures errata).
        p = s_put32 (p, q->high);
        p = s_put32 (p, q->low);
        p = s_put32 (p, q->open);
        p = s_put32 (p, q->close);
        p = s_put32 (p, (uint32_t) (int32_t) ((int64_t) q->last_price - (int64_t) q->close));
        if (mode == S_MODE_FULL)
            p = s_put32 (p, q->exchange_time);
        return (size_t) (p - out);
    }
    p = s_put32 (p, q->last_quantity);
    p = s_put32 (p, q->average_price);
    p = s_put32 (p, q->volume);
    p = s_put32 (p, q->buy_quantity);
    p = s_put32 (p, q->sell_quantity);
    p = s_put32 (p, q->open);
    p = s_put32 (p, q->high);
    p = s_put32 (p, q->low);
    p = s_put32 (p, q->close);
    if (mode == S_MODE_QUOTE)
        return (size_t) (p - out);
    p = s_put32 (p, q->last_trade_time);
    p = s_put32 (p, q->oi);
    p = s_put32 (p, q->oi_day_high);
    p = s_put32 (p, q->oi_day_low);
    p = s_put32 (p, q->exchange_time);
    for (int side = 0; side < 2; side++)
        for (int level = 0; level < TM_DEPTH_MAX; level++) {
            const s_level_t *l = side == 0 ? &q->bids [level] : &q->asks [level];
            p = s_put32 (p, l->quantity);
            p = s_put32 (p, l->price);
            p = s_put16 (p, l->orders);
            p = s_put16 (p, 0);         //  Padding
        }
    return (size_t) (p - out);
}

//  ------------------------------------------------------------------------------------------
//  Session queues and frames

static s_msg_t *
s_msg_new (size_t capacity, bool binary)
{
    s_msg_t *msg = (s_msg_t *) malloc (sizeof (s_msg_t) + LWS_PRE + capacity);
    assert (msg);
    msg->next = NULL;
    msg->binary = binary;
    msg->len = 0;
    return msg;
}

static uint8_t *
s_msg_payload (s_msg_t *msg)
{
    return msg->data + LWS_PRE;
}

//  Queue a message (taking it). Silence drops everything, and a full queue drops market
//  data rather than grow without bound.
static void
s_conn_push (tm_kitesim_t *self, s_conn_t *conn, s_msg_t **msg_p)
{
    s_msg_t *msg = *msg_p;
    *msg_p = NULL;
    if (self->silent || conn->dead || conn->close_code
    ||  conn->queued_bytes + msg->len > S_QUEUE_MAX) {
        if (!self->silent)
            conn->dropped++;
        free (msg);
        return;
    }
    if (conn->tail)
        conn->tail->next = msg;
    else
        conn->head = msg;
    conn->tail = msg;
    conn->queued_bytes += msg->len;
    lws_callback_on_writable (conn->wsi);
}

static void
s_conn_push_text (tm_kitesim_t *self, s_conn_t *conn, const char *text)
{
    size_t len = strlen (text);
    s_msg_t *msg = s_msg_new (len, false);
    memcpy (s_msg_payload (msg), text, len);
    msg->len = len;
    s_conn_push (self, conn, &msg);
}

//  Push {"type":type,"data":data} (data borrowed)
static void
s_conn_push_json (tm_kitesim_t *self, s_conn_t *conn, const char *type, json_t *data)
{
    json_t *root = json_pack ("{s:s, s:O}", "type", type, "data", data);
    char *text = json_dumps (root, JSON_COMPACT | JSON_REAL_PRECISION (15));
    s_conn_push_text (self, conn, text);
    free (text);
    json_decref (root);
}

static void
s_log_tick (tm_kitesim_t *self, s_conn_t *conn, s_inst_t *inst, int mode)
{
    if (!self->log)
        return;
    char price [32];
    s_format_units (price, sizeof price, inst->now.last_price, inst->divisor);
    fprintf (self->log, "{\"connection\":%u,\"token\":%u,\"mode\":\"%s\",\"price\":%s,"
             "\"volume\":%u,\"exchange_time\":%u}\n", conn->id, inst->token,
             s_mode_names [mode], price, inst->now.volume, inst->now.exchange_time);
}

//  A market-data frame being filled for one session (kite.md 7.1)
typedef struct {
    s_msg_t *msg;                   //  Frame so far, or NULL
    uint16_t packets;               //  Packets in it
    uint16_t extra;                 //  Added to N on flush (the truncated fault)
} s_frame_t;

static void
s_frame_flush (tm_kitesim_t *self, s_conn_t *conn, s_frame_t *frame)
{
    if (!frame->msg)
        return;
    s_put16 (s_msg_payload (frame->msg), (uint16_t) (frame->packets + frame->extra));
    s_msg_t *msg = (s_msg_t *) realloc (frame->msg, sizeof (s_msg_t) + LWS_PRE + frame->msg->len);
    assert (msg);
    frame->msg = NULL;
    frame->packets = 0;
    s_conn_push (self, conn, &msg);
}

//  Room for a packet of size bytes, starting a new frame when this one is full
static uint8_t *
s_frame_room (tm_kitesim_t *self, s_conn_t *conn, s_frame_t *frame, size_t size)
{
    if (frame->msg && (frame->msg->len + 2 + size > S_FRAME_MAX || frame->packets == UINT16_MAX))
        s_frame_flush (self, conn, frame);
    if (!frame->msg) {
        frame->msg = s_msg_new (S_FRAME_MAX, true);
        frame->msg->len = 2;
    }
    uint8_t *p = s_msg_payload (frame->msg) + frame->msg->len;
    s_put16 (p, (uint16_t) size);
    frame->msg->len += 2 + size;
    frame->packets++;
    return p + 2;
}

static void
s_frame_add (tm_kitesim_t *self, s_conn_t *conn, s_frame_t *frame, s_inst_t *inst, int mode)
{
    if (self->silent || conn->dead)
        return;
    size_t size = s_packet_size (inst, mode);
    s_encode_packet (inst, &inst->now, mode, s_frame_room (self, conn, frame, size));
    inst->sent = inst->now;
    inst->ever_sent = true;
    inst->sent_mode = mode;
    self->packets_sent++;
    s_log_tick (self, conn, inst, mode);
}

//  ------------------------------------------------------------------------------------------
//  Ticker sessions

static size_t
s_live_conns (tm_kitesim_t *self)
{
    size_t live = 0;
    for (size_t i = 0; i < self->nconns; i++)
        live += !self->conns [i]->dead;
    return live;
}

static void
s_inst_ref (tm_kitesim_t *self, s_inst_t *inst)
{
    //  A freshly woken instrument starts at a random phase, so that many subscribed
    //  together do not all tick in the same period.
    if (inst->refs++ == 0)
        inst->next_due = tm_clock_mono_ns ()
                       + (int64_t) (s_unit (&inst->rng) * (double) self->interval_ns);
}

static void
s_conn_set_mode (s_conn_t *conn, size_t index, int mode)
{
    conn->by_mode [conn->modes [index]]--;
    conn->modes [index] = (uint8_t) mode;
    conn->by_mode [mode]++;
}

//  Index of the instrument a JSON token names: 0 and *index on success, -1 for a token we
//  do not list, TM_MALFORMED when it is not a JSON integer in uint32 range.
static int
s_token_index (tm_kitesim_t *self, json_t *item, size_t *index)
{
    if (!json_is_integer (item))
        return TM_MALFORMED;
    json_int_t value = json_integer_value (item);
    if (value < 0 || value > UINT32_MAX)
        return TM_MALFORMED;
    s_inst_t *inst = s_inst_find (self, (uint32_t) value);
    if (!inst)
        return -1;
    *index = (size_t) (inst - self->insts);
    return 0;
}

//  subscribe / unsubscribe / mode on a list of tokens (kite.md 6.2). Returns the number of
//  entries that were not integers, so the caller can count the message as malformed.
static size_t
s_conn_apply (tm_kitesim_t *self, s_conn_t *conn, const char *action, int mode, json_t *tokens)
{
    s_frame_t frame = { NULL, 0, 0 };
    size_t bad = 0, refused = 0;
    size_t i;
    json_t *item;
    json_array_foreach (tokens, i, item) {
        size_t index;
        int rc = s_token_index (self, item, &index);
        if (rc == TM_MALFORMED)
            bad++;
        if (rc)
            continue;
        s_inst_t *inst = &self->insts [index];
        if (streq (action, "subscribe")) {
            if (conn->modes [index] == S_MODE_NONE) {
                //  Only the excess fails: earlier tokens of the same list stay subscribed.
                if (conn->tokens >= S_TOKENS_MAX) {
                    refused++;
                    continue;
                }
                conn->tokens++;
                s_conn_set_mode (conn, index, S_MODE_QUOTE);
                s_inst_ref (self, inst);
            }
            s_frame_add (self, conn, &frame, inst, conn->modes [index]);
        }
        else
        if (streq (action, "unsubscribe")) {
            if (conn->modes [index] != S_MODE_NONE) {
                s_conn_set_mode (conn, index, S_MODE_NONE);
                conn->tokens--;
                inst->refs--;
            }
        }
        else
        if (conn->modes [index] != S_MODE_NONE) {
            //  mode on a token never subscribed has no effect (kite.md 6.2)
            s_conn_set_mode (conn, index, mode);
            s_frame_add (self, conn, &frame, inst, mode);
        }
    }
    s_frame_flush (self, conn, &frame);
    if (refused)
        s_conn_push_text (self, conn,
            "{\"type\":\"error\",\"data\":\"Can't subscribe to more than 3000 instruments.\"}");
    return bad;
}

static void
s_conn_request (tm_kitesim_t *self, s_conn_t *conn, const char *text, size_t len)
{
    conn->received++;
    json_error_t error;
    json_t *root = json_loadb (text, len, 0, &error);
    json_t *value = json_is_object (root) ? json_object_get (root, "v") : NULL;
    const char *action = json_is_object (root)
                       ? json_string_value (json_object_get (root, "a")) : NULL;
    bool ok = false;
    if (action && json_is_array (value)) {
        if (streq (action, "subscribe") || streq (action, "unsubscribe"))
            ok = s_conn_apply (self, conn, action, 0, value) == 0;
        else
        if (streq (action, "mode") && json_array_size (value) == 2
        &&  json_is_array (json_array_get (value, 1))) {
            const char *name = json_string_value (json_array_get (value, 0));
            int mode = !name ? 0 : streq (name, "ltp") ? S_MODE_LTP
                     : streq (name, "quote") ? S_MODE_QUOTE : streq (name, "full") ? S_MODE_FULL : 0;
            if (mode)
                ok = s_conn_apply (self, conn, action, mode, json_array_get (value, 1)) == 0;
        }
    }
    //  The real server's reaction to junk is undocumented (kite.md 12.6): ignore and count.
    if (!ok)
        self->malformed++;
    json_decref (root);
}

static s_conn_t *
s_conn_new (tm_kitesim_t *self, struct lws *wsi)
{
    if (self->nconns >= S_CONNS_MAX)
        return NULL;
    s_conn_t *conn = (s_conn_t *) calloc (1, sizeof (s_conn_t));
    assert (conn);
    conn->modes = (uint8_t *) calloc (self->ninsts, 1);
    assert (conn->modes);
    conn->wsi = wsi;
    conn->id = ++self->next_conn_id;
    conn->by_mode [S_MODE_NONE] = self->ninsts;
    conn->last_tx = tm_clock_mono_ns ();
    //  Room for several full frames, so s_has_room rarely makes a client wait a period
    int sndbuf = 1024 * 1024;
    int fd = lws_get_socket_fd (wsi);
    if (fd >= 0)
        setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    self->conns [self->nconns++] = conn;
    self->upgrades++;
    if (self->silent) {
        lws_rx_flow_control (wsi, 0);
        conn->stalled = true;
    }
    return conn;
}

static void
s_conn_destroy (tm_kitesim_t *self, s_conn_t **conn_p)
{
    s_conn_t *conn = *conn_p;
    if (!conn)
        return;
    for (size_t i = 0; i < self->ninsts; i++)
        if (conn->modes [i] != S_MODE_NONE)
            self->insts [i].refs--;
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
    free (conn->modes);
    free (conn->rx);
    free (conn);
    *conn_p = NULL;
}

static int
s_conn_receive (tm_kitesim_t *self, s_conn_t *conn, const void *in, size_t len)
{
    //  An oversized message is read to its end and dropped, then closed with 1009 from the
    //  writeable callback: returning -1 here with input left in lws's buffer makes lws 4.1.6
    //  spin on the dead socket once the client goes.
    if (conn->rx_overflow || conn->rx_len + len > S_WS_MSG_MAX) {
        conn->rx_overflow = true;
        if (lws_is_final_fragment (conn->wsi)) {
            self->malformed++;
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
s_conn_writeable (tm_kitesim_t *self, s_conn_t *conn)
{
    if (conn->close_code) {
        const char *why = conn->close_code == LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE
                        ? "message too large" : "simulated fault";
        lws_close_reason (conn->wsi, (enum lws_close_status) conn->close_code,
                          (unsigned char *) why, strlen (why));
        return -1;
    }
    if (self->silent || !conn->head)
        return 0;
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
    conn->last_tx = tm_clock_mono_ns ();
    if (conn->head)
        lws_callback_on_writable (conn->wsi);
    return 0;
}

//  Upgrade checks, in the order a client would meet them on the real service: faults first,
//  then the credentials in the query (any order, unknown ones ignored), then the limit.
static int
s_confirm_upgrade (tm_kitesim_t *self, struct lws *wsi)
{
    char uri [S_PATH_MAX];
    if (lws_hdr_copy (wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0)
        uri [0] = '\0';
    unsigned status = 0;
    char api_key [128], access_token [128];
    const char *key = lws_get_urlarg_by_name (wsi, "api_key=", api_key, sizeof api_key);
    const char *token = lws_get_urlarg_by_name (wsi, "access_token=", access_token,
                                                sizeof access_token);
    if (self->refuse)
        status = (unsigned) self->refuse;
    else
    if (!streq (uri, "/") && !streq (uri, ""))
        status = 404;
    else
    if (!key || !token || !streq (key, self->api_key) || !streq (token, self->access_token))
        status = 403;
    else
    if (s_live_conns (self) >= S_CONNS_PER_KEY || self->nconns >= S_CONNS_MAX)
        status = 429;
    if (!status)
        return 0;
    const char *reason = "Not Found", *type = "GeneralException", *message = "Route not found";
    if (status == 403) {
        self->refused_403++;
        reason = "Forbidden";
        type = "TokenException";
        message = "Incorrect `api_key` or `access_token`.";
    }
    else
    if (status == 429) {
        self->refused_429++;
        reason = "Too Many Requests";
        type = "NetworkException";
        message = "Too many requests";
    }
    //  Written by hand: at this point lws has not recorded the request's HTTP version, and
    //  lws_return_http_status would answer "HTTP/1.0", which WebSocket clients reject.
    char body [256], answer [LWS_PRE + 512];
    int body_len = snprintf (body, sizeof body, "{\"status\":\"error\",\"message\":\"%s\","
                             "\"data\":null,\"error_type\":\"%s\"}", message, type);
    int len = snprintf (answer + LWS_PRE, sizeof answer - LWS_PRE,
                        "HTTP/1.1 %u %s\r\ncontent-type: application/json\r\n"
                        "content-length: %d\r\nconnection: close\r\n\r\n%s",
                        status, reason, body_len, body);
    if (len < 0 || (size_t) len >= sizeof answer - LWS_PRE
    ||  lws_write (wsi, (unsigned char *) answer + LWS_PRE, (size_t) len,
                   LWS_WRITE_HTTP_HEADERS) != len)
        return -1;
    return 1;
}

//  ------------------------------------------------------------------------------------------
//  HTTP plumbing

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

//  Value of the index-th parameter called name, or NULL
static const char *
s_arg_nth (s_pss_t *pss, const char *name, size_t index)
{
    size_t name_len = strlen (name);
    for (size_t at = 0; at < pss->args_len; at += strlen (pss->args + at) + 1) {
        const char *pair = pss->args + at;
        if (strncmp (pair, name, name_len) == 0 && pair [name_len] == '=' && index-- == 0)
            return pair + name_len + 1;
    }
    return NULL;
}

static const char *
s_arg (s_pss_t *pss, const char *name)
{
    return s_arg_nth (pss, name, 0);
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

//  Answer with body (copied); gzip says body is already gzip-compressed.
static int
s_respond (struct lws *wsi, s_pss_t *pss, unsigned status, const char *content_type,
           const void *body, size_t len, bool gzip)
{
    free (pss->out);
    pss->out = (uint8_t *) malloc (LWS_PRE + len + 1);
    assert (pss->out);
    memcpy (pss->out + LWS_PRE, body, len);
    pss->out_len = len;
    pss->out_sent = 0;
    unsigned char headers [LWS_PRE + 1024];
    unsigned char *start = headers + LWS_PRE, *p = start, *end = headers + sizeof headers - 1;
    if (lws_add_http_common_headers (wsi, status, content_type, len, &p, end))
        return 1;
    if (gzip && lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_CONTENT_ENCODING,
                                              (const unsigned char *) "gzip", 4, &p, end))
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
    int rc = s_respond (wsi, pss, status, "application/json", text, strlen (text), false);
    free (text);
    return rc;
}

static int
s_respond_data (struct lws *wsi, s_pss_t *pss, json_t *data)
{
    return s_respond_json (wsi, pss, 200, json_pack ("{s:s, s:o}", "status", "success",
                                                     "data", data));
}

//  The error envelope of kite.md 3
static int
s_respond_error (struct lws *wsi, s_pss_t *pss, unsigned status, const char *error_type,
                 const char *message)
{
    return s_respond_json (wsi, pss, status, json_pack ("{s:s, s:s, s:n, s:s}", "status", "error",
                           "message", message, "data", "error_type", error_type));
}

static int
s_respond_ok (struct lws *wsi, s_pss_t *pss, json_t *extra)
{
    json_t *root = json_pack ("{s:s}", "status", "ok");
    if (extra)
        json_object_update (root, extra);
    json_decref (extra);
    return s_respond_json (wsi, pss, 200, root);
}

//  ------------------------------------------------------------------------------------------
//  REST: session, profile, instruments, orders, quotes

static json_t *
s_profile (tm_kitesim_t *self)
{
    return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:[ssssssss], s:[sssss], s:[ssss], s:n, s:s,"
                      " s:{s:s}}",
                      "user_id", "TM0001", "user_type", "individual", "email", "sim@tickmux.invalid",
                      "user_name", "tickmux simulator", "user_shortname", "tickmux",
                      "broker", "ZERODHA",
                      "exchanges", "NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF",
                      "products", "CNC", "NRML", "MIS", "BO", "CO",
                      "order_types", "MARKET", "LIMIT", "SL", "SL-M",
                      "avatar_url", "api_key", self->api_key,
                      "meta", "demat_consent", "physical");
}

static int
s_session_token (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss)
{
    if (pss->method == LWSHUMETH_DELETE) {
        const char *key = s_arg (pss, "api_key"), *token = s_arg (pss, "access_token");
        if (!key || !token || !streq (key, self->api_key) || !streq (token, self->access_token))
            return s_respond_error (wsi, pss, 403, "TokenException",
                                    "Incorrect `api_key` or `access_token`.");
        return s_respond_data (wsi, pss, json_true ());
    }
    if (pss->method != LWSHUMETH_POST)
        return s_respond_error (wsi, pss, 405, "GeneralException", "Method not allowed");
    const char *key = s_arg (pss, "api_key");
    const char *request = s_arg (pss, "request_token");
    const char *checksum = s_arg (pss, "checksum");
    if (!key || !*key)
        return s_respond_error (wsi, pss, 400, "InputException", "Missing `api_key`");
    if (!request || !*request)
        return s_respond_error (wsi, pss, 400, "InputException", "Missing `request_token`");
    if (!checksum || !*checksum)
        return s_respond_error (wsi, pss, 400, "InputException", "Missing `checksum`");
    if (!streq (key, self->api_key))
        return s_respond_error (wsi, pss, 403, "TokenException", "Invalid `api_key`.");
    //  kite.md 2: lowercase hex SHA-256 of api_key, request_token and api_secret, concatenated
    size_t size = strlen (key) + strlen (request) + strlen (self->api_secret) + 1;
    char *plain = (char *) malloc (size);
    assert (plain);
    snprintf (plain, size, "%s%s%s", key, request, self->api_secret);
    char expected [2 * EVP_MAX_MD_SIZE + 1];
    s_sha256_hex (plain, expected);
    free (plain);
    if (!streq (checksum, expected))
        return s_respond_error (wsi, pss, 403, "TokenException", "Invalid `checksum`.");
    if (!streq (request, self->request_token))
        return s_respond_error (wsi, pss, 403, "TokenException",
                                "Token is invalid or has expired.");
    char login_time [32];
    s_ist_stamp (login_time, sizeof login_time, tm_clock_now_ns () / 1000000000);
    json_t *data = s_profile (self);
    json_object_set_new (data, "access_token", json_string (self->access_token));
    json_object_set_new (data, "public_token", json_string ("tmpublic"));
    json_object_set_new (data, "enctoken", json_string (""));
    json_object_set_new (data, "refresh_token", json_string (""));
    json_object_set_new (data, "silo", json_string (""));
    json_object_set_new (data, "login_time", json_string (login_time));
    return s_respond_data (wsi, pss, data);
}

static void
s_csv_field (FILE *file, const char *text)
{
    if (!strpbrk (text, ",\"\r\n")) {
        fputs (text, file);
        return;
    }
    fputc ('"', file);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fputc ('"', file);
        fputc (*c, file);
    }
    fputc ('"', file);
}

static int
s_instruments (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss, const char *exchange)
{
    char *csv = NULL;
    size_t len = 0;
    FILE *file = open_memstream (&csv, &len);
    assert (file);
    fputs ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
           "tick_size,lot_size,instrument_type,segment,exchange\n", file);
    for (size_t i = 0; i < self->ninsts; i++) {
        s_inst_t *inst = &self->insts [i];
        if (exchange && !streq (exchange, inst->exchange))
            continue;
        char last [32], strike [32], tick [32];
        s_format_units (last, sizeof last,
                        inst->segment == S_SEG_INDICES ? 0 : inst->now.close, inst->divisor);
        s_format_units (strike, sizeof strike, (int64_t) inst->strike, 1);
        s_format_units (tick, sizeof tick, inst->csv_tick, inst->divisor);
        fprintf (file, "%u,%u,", inst->token, inst->exchange_token);
        s_csv_field (file, inst->tradingsymbol);
        fputc (',', file);
        s_csv_field (file, inst->name);
        fprintf (file, ",%s,%s,%s,%s,%u,%s,%s,%s\n", last, inst->expiry, strike, tick,
                 inst->lot_size, inst->type, inst->segment_name, inst->exchange);
    }
    fclose (file);
    int rc;
    if (pss->gzip) {
        //  windowBits 15 + 16 makes zlib write a gzip wrapper, which is what
        //  Content-Encoding: gzip means.
        z_stream zs;
        memset (&zs, 0, sizeof zs);
        int zrc = deflateInit2 (&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        assert (zrc == Z_OK);
        size_t bound = deflateBound (&zs, len);
        uint8_t *packed = (uint8_t *) malloc (bound);
        assert (packed);
        zs.next_in = (Bytef *) csv;
        zs.avail_in = (uInt) len;
        zs.next_out = packed;
        zs.avail_out = (uInt) bound;
        zrc = deflate (&zs, Z_FINISH);
        assert (zrc == Z_STREAM_END);
        rc = s_respond (wsi, pss, 200, "text/csv", packed, zs.total_out, true);
        deflateEnd (&zs);
        free (packed);
    }
    else
        rc = s_respond (wsi, pss, 200, "text/csv", csv, len, false);
    free (csv);
    return rc;
}

static json_t *
s_ohlc_json (const s_inst_t *inst, const s_quote_t *q)
{
    return json_pack ("{s:f, s:f, s:f, s:f}",
                      "open", s_rupees (q->open, inst->divisor),
                      "high", s_rupees (q->high, inst->divisor),
                      "low", s_rupees (q->low, inst->divisor),
                      "close", s_rupees (q->close, inst->divisor));
}

static json_t *
s_depth_json (const s_inst_t *inst, const s_quote_t *q)
{
    json_t *depth = json_object ();
    for (int side = 0; side < 2; side++) {
        json_t *levels = json_array ();
        for (int level = 0; level < TM_DEPTH_MAX; level++) {
            const s_level_t *l = side == 0 ? &q->bids [level] : &q->asks [level];
            json_array_append_new (levels, json_pack ("{s:f, s:I, s:i}",
                                   "price", s_rupees (l->price, inst->divisor),
                                   "quantity", (json_int_t) l->quantity, "orders", (int) l->orders));
        }
        json_object_set_new (depth, side == 0 ? "buy" : "sell", levels);
    }
    return depth;
}

//  GET /quote, /quote/ohlc, /quote/ltp (kite.md 5): keys we do not list are simply absent.
static int
s_quote (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss, const char *kind)
{
    size_t max = streq (kind, "full") ? S_QUOTE_MAX : S_QUOTE_LTP_MAX;
    json_t *data = json_object ();
    char stamp [32];
    for (size_t n = 0; ; n++) {
        const char *key = s_arg_nth (pss, "i", n);
        if (!key)
            break;
        if (n >= max) {
            json_decref (data);
            return s_respond_error (wsi, pss, 400, "InputException", "Too many instruments");
        }
        char exchange [16];
        const char *colon = strchr (key, ':');
        if (!colon || (size_t) (colon - key) >= sizeof exchange)
            continue;
        memcpy (exchange, key, (size_t) (colon - key));
        exchange [colon - key] = '\0';
        s_inst_t *inst = s_inst_by_symbol (self, exchange, colon + 1);
        if (!inst)
            continue;
        const s_quote_t *q = &inst->now;
        json_t *item = json_pack ("{s:I, s:f}", "instrument_token", (json_int_t) inst->token,
                                  "last_price", s_rupees (q->last_price, inst->divisor));
        if (!streq (kind, "ltp"))
            json_object_set_new (item, "ohlc", s_ohlc_json (inst, q));
        if (streq (kind, "full")) {
            s_ist_stamp (stamp, sizeof stamp, q->exchange_time);
            json_object_set_new (item, "timestamp", json_string (stamp));
            if (q->last_trade_time) {
                s_ist_stamp (stamp, sizeof stamp, q->last_trade_time);
                json_object_set_new (item, "last_trade_time", json_string (stamp));
            }
            else
                json_object_set_new (item, "last_trade_time", json_null ());
            double last = s_rupees (q->last_price, inst->divisor);
            double close = s_rupees (q->close, inst->divisor);
            json_object_update_missing_new (item, json_pack (
                "{s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:f, s:f, s:f}",
                "last_quantity", (json_int_t) q->last_quantity,
                "buy_quantity", (json_int_t) q->buy_quantity,
                "sell_quantity", (json_int_t) q->sell_quantity,
                "volume", (json_int_t) q->volume,
                "average_price", s_rupees (q->average_price, inst->divisor),
                "oi", (json_int_t) q->oi, "oi_day_high", (json_int_t) q->oi_day_high,
                "oi_day_low", (json_int_t) q->oi_day_low,
                "net_change", round ((last - close) * inst->divisor) / inst->divisor,
                "lower_circuit_limit", round (close * 0.9 * 20) / 20,
                "upper_circuit_limit", round (close * 1.1 * 20) / 20));
            json_object_set_new (item, "depth", s_depth_json (inst, q));
        }
        json_object_set_new (data, key, item);
    }
    return s_respond_data (wsi, pss, data);
}

//  ------------------------------------------------------------------------------------------
//  Orders (made by POST /_sim/order, read by GET /orders, pushed as postbacks)

static json_t *
s_order_find (tm_kitesim_t *self, const char *order_id)
{
    size_t i;
    json_t *order;
    json_array_foreach (self->orders, i, order)
        if (streq (json_string_value (json_object_get (order, "order_id")), order_id))
            return order;
    return NULL;
}

static int
s_sim_order (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss)
{
    const char *order_id = s_arg (pss, "order_id");
    const char *status = s_arg (pss, "status");
    const char *push = s_arg (pss, "push");
    char stamp [32];
    int64_t now_s = tm_clock_now_ns () / 1000000000;
    s_ist_stamp (stamp, sizeof stamp, now_s);
    json_t *order = order_id ? s_order_find (self, order_id) : NULL;
    if (order_id && !order)
        return s_respond_error (wsi, pss, 404, "InputException", "Unknown order_id");
    if (!order) {
        const char *symbol = s_arg (pss, "tradingsymbol");
        if (!symbol)
            return s_respond_error (wsi, pss, 400, "InputException", "Missing `tradingsymbol`");
        s_inst_t *inst = s_inst_by_symbol (self, s_arg (pss, "exchange"), symbol);
        if (!inst)
            return s_respond_error (wsi, pss, 400, "InputException", "Unknown tradingsymbol");
        if (json_array_size (self->orders) >= S_ORDERS_MAX)
            return s_respond_error (wsi, pss, 429, "GeneralException", "Too many orders");
        char id [32], exchange_id [32];
        struct tm tm;
        s_ist_tm (now_s, &tm);
        self->order_seq++;
        //  Kite ids: yymmdd then a per-day sequence, 15 digits
        snprintf (id, sizeof id, "%02d%02d%02d%09" PRIu64, tm.tm_year % 100, tm.tm_mon + 1,
                  tm.tm_mday, self->order_seq);
        snprintf (exchange_id, sizeof exchange_id, "1100000%09" PRIu64, self->order_seq);
        const char *quantity = s_arg (pss, "quantity");
        json_int_t qty = quantity ? strtoll (quantity, NULL, 10) : (json_int_t) inst->lot_size;
        if (qty <= 0)
            qty = inst->lot_size ? inst->lot_size : 1;
        const char *product = s_arg (pss, "product");
        order = json_pack ("{s:s, s:s, s:n, s:s, s:s, s:i, s:s, s:n, s:n, s:s, s:s, s:s,"
                           " s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:i, s:f, s:f,"
                           " s:f, s:I, s:I, s:i, s:i, s:i, s:{}, s:n, s:s}",
                           "order_id", id, "exchange_order_id", exchange_id,
                           "parent_order_id", "placed_by", "TM0001", "user_id", "TM0001",
                           "app_id", 1234, "status", "OPEN", "status_message",
                           "status_message_raw", "order_timestamp", stamp,
                           "exchange_timestamp", stamp, "exchange_update_timestamp", stamp,
                           "variety", "regular", "exchange", inst->exchange,
                           "tradingsymbol", inst->tradingsymbol,
                           "instrument_token", (json_int_t) inst->token,
                           "order_type", s_arg (pss, "order_type") ? s_arg (pss, "order_type")
                                                                   : "MARKET",
                           "transaction_type", s_arg (pss, "transaction_type")
                                             ? s_arg (pss, "transaction_type") : "BUY",
                           "validity", "DAY",
                           "product", product ? product : inst->derivative ? "NRML" : "CNC",
                           "quantity", qty, "disclosed_quantity", 0,
                           "price", s_arg (pss, "price") ? atof (s_arg (pss, "price")) : 0.0,
                           "trigger_price", 0.0, "average_price", 0.0,
                           "filled_quantity", (json_int_t) 0, "pending_quantity", qty,
                           "cancelled_quantity", 0, "unfilled_quantity", 0,
                           "market_protection", 0, "meta", "tag", "guid", "tmsim");
        assert (order);
        if (s_arg (pss, "tag"))
            json_object_set_new (order, "tag", json_string (s_arg (pss, "tag")));
        json_array_append_new (self->orders, order);
    }
    //  Apply the new status and the fills it implies
    if (!status)
        status = "COMPLETE";
    json_int_t qty = json_integer_value (json_object_get (order, "quantity"));
    json_int_t filled = json_integer_value (json_object_get (order, "filled_quantity"));
    if (s_arg (pss, "filled_quantity"))
        filled = strtoll (s_arg (pss, "filled_quantity"), NULL, 10);
    else
    if (streq (status, "COMPLETE"))
        filled = qty;
    if (filled < 0 || filled > qty)
        filled = qty;
    bool closed = streq (status, "CANCELLED") || streq (status, "REJECTED");
    json_object_set_new (order, "status", json_string (status));
    json_object_set_new (order, "filled_quantity", json_integer (filled));
    json_object_set_new (order, "pending_quantity", json_integer (closed ? 0 : qty - filled));
    json_object_set_new (order, "cancelled_quantity", json_integer (closed ? qty - filled : 0));
    json_object_set_new (order, "exchange_update_timestamp", json_string (stamp));
    if (streq (status, "REJECTED")) {
        const char *why = s_arg (pss, "status_message") ? s_arg (pss, "status_message")
                                                        : "Simulated rejection";
        json_object_set_new (order, "status_message", json_string (why));
        json_object_set_new (order, "status_message_raw", json_string (why));
    }
    if (filled > 0) {
        const char *average = s_arg (pss, "average_price");
        s_inst_t *inst = s_inst_find (self, (uint32_t) json_integer_value (
                                      json_object_get (order, "instrument_token")));
        double price = average ? atof (average)
                     : inst ? s_rupees (inst->now.last_price, inst->divisor) : 0;
        json_object_set_new (order, "average_price", json_real (price));
    }
    size_t pushed = 0;
    if (!push || !streq (push, "0"))
        for (size_t i = 0; i < self->nconns; i++)
            if (!self->conns [i]->dead) {
                s_conn_push_json (self, self->conns [i], "order", order);
                pushed++;
            }
    json_t *data = json_deep_copy (order);
    json_object_set_new (data, "pushed", json_integer ((json_int_t) pushed));
    return s_respond_data (wsi, pss, data);
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
    lws_set_timeout (conn->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}

//  A frame of good packets for conn (its own tokens, or two fixed ones when it has none)
//  around an optional bad middle; extra is added to N.
static void
s_fault_frame (tm_kitesim_t *self, s_conn_t *conn, bool unknown, uint16_t extra)
{
    s_inst_t *picks [2] = { NULL, NULL };
    size_t found = 0;
    for (size_t i = 0; i < self->ninsts && found < 2; i++)
        if (conn->modes [i] != S_MODE_NONE)
            picks [found++] = &self->insts [i];
    if (found < 2) {
        picks [0] = s_inst_find (self, 408065);         //  INFY
        picks [1] = s_inst_find (self, 256265);         //  NIFTY 50
    }
    s_frame_t frame = { NULL, 0, extra };
    for (int i = 0; i < 2; i++) {
        int mode = conn->modes [picks [i] - self->insts];
        s_frame_add (self, conn, &frame, picks [i], mode ? mode : S_MODE_QUOTE);
        if (unknown && i == 0) {
            //  A 20-byte packet: no mode has that length, so a parser must skip it.
            uint8_t *p = s_frame_room (self, conn, &frame, 20);
            for (int b = 0; b < 20; b++)
                p [b] = (uint8_t) (0xA0 + b);
        }
    }
    s_frame_flush (self, conn, &frame);
}

static int
s_sim_fault (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss)
{
    const char *kind = s_arg (pss, "kind");
    const char *text = s_arg (pss, "text");
    if (!kind)
        return s_respond_error (wsi, pss, 400, "InputException", "Missing `kind`");
    static const char *kinds [] = { "close", "close1011", "silent", "garbage", "truncated",
        "unknown_packet", "error_text", "message_text", "refuse_403", "refuse_429", "resume", NULL };
    size_t k;
    for (k = 0; kinds [k] && !streq (kinds [k], kind); k++)
        ;
    if (!kinds [k]) {
        char message [256];
        snprintf (message, sizeof message, "kind '%.64s': expected one of close, close1011, "
                  "silent, garbage, truncated, unknown_packet, error_text, message_text, "
                  "refuse_403, refuse_429, resume", kind);
        return s_respond_error (wsi, pss, 400, "InputException", message);
    }
    self->faults++;
    if (streq (kind, "silent") || streq (kind, "resume")) {
        bool silent = streq (kind, "silent");
        if (!silent)
            self->refuse = 0;
        self->silent = silent;
        for (size_t i = 0; i < self->nconns; i++) {
            s_conn_t *conn = self->conns [i];
            if (conn->dead)
                continue;
            //  Not reading also means not answering pings: a stalled server sends nothing.
            lws_rx_flow_control (conn->wsi, silent ? 0 : 1);
            conn->stalled = silent;
            conn->last_tx = tm_clock_mono_ns ();
            if (!silent && conn->head)
                lws_callback_on_writable (conn->wsi);
        }
    }
    else
    if (streq (kind, "refuse_403"))
        self->refuse = 403;
    else
    if (streq (kind, "refuse_429"))
        self->refuse = 429;
    size_t affected = 0;
    for (size_t i = 0; i < self->nconns; i++) {
        s_conn_t *conn = self->conns [i];
        if (conn->dead)
            continue;
        if (streq (kind, "close"))
            s_conn_kill (conn);
        else
        if (streq (kind, "close1011")) {
            conn->close_code = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
            lws_callback_on_writable (conn->wsi);
        }
        else
        if (streq (kind, "garbage")) {
            s_msg_t *msg = s_msg_new (64, true);
            uint64_t state = self->config.seed ^ self->faults;
            for (size_t b = 0; b < 64; b++)
                s_msg_payload (msg) [b] = (uint8_t) s_rand (&state);
            //  N of at least 32768 cannot fit in 64 bytes, so this never parses by luck.
            s_msg_payload (msg) [0] |= 0x80;
            msg->len = 64;
            s_conn_push (self, conn, &msg);
        }
        else
        if (streq (kind, "truncated"))
            s_fault_frame (self, conn, false, 1);
        else
        if (streq (kind, "unknown_packet"))
            s_fault_frame (self, conn, true, 0);
        else
        if (streq (kind, "error_text") || streq (kind, "message_text")) {
            json_t *data = json_string (text ? text : streq (kind, "error_text")
                                        ? "Simulated error from tickmux-sim"
                                        : "Exchange maintenance at 17:00");
            s_conn_push_json (self, conn, streq (kind, "error_text") ? "error" : "message", data);
            json_decref (data);
        }
        else
            continue;
        affected++;
    }
    return s_respond_ok (wsi, pss, json_pack ("{s:s, s:I}", "kind", kind,
                                              "connections", (json_int_t) affected));
}

static int
s_sim_state (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss)
{
    json_t *conns = json_array ();
    for (size_t i = 0; i < self->nconns; i++) {
        s_conn_t *conn = self->conns [i];
        if (conn->dead)
            continue;
        json_array_append_new (conns, json_pack ("{s:i, s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:I}",
            "id", (int) conn->id, "tokens", (json_int_t) conn->tokens,
            "modes", "ltp", (json_int_t) conn->by_mode [S_MODE_LTP],
                     "quote", (json_int_t) conn->by_mode [S_MODE_QUOTE],
                     "full", (json_int_t) conn->by_mode [S_MODE_FULL],
            "queued_bytes", (json_int_t) conn->queued_bytes,
            "dropped", (json_int_t) conn->dropped, "received", (json_int_t) conn->received));
    }
    return s_respond_json (wsi, pss, 200, json_pack (
        "{s:o, s:I, s:I, s:I, s:I, s:b, s:i, s:I, s:I, s:I, s:I, s:I}",
        "connections", conns,
        "refused_403", (json_int_t) self->refused_403,
        "refused_429", (json_int_t) self->refused_429,
        "malformed", (json_int_t) self->malformed,
        "upgrades", (json_int_t) self->upgrades,
        "silent", self->silent, "refuse", self->refuse,
        "packets_sent", (json_int_t) self->packets_sent,
        "frames_sent", (json_int_t) self->frames_sent,
        "faults", (json_int_t) self->faults,
        "orders", (json_int_t) json_array_size (self->orders),
        "instruments", (json_int_t) self->ninsts));
}

static int
s_sim_last (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss)
{
    const char *text = s_arg (pss, "token");
    char *end = NULL;
    unsigned long long token = text ? strtoull (text, &end, 10) : 0;
    if (!text || !*text || *end || token > UINT32_MAX)
        return s_respond_error (wsi, pss, 400, "InputException", "Missing or bad `token`");
    s_inst_t *inst = s_inst_find (self, (uint32_t) token);
    if (!inst)
        return s_respond_error (wsi, pss, 404, "InputException", "Unknown token");
    if (!inst->ever_sent)
        return s_respond_error (wsi, pss, 404, "GeneralException", "Nothing sent for token");
    const s_quote_t *q = &inst->sent;
    json_t *root = json_pack ("{s:I, s:s, s:s, s:s, s:I, s:f, s:I, s:f, s:I, s:I, s:I, s:o,"
                              " s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
        "token", (json_int_t) inst->token, "tradingsymbol", inst->tradingsymbol,
        "exchange", inst->exchange, "mode", s_mode_names [inst->sent_mode],
        "divisor", (json_int_t) inst->divisor,
        "price", s_rupees (q->last_price, inst->divisor),
        "last_quantity", (json_int_t) q->last_quantity,
        "average_price", s_rupees (q->average_price, inst->divisor),
        "volume", (json_int_t) q->volume, "buy_quantity", (json_int_t) q->buy_quantity,
        "sell_quantity", (json_int_t) q->sell_quantity, "ohlc", s_ohlc_json (inst, q),
        "oi", (json_int_t) q->oi, "oi_day_high", (json_int_t) q->oi_day_high,
        "oi_day_low", (json_int_t) q->oi_day_low,
        "last_trade_time", (json_int_t) q->last_trade_time,
        "exchange_time", (json_int_t) q->exchange_time,
        "price_units", (json_int_t) q->last_price,
        "change", s_rupees ((int64_t) q->last_price - (int64_t) q->close, inst->divisor));
    if (inst->segment != S_SEG_INDICES)
        json_object_set_new (root, "depth", s_depth_json (inst, q));
    return s_respond_json (wsi, pss, 200, root);
}

//  ------------------------------------------------------------------------------------------
//  Routing

static int
s_dispatch (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss)
{
    const char *path = pss->path;
    if (pss->args_overflow || pss->body_overflow)
        return s_respond_error (wsi, pss, 400, "InputException", "Request too large");
    if (strncmp (path, "/_sim/", 6) == 0) {
        if (streq (path, "/_sim/fault"))
            return s_sim_fault (self, wsi, pss);
        if (streq (path, "/_sim/order"))
            return s_sim_order (self, wsi, pss);
        if (streq (path, "/_sim/state"))
            return s_sim_state (self, wsi, pss);
        if (streq (path, "/_sim/last"))
            return s_sim_last (self, wsi, pss);
        return s_respond_error (wsi, pss, 404, "GeneralException", "Route not found");
    }
    if (streq (path, "/session/token"))
        return s_session_token (self, wsi, pss);
    //  The dump does not check authentication (kite.md 4)
    if (streq (path, "/instruments") || strncmp (path, "/instruments/", 13) == 0) {
        if (pss->method != LWSHUMETH_GET)
            return s_respond_error (wsi, pss, 405, "GeneralException", "Method not allowed");
        return s_instruments (self, wsi, pss, path [12] == '/' ? path + 13 : NULL);
    }
    bool known = streq (path, "/orders") || streq (path, "/user/profile")
              || streq (path, "/quote") || streq (path, "/quote/ltp") || streq (path, "/quote/ohlc");
    if (!known)
        return s_respond_error (wsi, pss, 404, "GeneralException", "Route not found");
    if (!pss->authorized)
        return s_respond_error (wsi, pss, 403, "TokenException",
                                "Incorrect `api_key` or `access_token`.");
    if (pss->method != LWSHUMETH_GET)
        return s_respond_error (wsi, pss, 405, "GeneralException", "Method not allowed");
    if (streq (path, "/orders"))
        return s_respond_data (wsi, pss, json_deep_copy (self->orders));
    if (streq (path, "/user/profile"))
        return s_respond_data (wsi, pss, s_profile (self));
    return s_quote (self, wsi, pss, streq (path, "/quote") ? "full"
                                  : streq (path, "/quote/ltp") ? "ltp" : "ohlc");
}

static int
s_http_request (tm_kitesim_t *self, struct lws *wsi, s_pss_t *pss, const char *path)
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
    char header [512];
    char expected [300];
    snprintf (expected, sizeof expected, "token %s:%s", self->api_key, self->access_token);
    pss->authorized = lws_hdr_copy (wsi, header, sizeof header, WSI_TOKEN_HTTP_AUTHORIZATION) > 0
                   && streq (header, expected);
    pss->gzip = lws_hdr_copy (wsi, header, sizeof header, WSI_TOKEN_HTTP_ACCEPT_ENCODING) > 0
             && strstr (header, "gzip");
    if (pss->method == LWSHUMETH_POST || pss->method == LWSHUMETH_PUT) {
        char length [32];
        if (lws_hdr_copy (wsi, length, sizeof length, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0
        &&  atoll (length) > 0) {
            if (atoll (length) > S_BODY_MAX)
                return s_respond_error (wsi, pss, 413, "InputException", "Body too large");
            pss->body_expected = true;
            return 0;               //  Answered on LWS_CALLBACK_HTTP_BODY_COMPLETION
        }
    }
    return s_dispatch (self, wsi, pss);
}

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    tm_kitesim_t *self = (tm_kitesim_t *) lws_context_user (lws_get_context (wsi));
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
            //  The form's pairs are copied into args: the body is done with, whatever happens
            //  to the connection next (keep-alive or close).
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
    //  Kite clients name no subprotocol, so protocols [0] gets their upgrade and all HTTP.
    { "kite", s_callback, sizeof (s_pss_t), 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

//  ------------------------------------------------------------------------------------------
//  The timer: ticks, heartbeats and stall probes

static void
s_send_ticks (tm_kitesim_t *self, s_conn_t *conn, size_t nticked)
{
    s_frame_t frame = { NULL, 0, 0 };
    for (size_t t = 0; t < nticked; t++) {
        size_t index = self->ticked [t];
        int mode = conn->modes [index];
        if (mode && (self->insts [index].changed & s_mode_needs [mode]))
            s_frame_add (self, conn, &frame, &self->insts [index], mode);
    }
    s_frame_flush (self, conn, &frame);
}

static void
s_on_timer (lws_sorted_usec_list_t *sul)
{
    tm_kitesim_t *self = lws_container_of (sul, tm_kitesim_t, tick_sul);
    int64_t now = tm_clock_mono_ns ();
    uint32_t now_s = s_now_s ();
    size_t nticked = 0;
    for (size_t i = 0; i < self->ninsts; i++) {
        s_inst_t *inst = &self->insts [i];
        if (!inst->refs || inst->next_due > now)
            continue;
        s_walk (inst, now_s);
        self->ticked [nticked++] = i;
        //  Uniform in [0.5, 1.5) intervals: the mean rate is --rate, ticks do not march in
        //  lockstep, and a late timer does not cause a burst of catch-up ticks.
        inst->next_due += (int64_t) ((0.5 + s_unit (&inst->rng)) * (double) self->interval_ns);
        if (inst->next_due < now)
            inst->next_due = now + self->interval_ns / 2;
    }
    for (size_t c = 0; c < self->nconns; c++) {
        s_conn_t *conn = self->conns [c];
        if (conn->dead)
            continue;
        //  Ask the kernel whether the client has gone. A stalled session does not read, so
        //  lws cannot see it leave (and a client reconnecting during the stall would meet a
        //  false 429); and lws 4.1.6 with output still buffered for a vanished client keeps
        //  reading EOF in a busy loop instead of closing, so we close it ourselves.
        struct pollfd pfd = { lws_get_socket_fd (conn->wsi), POLLRDHUP, 0 };
        if (pfd.fd >= 0 && poll (&pfd, 1, 0) == 1
        &&  (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            s_conn_kill (conn);
            continue;
        }
        if (conn->stalled)
            continue;
        if (conn->waiting_room) {
            conn->waiting_room = false;
            lws_callback_on_writable (conn->wsi);
        }
        if (self->silent)
            continue;
        if (nticked)
            s_send_ticks (self, conn, nticked);
        if (!conn->head && now - conn->last_tx >= S_HEARTBEAT_NS) {
            s_msg_t *msg = s_msg_new (1, true);
            s_msg_payload (msg) [0] = 0x00;
            msg->len = 1;
            s_conn_push (self, conn, &msg);
            conn->last_tx = now;    //  So a slow write does not queue a second one
        }
    }
    for (size_t t = 0; t < nticked; t++)
        self->insts [self->ticked [t]].changed = 0;
    if (self->log)
        fflush (self->log);
    lws_sul_schedule (self->context, 0, &self->tick_sul, s_on_timer, self->period_us);
}

//  ------------------------------------------------------------------------------------------
//  Public API

void
tm_kitesim_config_defaults (tm_kitesim_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof *config);
    config->port = 0;
    config->seed = 1;
    config->rate = 2.0;
    config->api_key = "tmkey";
    config->api_secret = "tmsecret";
    config->access_token = "tmaccess";
    config->request_token = "tmrequest";
    config->options = 3200;
    config->log_path = NULL;
}

static void
s_log_emit (int level, const char *line)
{
    fprintf (stderr, "tickmux-sim: lws: %s", line);
}

tm_kitesim_t *
tm_kitesim_new (const tm_kitesim_config_t *config, char *err, size_t err_size)
{
    assert (config);
    if (config->options > TM_KITESIM_OPTIONS_MAX || !(config->rate > 0)
    ||  config->rate > TM_KITESIM_RATE_MAX || config->port < 0 || config->port > 65535) {
        snprintf (err, err_size, "bad configuration (options <= %d, 0 < rate <= %g, port 0-65535)",
                  TM_KITESIM_OPTIONS_MAX, TM_KITESIM_RATE_MAX);
        return NULL;
    }
    tm_kitesim_t *self = (tm_kitesim_t *) calloc (1, sizeof (tm_kitesim_t));
    assert (self);
    self->config = *config;
    self->api_key = strdup (config->api_key);
    self->api_secret = strdup (config->api_secret);
    self->access_token = strdup (config->access_token);
    self->request_token = strdup (config->request_token);
    self->config.api_key = self->api_key;
    self->config.api_secret = self->api_secret;
    self->config.access_token = self->access_token;
    self->config.request_token = self->request_token;
    self->config.log_path = NULL;
    self->orders = json_array ();
    self->interval_ns = (int64_t) (1e9 / config->rate);
    lws_usec_t period = (lws_usec_t) (self->interval_ns / 2000);
    self->period_us = period < S_PERIOD_MIN_US ? S_PERIOD_MIN_US
                    : period > S_PERIOD_MAX_US ? S_PERIOD_MAX_US : period;
    if (config->log_path) {
        self->log = fopen (config->log_path, "a");
        if (!self->log) {
            snprintf (err, err_size, "--log '%s': %s", config->log_path, strerror (errno));
            tm_kitesim_destroy (&self);
            return NULL;
        }
        //  Fully buffered, flushed by every timer period: a line per packet would cost a
        //  write () per packet, and a reader still sees lines within one period.
    }
    s_universe_build (self);

    lws_set_log_level (LLL_ERR, s_log_emit);
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof info);
    info.port = config->port;
    info.iface = "127.0.0.1";
    info.protocols = s_protocols;
    info.user = self;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    //  Room for a /quote with hundreds of i= parameters
    info.max_http_header_data = 16384;
    info.fd_limit_per_thread = 256;
    self->context = lws_create_context (&info);
    if (!self->context) {
        snprintf (err, err_size, "cannot listen on 127.0.0.1:%d", config->port);
        tm_kitesim_destroy (&self);
        return NULL;
    }
    self->vhost = lws_get_vhost_by_name (self->context, "default");
    self->port = self->vhost ? lws_get_vhost_listen_port (self->vhost) : config->port;
    if (self->port <= 0) {
        snprintf (err, err_size, "cannot listen on 127.0.0.1:%d", config->port);
        tm_kitesim_destroy (&self);
        return NULL;
    }
    lws_sul_schedule (self->context, 0, &self->tick_sul, s_on_timer, self->period_us);
    return self;
}

void
tm_kitesim_destroy (tm_kitesim_t **self_p)
{
    assert (self_p);
    tm_kitesim_t *self = *self_p;
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
    if (self->log)
        fclose (self->log);
    json_decref (self->orders);
    free (self->insts);
    free (self->by_token);
    free (self->ticked);
    free (self->api_key);
    free (self->api_secret);
    free (self->access_token);
    free (self->request_token);
    free (self);
    *self_p = NULL;
}

int
tm_kitesim_port (tm_kitesim_t *self)
{
    assert (self);
    return self->port;
}

size_t
tm_kitesim_instruments (tm_kitesim_t *self)
{
    assert (self);
    return self->ninsts;
}

int
tm_kitesim_service (tm_kitesim_t *self)
{
    assert (self);
    //  The timer keeps the wait under S_PERIOD_MAX_US; a signal ends it at once (EINTR).
    return lws_service (self->context, 0) < 0 ? -1 : 0;
}
