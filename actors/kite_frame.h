//  kite_frame - decoder of KiteTicker binary frames and text messages, encoder of requests
//
//  A plain module (no sockets, no threads) that actors/zerodha wraps, written from
//  ../shared/protocols/kite.md sections 6 to 9. Every length and count read from a frame is
//  checked against the bytes present before it is used; a packet of a length this decoder does
//  not know is skipped by its prefix (kite.md 7.1) and counted, never fatal.

#ifndef TM_KITE_FRAME_H_INCLUDED
#define TM_KITE_FRAME_H_INCLUDED

#include <jansson.h>

#define TM_KITE_FRAME_MAX       (1024 * 1024)   //  Largest binary frame accepted
#define TM_KITE_PACKETS_MAX     4096            //  Packets one frame may carry
#define TM_KITE_TOKENS_MAX      3000            //  Instruments per connection (kite.md 6.1)
#define TM_KITE_TEXT_MAX        (64 * 1024)     //  Largest text message accepted

//  Packet kinds, named by their length in bytes (kite.md 7.2, 7.3)
typedef enum {
    TM_KITE_LTP = 8,
    TM_KITE_INDEX_QUOTE = 28,
    TM_KITE_INDEX_FULL = 32,
    TM_KITE_QUOTE = 44,
    TM_KITE_FULL = 184
} tm_kite_kind_t;

typedef struct {
    uint32_t token;                 //  instrument_token
    uint8_t segment;                //  token & 0xff (kite.md 7.4)
    tm_kite_kind_t kind;            //  Which packet this was
    bool tradable;                  //  segment != 9 (indices)
    double last_price;              //  Every price in rupees: integer / segment divisor
    uint32_t last_quantity;         //  QUOTE, FULL
    double average_price;           //  QUOTE, FULL
    uint32_t volume;                //  QUOTE, FULL
    uint32_t buy_quantity;          //  QUOTE, FULL: pending bids
    uint32_t sell_quantity;         //  QUOTE, FULL: pending offers
    double open, high, low, close;  //  Every kind but LTP (indices send H, L, O, C)
    double change;                  //  INDEX_*: bytes 24-27, signed, in rupees (kite.md 7.5:
                                    //  its meaning is uncertain; not used for the tick)
    uint32_t last_trade_time;       //  FULL: epoch seconds, 0 = none
    uint32_t oi;                    //  FULL
    uint32_t oi_day_high;           //  FULL
    uint32_t oi_day_low;            //  FULL
    uint32_t exchange_time;         //  FULL, INDEX_FULL: epoch seconds, 0 = none
    tm_level_t bids [TM_DEPTH_MAX]; //  FULL: 5 levels each side, best first
    tm_level_t asks [TM_DEPTH_MAX];
} tm_kite_packet_t;

//  The price divisor of a segment: 100, CDS 10 000 000, BCD 10 000 (kite.md 7.4). An unknown
//  segment gets 100 (the common case), and tm_kite_segment_known says so.
double
    tm_kite_divisor (uint8_t segment);
bool
    tm_kite_segment_known (uint8_t segment);

//  Decode one binary frame into packets [0..max). A 1-byte frame is a heartbeat: returns 0
//  with *count 0 (any frame of 0 or 2 to 4 bytes too, as the Python client treats it). Sets
//  *count and *skipped (packets of unknown length, stepped over). Returns 0, or TM_MALFORMED
//  for a frame whose count or lengths do not fit the bytes present (bytes left after the N-th
//  packet included) or that holds more than max packets; packets before the fault are still
//  in packets [0..*count).
int
    tm_kite_frame_decode (const uint8_t *data, size_t size, tm_kite_packet_t *packets, size_t max,
                          size_t *count, size_t *skipped);

//  Fill a tick from a packet: prices, groups present (TM_TICK_*), depth, exchange_ts (from the
//  packet's exchange time, else last trade time, else 0), token as decimal text. symbol,
//  provider, stream and the pipeline timestamps are the caller's.
void
    tm_kite_packet_to_tick (const tm_kite_packet_t *packet, tm_tick_t *tick);

//  Text messages (kite.md 9)
typedef enum {
    TM_KITE_TEXT_ORDER = 1,         //  {"type":"order","data":{...}}
    TM_KITE_TEXT_ERROR,             //  {"type":"error","data":"..."}
    TM_KITE_TEXT_MESSAGE,           //  {"type":"message","data":"..."}
    TM_KITE_TEXT_OTHER              //  Any other type: ignore (forward-compatible)
} tm_kite_text_kind_t;

//  Parse a text message. On success returns 0, sets *kind and *data (a new reference the
//  caller decrefs: the order object, or the error/message string, or the whole message for
//  OTHER). Returns TM_MALFORMED for anything larger than TM_KITE_TEXT_MAX, not JSON, not an
//  object, without a string "type", an order whose data is not an object, or an error/message
//  whose data is not a string.
int
    tm_kite_text_parse (const char *text, size_t len, tm_kite_text_kind_t *kind, json_t **data);

//  Write {"a":"subscribe","v":[t,...]} / {"a":"unsubscribe",...} (mode NULL) or
//  {"a":"mode","v":["full",[t,...]]} into a new string. count 1..TM_KITE_TOKENS_MAX.
//  Returns NULL for a count out of range, or an action or mode kite.md 6.2 does not list.
//  Caller owns return value (free with free ()).
char *
    tm_kite_request (const char *action, const char *mode, const uint32_t *tokens, size_t count);

#endif
