//  kite_frame - KiteTicker binary frames and text messages (see kite_frame.h)
//
//  Decodes what ws.kite.trade sends (kite.md 7 to 9) into tm_kite_packet_t and tm_tick_t, and
//  writes the three requests a client sends (kite.md 6.2). It owns no state, no socket and no
//  thread: actors/zerodha feeds it the bytes of one WebSocket message at a time. It does not
//  map tokens to symbols (kite_instruments does) and never trusts a count or a length prefix.

#include "tickmux.h"
#include "kite_frame.h"

#define S_INDICES       9           //  Segment id of the indices (kite.md 7.4)
#define S_HEADER_SIZE   2           //  Bytes of N, and of each packet's length prefix
#define S_DEPTH_SIZE    12          //  One depth entry: quantity, price, orders, padding
#define S_DEPTH_BIDS    64          //  Offset of the first bid entry in a FULL packet
#define S_DEPTH_ASKS    124         //  Offset of the first offer entry in a FULL packet
#define S_HEARTBEAT_MAX 4           //  Frames this short carry no packet (fixtures README)

static uint16_t
s_get16 (const uint8_t *p)
{
    return (uint16_t) ((p [0] << 8) | p [1]);
}

//  Unsigned, though the docs say int32: kite.md 12 (item 4) lists the signedness among its
//  uncertainties and 7.1 recommends uint32_t, as Python, Go and .NET read it. Only the index
//  change is signed (fixtures README errata).
static uint32_t
s_get32 (const uint8_t *p)
{
    return ((uint32_t) p [0] << 24) | ((uint32_t) p [1] << 16) | ((uint32_t) p [2] << 8)
         | (uint32_t) p [3];
}

//  Prices stay integers on the wire; dividing once here is the only place they become
//  rupees, so every price field of a packet uses the same divisor (kite.md 7.4).
static double
s_price (const uint8_t *p, double divisor)
{
    return (double) s_get32 (p) / divisor;
}

double
tm_kite_divisor (uint8_t segment)
{
    switch (segment) {
        case 3:                     //  CDS, NSE currency
            return 10000000.0;
        //  BCD, BSE currency. kite.md 7.4 marks this [unc]: the docs name only 1e7, but all
        //  five official clients use 1e4, and kite.md recommends following them
        case 6:
            return 10000.0;
        default:
            return 100.0;
    }
}

bool
tm_kite_segment_known (uint8_t segment)
{
    return segment >= 1 && segment <= 9;
}

//  Read one depth side of a FULL packet: 5 entries of 12 bytes (kite.md 7.2).
static void
s_decode_depth (const uint8_t *p, double divisor, tm_level_t *levels)
{
    for (int i = 0; i < TM_DEPTH_MAX; i++, p += S_DEPTH_SIZE) {
        levels [i].quantity = s_get32 (p);
        levels [i].price = s_price (p + 4, divisor);
        //  orders is a uint16 followed by 2 bytes of padding; reading 4 bytes gives the
        //  huge values of the old pykiteconnect docstring (kite.md 7.2)
        levels [i].orders = s_get16 (p + 8);
    }
}

//  Decode a packet whose length is one of the five kinds. p holds exactly size bytes.
static void
s_decode_packet (const uint8_t *p, size_t size, tm_kite_packet_t *packet)
{
    memset (packet, 0, sizeof *packet);
    packet->kind = (tm_kite_kind_t) size;
    packet->token = s_get32 (p);
    packet->segment = (uint8_t) (packet->token & 0xff);
    packet->tradable = packet->segment != S_INDICES;
    double divisor = tm_kite_divisor (packet->segment);
    packet->last_price = s_price (p + 4, divisor);
    if (size == TM_KITE_LTP)
        return;

    if (size == TM_KITE_INDEX_QUOTE || size == TM_KITE_INDEX_FULL) {
        //  Indices send high, low, open, close: not the tradables' order (kite.md 7.2)
        packet->high = s_price (p + 8, divisor);
        packet->low = s_price (p + 12, divisor);
        packet->open = s_price (p + 16, divisor);
        packet->close = s_price (p + 20, divisor);
        //  Signed: negative below the close (fixtures README errata, over kite.md 7.1). Its
        //  meaning is [unc] (kite.md 7.5); as recommended, the tick does not use it and
        //  consumers derive the change from last price and close
        packet->change = (double) (int32_t) s_get32 (p + 24) / divisor;
        if (size == TM_KITE_INDEX_FULL)
            packet->exchange_time = s_get32 (p + 28);
        return;
    }
    //  The kind, not the segment, decides the layout, as every official client does: a
    //  44-byte packet is a quote even if its token says index
    packet->last_quantity = s_get32 (p + 8);
    packet->average_price = s_price (p + 12, divisor);
    packet->volume = s_get32 (p + 16);
    packet->buy_quantity = s_get32 (p + 20);
    packet->sell_quantity = s_get32 (p + 24);
    packet->open = s_price (p + 28, divisor);
    packet->high = s_price (p + 32, divisor);
    packet->low = s_price (p + 36, divisor);
    packet->close = s_price (p + 40, divisor);
    if (size == TM_KITE_QUOTE)
        return;
    packet->last_trade_time = s_get32 (p + 44);
    packet->oi = s_get32 (p + 48);
    packet->oi_day_high = s_get32 (p + 52);
    packet->oi_day_low = s_get32 (p + 56);
    packet->exchange_time = s_get32 (p + 60);
    s_decode_depth (p + S_DEPTH_BIDS, divisor, packet->bids);
    s_decode_depth (p + S_DEPTH_ASKS, divisor, packet->asks);
}

static bool
s_kind_known (size_t size)
{
    return size == TM_KITE_LTP || size == TM_KITE_INDEX_QUOTE || size == TM_KITE_INDEX_FULL
        || size == TM_KITE_QUOTE || size == TM_KITE_FULL;
}

int
tm_kite_frame_decode (const uint8_t *data, size_t size, tm_kite_packet_t *packets, size_t max,
                      size_t *count, size_t *skipped)
{
    assert (count);
    assert (skipped);
    assert (packets || max == 0);
    *count = 0;
    *skipped = 0;
    //  Python ignores messages of 4 bytes or less (fixtures README errata), and an empty one
    //  carries nothing either: none of them is worth a "malformed" count. The heartbeat's
    //  byte value is [unc] (kite.md 8), so only the length is looked at, as clients do.
    if (size <= S_HEARTBEAT_MAX)
        return 0;
    assert (data);
    if (size > TM_KITE_FRAME_MAX)
        return TM_MALFORMED;

    size_t n = s_get16 (data);
    size_t at = S_HEADER_SIZE;
    for (size_t i = 0; i < n; i++) {
        if (size - at < S_HEADER_SIZE)
            return TM_MALFORMED;            //  N promises more packets than the frame holds
        size_t length = s_get16 (data + at);
        at += S_HEADER_SIZE;
        if (size - at < length)
            return TM_MALFORMED;            //  The prefix runs past the end of the frame
        if (!s_kind_known (length))
            //  A newer packet type, or a zero-length one: step over it by its prefix
            //  (kite.md 7.1) and let the caller count it, never fatal
            (*skipped)++;
        else {
            if (*count == max)
                return TM_MALFORMED;
            s_decode_packet (data + at, length, &packets [*count]);
            (*count)++;
        }
        at += length;
    }
    //  Bytes after the N-th packet mean N or a prefix is wrong, so the packets we kept may be
    //  misaligned garbage too; the caller still gets them but counts the frame as malformed
    if (at != size)
        return TM_MALFORMED;
    return 0;
}

//  Levels from the best down to the first empty one. Kite fills missing levels with zeros
//  (kite.md 7.2); sending them on would show clients a bid of 0 for 0, so we stop there.
static uint8_t
s_copy_levels (const tm_level_t *from, tm_level_t *to)
{
    uint8_t levels = 0;
    while (levels < TM_DEPTH_MAX && from [levels].quantity > 0) {
        to [levels] = from [levels];
        levels++;
    }
    return levels;
}

void
tm_kite_packet_to_tick (const tm_kite_packet_t *packet, tm_tick_t *tick)
{
    assert (packet);
    assert (tick);
    //  Clear every market field first, so a tick reused from a FULL packet does not carry
    //  its depth into an LTP packet; the caller's fields (stream, provider, symbol, seq,
    //  src_seq, recv/norm/pub_ts) are left as they are
    tick->fields = 0;
    tick->last_price = packet->last_price;
    tick->last_quantity = 0;
    tick->volume = 0;
    tick->open = tick->high = tick->low = tick->close = 0;
    tick->oi = 0;
    tick->bid_price = tick->ask_price = 0;
    tick->bid_quantity = tick->ask_quantity = 0;
    tick->bid_levels = tick->ask_levels = 0;
    memset (tick->bids, 0, sizeof tick->bids);
    memset (tick->asks, 0, sizeof tick->asks);
    snprintf (tick->token, sizeof tick->token, "%" PRIu32, packet->token);

    if (packet->kind != TM_KITE_LTP) {
        //  Indices have no trades: last_quantity and volume stay 0 (kite.md 7.2)
        tick->fields |= TM_TICK_QUOTE;
        tick->last_quantity = packet->last_quantity;
        tick->volume = packet->volume;
        tick->open = packet->open;
        tick->high = packet->high;
        tick->low = packet->low;
        tick->close = packet->close;
    }
    if (packet->kind == TM_KITE_FULL) {
        //  A 44-byte quote carries only the total pending quantities, no best bid or ask, so
        //  only FULL has a book. An empty side gives a best price and quantity of 0 and no
        //  levels: "no bids" is news a client wants, so BOOK and DEPTH stay set.
        tick->fields |= TM_TICK_BOOK | TM_TICK_OI | TM_TICK_DEPTH;
        tick->oi = packet->oi;
        tick->bid_levels = s_copy_levels (packet->bids, tick->bids);
        tick->ask_levels = s_copy_levels (packet->asks, tick->asks);
        if (tick->bid_levels) {
            tick->bid_price = tick->bids [0].price;
            tick->bid_quantity = tick->bids [0].quantity;
        }
        if (tick->ask_levels) {
            tick->ask_price = tick->asks [0].price;
            tick->ask_quantity = tick->asks [0].quantity;
        }
    }
    //  Exchange time is when the exchange stamped the book; the last trade time is older but
    //  still the exchange's clock, which beats having none (quote packets carry neither)
    uint32_t seconds = packet->exchange_time ? packet->exchange_time : packet->last_trade_time;
    tick->exchange_ts = (int64_t) seconds * 1000000000;
}

int
tm_kite_text_parse (const char *text, size_t len, tm_kite_text_kind_t *kind, json_t **data)
{
    assert (kind);
    assert (data);
    *data = NULL;
    if (!text || len == 0 || len > TM_KITE_TEXT_MAX)
        return TM_MALFORMED;
    //  No JSON_REJECT_DUPLICATES: the official clients' parsers keep the last of duplicate
    //  keys, as jansson does, and we mean to read what they read. NUL inside strings is
    //  refused (jansson's default), so data strings are safe as C strings.
    json_error_t error;
    json_t *root = json_loadb (text, len, 0, &error);
    if (!root)
        return TM_MALFORMED;
    const char *type = json_is_object (root)
                     ? json_string_value (json_object_get (root, "type")) : NULL;
    if (!type) {
        json_decref (root);
        return TM_MALFORMED;
    }
    json_t *payload = json_object_get (root, "data");
    int rc = 0;
    if (streq (type, "order")) {
        //  No field of the order is required: whether checksum and app_id come over the
        //  WebSocket is [unc] (kite.md 9), so the reader treats every one as optional
        *kind = TM_KITE_TEXT_ORDER;
        if (json_is_object (payload))
            *data = json_incref (payload);
        else
            rc = TM_MALFORMED;
    }
    else
    if (streq (type, "error") || streq (type, "message")) {
        *kind = streq (type, "error") ? TM_KITE_TEXT_ERROR : TM_KITE_TEXT_MESSAGE;
        if (json_is_string (payload))
            *data = json_incref (payload);
        else
            rc = TM_MALFORMED;
    }
    else {
        //  Unknown types are forward-compatible: hand over the whole message (kite.md 9)
        *kind = TM_KITE_TEXT_OTHER;
        *data = json_incref (root);
    }
    json_decref (root);
    return rc;
}

char *
tm_kite_request (const char *action, const char *mode, const uint32_t *tokens, size_t count)
{
    if (!action || !tokens || count == 0 || count > TM_KITE_TOKENS_MAX)
        return NULL;
    //  Only the requests of kite.md 6.2: the strings go out unescaped, so they must be ours
    bool is_mode = streq (action, "mode");
    if (is_mode) {
        if (!mode || !(streq (mode, "ltp") || streq (mode, "quote") || streq (mode, "full")))
            return NULL;
    }
    else
    if (mode || !(streq (action, "subscribe") || streq (action, "unsubscribe")))
        return NULL;

    //  {"a":"unsubscribe","v":["quote",[ ... ]]} plus at most 11 bytes a token ("4294967295,")
    size_t room = 40 + count * 11;
    char *text = (char *) malloc (room);
    assert (text);
    int used;
    if (is_mode)
        used = snprintf (text, room, "{\"a\":\"mode\",\"v\":[\"%s\",[", mode);
    else
        used = snprintf (text, room, "{\"a\":\"%s\",\"v\":[", action);
    assert (used > 0 && (size_t) used < room);
    size_t at = (size_t) used;
    for (size_t i = 0; i < count; i++) {
        used = snprintf (text + at, room - at, "%s%" PRIu32, i ? "," : "", tokens [i]);
        assert (used > 0 && (size_t) used < room - at);
        at += (size_t) used;
    }
    used = snprintf (text + at, room - at, is_mode ? "]]}" : "]}");
    assert (used > 0 && (size_t) used < room - at);
    return text;
}
