//  fuzz_tick - libFuzzer target for the bus records' decoders: tick, status, event, stats, heartbeat, upstream
//
//  A body that decodes must survive the round trip: encoded again it decodes to the same
//  ticks, and each one formats as MARKET_DATA JSON in TM_TICK_JSON_MAX bytes, which jansson
//  accepts. The same for a status, a FAILOVER / GAP event and a stats record. Anything else is
//  a crash here, so the fuzzer stops on it.

#include "tickmux.h"
#include <jansson.h>

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Static, not on the stack: a batch is about 100 KB
static tm_tick_t s_ticks [TM_BATCH_MAX];
static tm_tick_t s_again [TM_BATCH_MAX];
static char s_symbols [TM_STATUS_SYMBOLS_MAX][TM_SYMBOL_MAX];
static char s_symbols_again [TM_STATUS_SYMBOLS_MAX][TM_SYMBOL_MAX];

static bool
s_same_level (const tm_level_t *a, const tm_level_t *b)
{
    return a->price == b->price && a->quantity == b->quantity && a->orders == b->orders;
}

static bool
s_same_tick (const tm_tick_t *a, const tm_tick_t *b)
{
    if (strcmp (a->stream, b->stream) || strcmp (a->provider, b->provider)
    ||  strcmp (a->symbol, b->symbol) || strcmp (a->token, b->token)
    ||  a->seq != b->seq || a->src_seq != b->src_seq || a->fields != b->fields
    ||  a->last_price != b->last_price || a->exchange_ts != b->exchange_ts
    ||  a->recv_ts != b->recv_ts || a->norm_ts != b->norm_ts || a->pub_ts != b->pub_ts)
        return false;
    if ((a->fields & TM_TICK_QUOTE)
    &&  (a->last_quantity != b->last_quantity || a->volume != b->volume || a->open != b->open
         || a->high != b->high || a->low != b->low || a->close != b->close))
        return false;
    if ((a->fields & TM_TICK_BOOK)
    &&  (a->bid_price != b->bid_price || a->bid_quantity != b->bid_quantity
         || a->ask_price != b->ask_price || a->ask_quantity != b->ask_quantity))
        return false;
    if ((a->fields & TM_TICK_OI) && a->oi != b->oi)
        return false;
    if (a->fields & TM_TICK_DEPTH) {
        if (a->bid_levels != b->bid_levels || a->ask_levels != b->ask_levels)
            return false;
        for (int i = 0; i < a->bid_levels; i++)
            if (!s_same_level (&a->bids [i], &b->bids [i]))
                return false;
        for (int i = 0; i < a->ask_levels; i++)
            if (!s_same_level (&a->asks [i], &b->asks [i]))
                return false;
    }
    return true;
}

//  True if s is valid UTF-8 (the decoder does not require it, and jansson does).
static bool
s_utf8 (const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        int extra = *p < 0x80 ? 0 : (*p >> 5) == 0x6 ? 1 : (*p >> 4) == 0xe ? 2
                  : (*p >> 3) == 0x1e ? 3 : -1;
        if (extra < 0 || (extra == 1 && *p < 0xc2))
            return false;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return false;
    }
    return true;
}

static void
s_check_json (const tm_tick_t *tick)
{
    char json [TM_TICK_JSON_MAX];
    int len = tm_tick_to_json (tick, json, sizeof json);
    if (len <= 0 || (size_t) len >= sizeof json)
        abort ();           //  tick.h: TM_TICK_JSON_MAX always suffices
    //  jansson holds integers as int64 and strings as UTF-8; within those, it must parse
    if (tick->seq > INT64_MAX || tick->src_seq > INT64_MAX
    ||  !s_utf8 (tick->stream) || !s_utf8 (tick->provider) || !s_utf8 (tick->symbol)
    ||  !s_utf8 (tick->token))
        return;
    json_error_t error;
    json_t *root = json_loadb (json, (size_t) len, 0, &error);
    if (!json_is_object (root)
    ||  strcmp (json_string_value (json_object_get (root, "symbol")), tick->symbol) != 0)
        abort ();
    json_decref (root);
}

static void
s_fuzz_ticks (const uint8_t *data, size_t size)
{
    size_t count = 0;
    tm_tick_body_is_tick (data, size);
    if (tm_tick_decode (data, size, s_ticks, TM_BATCH_MAX, &count) != 0) {
        if (count != 0)
            abort ();
        return;
    }
    if (count < 1 || count > TM_BATCH_MAX)
        abort ();
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    if (tm_tick_encode (s_ticks, count, &buf) != 0)
        abort ();
    size_t again = 0;
    if (tm_tick_decode (buf.data, buf.size, s_again, TM_BATCH_MAX, &again) != 0 || again != count)
        abort ();
    if (!tm_tick_body_is_tick (buf.data, buf.size))
        abort ();
    for (size_t i = 0; i < count; i++) {
        if (!s_same_tick (&s_ticks [i], &s_again [i]))
            abort ();
        s_check_json (&s_ticks [i]);
    }
    msgpack_sbuffer_destroy (&buf);
}

static void
s_fuzz_status (const uint8_t *data, size_t size)
{
    tm_status_t status, again;
    if (tm_status_decode (data, size, &status, s_symbols) != 0)
        return;
    if (status.symbols_count > TM_STATUS_SYMBOLS_MAX || status.state >= TM_STATE_COUNT)
        abort ();
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    if (tm_status_encode (&status, &buf) != 0)
        abort ();
    if (tm_status_decode (buf.data, buf.size, &again, s_symbols_again) != 0
    ||  again.symbols_count != status.symbols_count || again.state != status.state
    ||  strcmp (again.provider, status.provider) || strcmp (again.reason, status.reason)
    ||  again.messages != status.messages || again.ts != status.ts)
        abort ();
    for (uint32_t i = 0; i < status.symbols_count; i++)
        if (strcmp (s_symbols [i], s_symbols_again [i]) != 0)
            abort ();
    msgpack_sbuffer_destroy (&buf);
    //  Without room for symbols the rest still decodes
    if (tm_status_decode (data, size, &again, NULL) != 0)
        abort ();
}

static void
s_fuzz_event (const uint8_t *data, size_t size)
{
    tm_failover_event_t event, again;
    int64_t ts, ts_again;
    if (tm_event_decode (data, size, &event, &ts) != 0)
        return;
    if (!event.symbol [0] || !event.to [0])
        abort ();
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    tm_event_encode (&event, ts, &buf);
    if (tm_event_decode (buf.data, buf.size, &again, &ts_again) != 0 || ts != ts_again
    ||  memcmp (&event, &again, sizeof event) != 0)
        abort ();
    msgpack_sbuffer_destroy (&buf);
}

static void
s_fuzz_stats (const uint8_t *data, size_t size)
{
    static tm_stats_t stats, again;
    if (tm_stats_decode (data, size, &stats) != 0)
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    tm_stats_encode (&stats, &buf);
    if (tm_stats_decode (buf.data, buf.size, &again) != 0
    ||  memcmp (&stats, &again, sizeof stats) != 0)
        abort ();
    msgpack_sbuffer_destroy (&buf);
}

static void
s_fuzz_heartbeat (const uint8_t *data, size_t size)
{
    tm_heartbeat_t hb, again;
    if (tm_heartbeat_decode (data, size, &hb) != 0)
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    tm_heartbeat_encode (&hb, &buf);
    if (tm_heartbeat_decode (buf.data, buf.size, &again) != 0
    ||  memcmp (&hb, &again, sizeof hb) != 0)
        abort ();
    msgpack_sbuffer_destroy (&buf);
}

static void
s_fuzz_upstream (const uint8_t *data, size_t size)
{
    tm_upstream_t up, again;
    if (tm_upstream_decode (data, size, &up) != 0)
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    tm_upstream_encode (&up, &buf);
    if (tm_upstream_decode (buf.data, buf.size, &again) != 0
    ||  memcmp (&up, &again, sizeof up) != 0)
        abort ();
    msgpack_sbuffer_destroy (&buf);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_fuzz_ticks (data, size);
    s_fuzz_status (data, size);
    s_fuzz_event (data, size);
    s_fuzz_stats (data, size);
    s_fuzz_heartbeat (data, size);
    s_fuzz_upstream (data, size);
    return 0;
}
