//  tick - the tick record and its one msgpack codec
//
//  Every actor and every test encodes and decodes ticks with these functions, so the inproc
//  bus and the public feed carry the same body (schemas/tick.schema.json). A body is one map
//  or an array of up to TM_BATCH_MAX maps. Field names (one name per thing, everywhere):
//
//    v kind stream provider symbol token seq src_seq last_price last_quantity volume
//    open high low close oi bid_price bid_quantity ask_price ask_quantity
//    depth {bids [[price, quantity, orders]...], asks [...]}
//    greeks {iv delta gamma theta vega rho}        (options, where the provider sends them)
//    exchange_ts recv_ts norm_ts pub_ts            (nanoseconds since the epoch, UTC)
//
//  The decoder never allocates and bounds every count and length (see mp.h); unknown keys
//  are skipped, so a newer minor version can add fields.

#ifndef TM_TICK_H_INCLUDED
#define TM_TICK_H_INCLUDED

#define TM_TICK_VERSION     1

//  Which optional groups a tick carries (an LTP-only packet has none of them)
#define TM_TICK_QUOTE       0x01    //  last_quantity, volume, open/high/low/close
#define TM_TICK_BOOK        0x02    //  best bid/ask with quantities
#define TM_TICK_OI          0x04    //  open interest
#define TM_TICK_DEPTH       0x08    //  depth levels
#define TM_TICK_GREEKS      0x10    //  option greeks

//  Option greeks as the provider computes them (TrueData's greeks message, truedata.md 3.9)
typedef struct {
    double iv;                      //  Implied volatility, as the provider states it
    double delta;
    double gamma;
    double theta;
    double vega;
    double rho;
} tm_greeks_t;

typedef struct {
    double price;                   //  Price of the level
    int64_t quantity;               //  Quantity at the level
    int32_t orders;                 //  Orders at the level (0 when the provider omits it)
} tm_level_t;

typedef struct {
    char stream [TM_PROVIDER_MAX];  //  Stream the tick travels: provider instance or "ALL"
    char provider [TM_PROVIDER_MAX];    //  Provider instance the tick came from
    char symbol [TM_SYMBOL_MAX];    //  Canonical symbol (the provider's own, before normalizer)
    char token [TM_TOKEN_MAX];      //  Provider's own instrument id
    uint64_t seq;                   //  Gap-free per (stream, symbol); 0 before the normalizer
    uint64_t src_seq;               //  Sequence on the provider's own stream
    uint32_t fields;                //  TM_TICK_* groups present
    double last_price;              //  Last traded price
    int64_t last_quantity;          //  Last traded quantity
    int64_t volume;                 //  Cumulative volume of the day
    double open;                    //  Day open
    double high;                    //  Day high
    double low;                     //  Day low
    double close;                   //  Previous close
    int64_t oi;                     //  Open interest
    double bid_price;               //  Best bid
    int64_t bid_quantity;           //  Quantity at best bid
    double ask_price;               //  Best ask
    int64_t ask_quantity;           //  Quantity at best ask
    uint8_t bid_levels;             //  Valid entries in bids
    uint8_t ask_levels;             //  Valid entries in asks
    tm_level_t bids [TM_DEPTH_MAX]; //  Depth, best first
    tm_level_t asks [TM_DEPTH_MAX]; //  Depth, best first
    tm_greeks_t greeks;             //  With TM_TICK_GREEKS
    int64_t exchange_ts;            //  Exchange timestamp, ns UTC (0 if the provider has none)
    int64_t recv_ts;                //  When the connector received it, ns
    int64_t norm_ts;                //  When the normalizer finished it, ns
    int64_t pub_ts;                 //  When its stream's publisher sent it, ns
} tm_tick_t;

//  Append the msgpack body of count ticks (a map when count == 1, else an array) to buf.
//  count must be 1..TM_BATCH_MAX. Returns 0, or -1 on allocation failure.
int
    tm_tick_encode (const tm_tick_t *ticks, size_t count, msgpack_sbuffer *buf);

//  Decode a body into ticks [0..max). Sets *count. Returns 0, or TM_MALFORMED for anything
//  that is not a valid body: wrong version, missing stream/provider/symbol, a string too long
//  for its field, more than max ticks or TM_DEPTH_MAX levels, a non-finite price, trailing
//  bytes. On TM_MALFORMED *count is 0 and ticks may be partly written.
int
    tm_tick_decode (const void *data, size_t size, tm_tick_t *ticks, size_t max,
                    size_t *count);

//  True if the body's first map has kind "tick" (cheap check for mixed topics).
bool
    tm_tick_body_is_tick (const void *data, size_t size);

//  Send [topic][body] of count ticks on a PUB socket. The topic is prefix (TM_TOPIC_RAW or
//  TM_TOPIC_MD) + the ticks' stream + their symbol when they share one, as bus.h describes;
//  a batch that mixes streams goes as one message per run of one stream.
//  buf is scratch space, cleared first. Returns 0, or -1 if the socket refused (the caller
//  counts it).
int
    tm_tick_publish (zsock_t *pub, const char *prefix, const tm_tick_t *ticks, size_t count,
                     msgpack_sbuffer *buf);

//  Write the MARKET_DATA JSON of a tick into buf: {"type":"MARKET_DATA","stream",...,"data":{}}.
//  Returns the length (the text is not NUL-terminated), or -1 if size is too small
//  (TM_TICK_JSON_MAX always suffices).
#define TM_TICK_JSON_MAX    2048
int
    tm_tick_to_json (const tm_tick_t *tick, char *buf, size_t size);

#endif
