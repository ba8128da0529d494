//  tick - the tick record's msgpack codec and its MARKET_DATA JSON (see tick.h)
//
//  Encoding uses the inline writers of mp.h (msgpack-c's packer cost 0.7 us a tick through its
//  per-value callback); decoding uses the bounded reader in mp.c, never msgpack-c's unpacker,
//  which allocates what outside bytes declare. Both are tested against msgpack-c.

#include "tickmux.h"

//  Largest encoded tick: 4 strings of at most 31 bytes, 37 keys, 36 numbers of at most 9
//  bytes and 10 depth levels of at most 19 bytes, well under this.
#define S_TICK_MP_MAX   1024

//  Keys are literals: their length is known at compile time.
#define PUT_KEY(p, k)   tm_mp_put_str ((p), (k), sizeof (k) - 1)

static uint8_t *
s_put_cstr (uint8_t *p, const char *s)
{
    return tm_mp_put_str (p, s, strnlen (s, TM_SYMBOL_MAX - 1));
}

static uint8_t *
s_put_levels (uint8_t *p, const tm_level_t *levels, size_t count)
{
    p = tm_mp_put_array (p, (uint32_t) count);
    for (size_t i = 0; i < count; i++) {
        p = tm_mp_put_array (p, 3);
        p = tm_mp_put_double (p, levels [i].price);
        p = tm_mp_put_int (p, levels [i].quantity);
        p = tm_mp_put_int (p, levels [i].orders);
    }
    return p;
}

static uint8_t *
s_put_tick (uint8_t *p, const tm_tick_t *t)
{
    uint32_t pairs = 13;                //  v kind stream provider symbol token seq src_seq
                                        //  last_price exchange_ts recv_ts norm_ts pub_ts
    if (t->fields & TM_TICK_QUOTE)
        pairs += 6;
    if (t->fields & TM_TICK_BOOK)
        pairs += 4;
    if (t->fields & TM_TICK_OI)
        pairs += 1;
    if (t->fields & TM_TICK_DEPTH)
        pairs += 1;
    if (t->fields & TM_TICK_GREEKS)
        pairs += 1;
    p = tm_mp_put_map (p, pairs);
    p = PUT_KEY (p, "v");               p = tm_mp_put_uint (p, TM_TICK_VERSION);
    p = PUT_KEY (p, "kind");            p = PUT_KEY (p, "tick");
    p = PUT_KEY (p, "stream");          p = s_put_cstr (p, t->stream);
    p = PUT_KEY (p, "provider");        p = s_put_cstr (p, t->provider);
    p = PUT_KEY (p, "symbol");          p = s_put_cstr (p, t->symbol);
    p = PUT_KEY (p, "token");           p = s_put_cstr (p, t->token);
    p = PUT_KEY (p, "seq");             p = tm_mp_put_uint (p, t->seq);
    p = PUT_KEY (p, "src_seq");         p = tm_mp_put_uint (p, t->src_seq);
    p = PUT_KEY (p, "last_price");      p = tm_mp_put_double (p, t->last_price);
    if (t->fields & TM_TICK_QUOTE) {
        p = PUT_KEY (p, "last_quantity");   p = tm_mp_put_int (p, t->last_quantity);
        p = PUT_KEY (p, "volume");      p = tm_mp_put_int (p, t->volume);
        p = PUT_KEY (p, "open");        p = tm_mp_put_double (p, t->open);
        p = PUT_KEY (p, "high");        p = tm_mp_put_double (p, t->high);
        p = PUT_KEY (p, "low");         p = tm_mp_put_double (p, t->low);
        p = PUT_KEY (p, "close");       p = tm_mp_put_double (p, t->close);
    }
    if (t->fields & TM_TICK_BOOK) {
        p = PUT_KEY (p, "bid_price");   p = tm_mp_put_double (p, t->bid_price);
        p = PUT_KEY (p, "bid_quantity");    p = tm_mp_put_int (p, t->bid_quantity);
        p = PUT_KEY (p, "ask_price");   p = tm_mp_put_double (p, t->ask_price);
        p = PUT_KEY (p, "ask_quantity");    p = tm_mp_put_int (p, t->ask_quantity);
    }
    if (t->fields & TM_TICK_OI) {
        p = PUT_KEY (p, "oi");          p = tm_mp_put_int (p, t->oi);
    }
    if (t->fields & TM_TICK_DEPTH) {
        p = PUT_KEY (p, "depth");
        p = tm_mp_put_map (p, 2);
        p = PUT_KEY (p, "bids");        p = s_put_levels (p, t->bids, t->bid_levels);
        p = PUT_KEY (p, "asks");        p = s_put_levels (p, t->asks, t->ask_levels);
    }
    if (t->fields & TM_TICK_GREEKS) {
        p = PUT_KEY (p, "greeks");
        p = tm_mp_put_map (p, 6);
        p = PUT_KEY (p, "iv");          p = tm_mp_put_double (p, t->greeks.iv);
        p = PUT_KEY (p, "delta");       p = tm_mp_put_double (p, t->greeks.delta);
        p = PUT_KEY (p, "gamma");       p = tm_mp_put_double (p, t->greeks.gamma);
        p = PUT_KEY (p, "theta");       p = tm_mp_put_double (p, t->greeks.theta);
        p = PUT_KEY (p, "vega");        p = tm_mp_put_double (p, t->greeks.vega);
        p = PUT_KEY (p, "rho");         p = tm_mp_put_double (p, t->greeks.rho);
    }
    p = PUT_KEY (p, "exchange_ts");     p = tm_mp_put_int (p, t->exchange_ts);
    p = PUT_KEY (p, "recv_ts");         p = tm_mp_put_int (p, t->recv_ts);
    p = PUT_KEY (p, "norm_ts");         p = tm_mp_put_int (p, t->norm_ts);
    p = PUT_KEY (p, "pub_ts");          p = tm_mp_put_int (p, t->pub_ts);
    return p;
}

int
tm_tick_encode (const tm_tick_t *ticks, size_t count, msgpack_sbuffer *buf)
{
    assert (ticks && buf);
    assert (count >= 1 && count <= TM_BATCH_MAX);
    uint8_t *start = tm_mp_reserve (buf, 8 + count * S_TICK_MP_MAX);
    uint8_t *p = start;
    if (count > 1)
        p = tm_mp_put_array (p, (uint32_t) count);
    for (size_t i = 0; i < count; i++) {
        assert (ticks [i].bid_levels <= TM_DEPTH_MAX && ticks [i].ask_levels <= TM_DEPTH_MAX);
        p = s_put_tick (p, &ticks [i]);
    }
    buf->size += (size_t) (p - start);
    return 0;
}

//  A bad level fails the reader itself (not only this call), so the caller cannot go on
//  reading from the middle of a value.
static int
s_read_levels (tm_mp_reader_t *r, tm_level_t *levels, uint8_t *count)
{
    uint32_t n;
    if (tm_mp_read_array (r, &n) || n > TM_DEPTH_MAX) {
        r->failed = true;
        return TM_MALFORMED;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t parts;
        int64_t orders = 0;
        if (tm_mp_read_array (r, &parts) || parts < 2 || parts > 3
        ||  tm_mp_read_double (r, &levels [i].price)
        ||  tm_mp_read_int (r, &levels [i].quantity)
        ||  (parts == 3 && tm_mp_read_int (r, &orders))
        ||  orders < 0 || orders > INT32_MAX) {
            r->failed = true;
            return TM_MALFORMED;
        }
        levels [i].orders = (int32_t) orders;
    }
    *count = (uint8_t) n;
    return 0;
}

static int
s_read_depth (tm_mp_reader_t *r, tm_tick_t *t)
{
    uint32_t pairs;
    if (tm_mp_read_map (r, &pairs) || pairs > 2) {
        r->failed = true;
        return TM_MALFORMED;
    }
    for (uint32_t i = 0; i < pairs; i++) {
        const char *key;
        uint32_t len;
        if (tm_mp_read_str (r, &key, &len))
            return TM_MALFORMED;
        if (len == 4 && memcmp (key, "bids", 4) == 0) {
            if (s_read_levels (r, t->bids, &t->bid_levels))
                return TM_MALFORMED;
        }
        else
        if (len == 4 && memcmp (key, "asks", 4) == 0) {
            if (s_read_levels (r, t->asks, &t->ask_levels))
                return TM_MALFORMED;
        }
        else
        if (tm_mp_skip (r))
            return TM_MALFORMED;
    }
    return 0;
}

//  The greeks map: all six, nothing else, each a finite number.
static int
s_read_greeks (tm_mp_reader_t *r, tm_greeks_t *g)
{
    uint32_t pairs;
    if (tm_mp_read_map (r, &pairs) || pairs != 6) {
        r->failed = true;
        return TM_MALFORMED;
    }
    uint32_t seen = 0;
    for (uint32_t i = 0; i < pairs; i++) {
        const char *key;
        uint32_t len;
        double *value = NULL;
        uint32_t bit = 0;
        if (tm_mp_read_str (r, &key, &len))
            return TM_MALFORMED;
        if (TM_MP_KEY_IS ("iv"))          { value = &g->iv;    bit = 1; }
        else if (TM_MP_KEY_IS ("delta"))  { value = &g->delta; bit = 2; }
        else if (TM_MP_KEY_IS ("gamma"))  { value = &g->gamma; bit = 4; }
        else if (TM_MP_KEY_IS ("theta"))  { value = &g->theta; bit = 8; }
        else if (TM_MP_KEY_IS ("vega"))   { value = &g->vega;  bit = 16; }
        else if (TM_MP_KEY_IS ("rho"))    { value = &g->rho;   bit = 32; }
        if (!value || (seen & bit) || tm_mp_read_double (r, value)) {
            r->failed = true;
            return TM_MALFORMED;
        }
        seen |= bit;
    }
    return 0;
}

//  Decode one tick map. Required: v == 1, kind "tick", stream, provider, symbol, last_price.
static int
s_read_tick (tm_mp_reader_t *r, tm_tick_t *t)
{
    uint32_t pairs;
    if (tm_mp_read_map (r, &pairs))
        return TM_MALFORMED;
    memset (t, 0, sizeof *t);
    uint32_t seen = 0;                  //  Required keys found, as bits
    for (uint32_t i = 0; i < pairs && !r->failed; i++) {
        const char *key;
        uint32_t len;
        if (tm_mp_read_str (r, &key, &len))
            return TM_MALFORMED;
        if (TM_MP_KEY_IS ("v")) {
            uint64_t v;
            if (tm_mp_read_uint (r, &v) || v != TM_TICK_VERSION)
                return TM_MALFORMED;
            seen |= 1;
        }
        else
        if (TM_MP_KEY_IS ("kind")) {
            const char *kind;
            uint32_t klen;
            if (tm_mp_read_str (r, &kind, &klen) || klen != 4 || memcmp (kind, "tick", 4))
                return TM_MALFORMED;
            seen |= 2;
        }
        else
        if (TM_MP_KEY_IS ("stream")) {
            tm_mp_read_cstr (r, t->stream, sizeof t->stream);
            seen |= 4;
        }
        else
        if (TM_MP_KEY_IS ("provider")) {
            tm_mp_read_cstr (r, t->provider, sizeof t->provider);
            seen |= 8;
        }
        else
        if (TM_MP_KEY_IS ("symbol")) {
            tm_mp_read_cstr (r, t->symbol, sizeof t->symbol);
            seen |= 16;
        }
        else
        if (TM_MP_KEY_IS ("last_price")) {
            tm_mp_read_double (r, &t->last_price);
            seen |= 32;
        }
        else
        if (TM_MP_KEY_IS ("token"))           tm_mp_read_cstr (r, t->token, sizeof t->token);
        else
        if (TM_MP_KEY_IS ("seq"))             tm_mp_read_uint (r, &t->seq);
        else
        if (TM_MP_KEY_IS ("src_seq"))         tm_mp_read_uint (r, &t->src_seq);
        else
        if (TM_MP_KEY_IS ("last_quantity")) { tm_mp_read_int (r, &t->last_quantity); t->fields |= TM_TICK_QUOTE; }
        else
        if (TM_MP_KEY_IS ("volume"))        { tm_mp_read_int (r, &t->volume); t->fields |= TM_TICK_QUOTE; }
        else
        if (TM_MP_KEY_IS ("open"))          { tm_mp_read_double (r, &t->open); t->fields |= TM_TICK_QUOTE; }
        else
        if (TM_MP_KEY_IS ("high"))          { tm_mp_read_double (r, &t->high); t->fields |= TM_TICK_QUOTE; }
        else
        if (TM_MP_KEY_IS ("low"))           { tm_mp_read_double (r, &t->low); t->fields |= TM_TICK_QUOTE; }
        else
        if (TM_MP_KEY_IS ("close"))         { tm_mp_read_double (r, &t->close); t->fields |= TM_TICK_QUOTE; }
        else
        if (TM_MP_KEY_IS ("bid_price"))     { tm_mp_read_double (r, &t->bid_price); t->fields |= TM_TICK_BOOK; }
        else
        if (TM_MP_KEY_IS ("bid_quantity"))  { tm_mp_read_int (r, &t->bid_quantity); t->fields |= TM_TICK_BOOK; }
        else
        if (TM_MP_KEY_IS ("ask_price"))     { tm_mp_read_double (r, &t->ask_price); t->fields |= TM_TICK_BOOK; }
        else
        if (TM_MP_KEY_IS ("ask_quantity"))  { tm_mp_read_int (r, &t->ask_quantity); t->fields |= TM_TICK_BOOK; }
        else
        if (TM_MP_KEY_IS ("oi"))            { tm_mp_read_int (r, &t->oi); t->fields |= TM_TICK_OI; }
        else
        if (TM_MP_KEY_IS ("depth")) {
            if (s_read_depth (r, t))
                return TM_MALFORMED;
            t->fields |= TM_TICK_DEPTH;
        }
        else
        if (TM_MP_KEY_IS ("greeks")) {
            if (s_read_greeks (r, &t->greeks))
                return TM_MALFORMED;
            t->fields |= TM_TICK_GREEKS;
        }
        else
        if (TM_MP_KEY_IS ("exchange_ts"))     tm_mp_read_int (r, &t->exchange_ts);
        else
        if (TM_MP_KEY_IS ("recv_ts"))         tm_mp_read_int (r, &t->recv_ts);
        else
        if (TM_MP_KEY_IS ("norm_ts"))         tm_mp_read_int (r, &t->norm_ts);
        else
        if (TM_MP_KEY_IS ("pub_ts"))          tm_mp_read_int (r, &t->pub_ts);
        else
            tm_mp_skip (r);             //  A field from a newer minor version
    }
    if (r->failed || seen != 63 || !t->stream [0] || !t->provider [0] || !t->symbol [0])
        return TM_MALFORMED;
    return 0;
}

int
tm_tick_decode (const void *data, size_t size, tm_tick_t *ticks, size_t max, size_t *count)
{
    assert (ticks && count);
    *count = 0;
    if (!data || size == 0 || size > TM_BODY_MAX || max == 0)
        return TM_MALFORMED;
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, data, size);
    size_t n = 1;
    if (tm_mp_next_is_array (&r)) {
        uint32_t items;
        if (tm_mp_read_array (&r, &items) || items == 0 || items > max || items > TM_BATCH_MAX)
            return TM_MALFORMED;
        n = items;
    }
    for (size_t i = 0; i < n; i++)
        if (s_read_tick (&r, &ticks [i]))
            return TM_MALFORMED;
    if (tm_mp_finish (&r))
        return TM_MALFORMED;
    *count = n;
    return 0;
}

bool
tm_tick_body_is_tick (const void *data, size_t size)
{
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, data, size);
    uint32_t n;
    if (tm_mp_next_is_array (&r) && (tm_mp_read_array (&r, &n) || n == 0))
        return false;
    uint32_t pairs;
    if (tm_mp_read_map (&r, &pairs))
        return false;
    for (uint32_t i = 0; i < pairs; i++) {
        const char *key, *val;
        uint32_t len, vlen;
        if (tm_mp_read_str (&r, &key, &len))
            return false;
        if (TM_MP_KEY_IS ("kind"))
            return tm_mp_read_str (&r, &val, &vlen) == 0 && vlen == 4 && memcmp (val, "tick", 4) == 0;
        if (tm_mp_skip (&r))
            return false;
    }
    return false;
}

//  Send one message of ticks that share a stream.
static int
s_publish_run (zsock_t *pub, const char *prefix, const tm_tick_t *ticks, size_t count,
               msgpack_sbuffer *buf)
{
    bool one_symbol = true;
    for (size_t i = 1; i < count && one_symbol; i++)
        one_symbol = strcmp (ticks [i].symbol, ticks [0].symbol) == 0;
    char topic [TM_TOPIC_MAX];
    if (tm_bus_topic (topic, sizeof topic, prefix, ticks [0].stream,
                      one_symbol ? ticks [0].symbol : NULL) < 0)
        return -1;
    msgpack_sbuffer_clear (buf);
    tm_tick_encode (ticks, count, buf);
    return tm_bus_send (pub, topic, buf->data, buf->size);
}

int
tm_tick_publish (zsock_t *pub, const char *prefix, const tm_tick_t *ticks, size_t count,
                 msgpack_sbuffer *buf)
{
    assert (pub && prefix && ticks && buf);
    //  A topic names one stream, so a batch that mixes streams goes as one message per run.
    int rc = 0;
    size_t start = 0;
    for (size_t i = 1; i <= count; i++)
        if (i == count || strcmp (ticks [i].stream, ticks [start].stream) != 0) {
            if (s_publish_run (pub, prefix, ticks + start, i - start, buf))
                rc = -1;
            start = i;
        }
    return rc;
}

//  ------------------------------------------------------------------------------------------
//  MARKET_DATA JSON, hand-written for the fixed shape (about 20 times faster than a general
//  JSON library, DESIGN.md 7). Tested against jansson's parser.

typedef struct {
    char *p;                        //  Next byte to write
    char *end;                      //  One past the last usable byte
    bool overflow;                  //  Set when something did not fit
} s_out_t;

static void
s_put (s_out_t *o, const char *s, size_t len)
{
    if (o->overflow || (size_t) (o->end - o->p) < len) {
        o->overflow = true;
        return;
    }
    memcpy (o->p, s, len);
    o->p += len;
}

#define PUT_LIT(o, s) s_put ((o), (s), sizeof (s) - 1)

static void
s_put_uint (s_out_t *o, uint64_t v)
{
    char tmp [24];
    char *q = tmp + sizeof tmp;
    do {
        *--q = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    s_put (o, q, (size_t) (tmp + sizeof tmp - q));
}

static void
s_put_int (s_out_t *o, int64_t v)
{
    if (v < 0) {
        PUT_LIT (o, "-");
        s_put_uint (o, (uint64_t) 0 - (uint64_t) v);
    }
    else
        s_put_uint (o, (uint64_t) v);
}

//  Prices have at most 4 decimals (currency derivatives tick in 0.0025): print them exactly
//  from a rounded fixed-point value, trailing zeros trimmed. Larger magnitudes fall back to %.17g.
static void
s_put_price (s_out_t *o, double v)
{
    if (!isfinite (v)) {
        PUT_LIT (o, "null");
        return;
    }
    if (fabs (v) >= 1e14) {
        char tmp [32];
        int len = snprintf (tmp, sizeof tmp, "%.17g", v);
        s_put (o, tmp, (size_t) len);
        return;
    }
    if (v < 0) {
        PUT_LIT (o, "-");
        v = -v;
    }
    int64_t fixed = (int64_t) (v * 10000.0 + 0.5);
    s_put_uint (o, (uint64_t) (fixed / 10000));
    int frac = (int) (fixed % 10000);
    if (frac) {
        char digits [6] = { '.', (char) ('0' + frac / 1000), (char) ('0' + frac / 100 % 10),
                            (char) ('0' + frac / 10 % 10), (char) ('0' + frac % 10), 0 };
        size_t len = 5;
        while (digits [len - 1] == '0')
            len--;
        s_put (o, digits, len);
    }
}

//  Our strings come from the codec, which bounded them, but may still hold quotes or
//  control bytes from a provider: escape them.
static void
s_put_str (s_out_t *o, const char *s)
{
    size_t len = 0;
    bool plain = true;
    for (; s [len]; len++)
        if ((unsigned char) s [len] < 0x20 || s [len] == '"' || s [len] == '\\')
            plain = false;
    PUT_LIT (o, "\"");
    if (plain)
        s_put (o, s, len);
    else
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\') {
            char esc [2] = { '\\', (char) c };
            s_put (o, esc, 2);
        }
        else
        if (c < 0x20) {
            char esc [8];
            snprintf (esc, sizeof esc, "\\u%04x", c);
            s_put (o, esc, 6);
        }
        else
            s_put (o, (const char *) &c, 1);
    }
    PUT_LIT (o, "\"");
}

static void
s_json_levels (s_out_t *o, const tm_level_t *levels, size_t count)
{
    PUT_LIT (o, "[");
    for (size_t i = 0; i < count; i++) {
        if (i)
            PUT_LIT (o, ",");
        PUT_LIT (o, "[");
        s_put_price (o, levels [i].price);
        PUT_LIT (o, ",");
        s_put_int (o, levels [i].quantity);
        PUT_LIT (o, ",");
        s_put_int (o, levels [i].orders);
        PUT_LIT (o, "]");
    }
    PUT_LIT (o, "]");
}

//  Greeks are small and unrounded (gamma 0.00012): ten significant digits, not s_put_price.
static void
s_put_real (s_out_t *o, double v)
{
    if (!isfinite (v)) {
        PUT_LIT (o, "null");
        return;
    }
    char tmp [32];
    int len = snprintf (tmp, sizeof tmp, "%.10g", v);
    s_put (o, tmp, (size_t) len);
}

static void
s_json_greeks (s_out_t *o, const tm_greeks_t *g)
{
    static const char *keys [6] = {
        ",\"greeks\":{\"iv\":", ",\"delta\":", ",\"gamma\":", ",\"theta\":", ",\"vega\":",
        ",\"rho\":"
    };
    const double values [6] = { g->iv, g->delta, g->gamma, g->theta, g->vega, g->rho };
    for (int i = 0; i < 6; i++) {
        s_put (o, keys [i], strlen (keys [i]));
        s_put_real (o, values [i]);
    }
    PUT_LIT (o, "}");
}

int
tm_tick_to_json (const tm_tick_t *t, char *buf, size_t size)
{
    assert (t && buf);
    s_out_t o = { buf, buf + size, false };
    PUT_LIT (&o, "{\"type\":\"MARKET_DATA\",\"stream\":");
    s_put_str (&o, t->stream);
    PUT_LIT (&o, ",\"provider\":");
    s_put_str (&o, t->provider);
    PUT_LIT (&o, ",\"symbol\":");
    s_put_str (&o, t->symbol);
    PUT_LIT (&o, ",\"seq\":");
    s_put_uint (&o, t->seq);
    PUT_LIT (&o, ",\"data\":{\"token\":");
    s_put_str (&o, t->token);
    PUT_LIT (&o, ",\"src_seq\":");
    s_put_uint (&o, t->src_seq);
    PUT_LIT (&o, ",\"last_price\":");
    s_put_price (&o, t->last_price);
    if (t->fields & TM_TICK_QUOTE) {
        PUT_LIT (&o, ",\"last_quantity\":");
        s_put_int (&o, t->last_quantity);
        PUT_LIT (&o, ",\"volume\":");
        s_put_int (&o, t->volume);
        PUT_LIT (&o, ",\"open\":");
        s_put_price (&o, t->open);
        PUT_LIT (&o, ",\"high\":");
        s_put_price (&o, t->high);
        PUT_LIT (&o, ",\"low\":");
        s_put_price (&o, t->low);
        PUT_LIT (&o, ",\"close\":");
        s_put_price (&o, t->close);
    }
    if (t->fields & TM_TICK_BOOK) {
        PUT_LIT (&o, ",\"bid_price\":");
        s_put_price (&o, t->bid_price);
        PUT_LIT (&o, ",\"bid_quantity\":");
        s_put_int (&o, t->bid_quantity);
        PUT_LIT (&o, ",\"ask_price\":");
        s_put_price (&o, t->ask_price);
        PUT_LIT (&o, ",\"ask_quantity\":");
        s_put_int (&o, t->ask_quantity);
    }
    if (t->fields & TM_TICK_OI) {
        PUT_LIT (&o, ",\"oi\":");
        s_put_int (&o, t->oi);
    }
    if (t->fields & TM_TICK_DEPTH) {
        PUT_LIT (&o, ",\"depth\":{\"bids\":");
        s_json_levels (&o, t->bids, t->bid_levels);
        PUT_LIT (&o, ",\"asks\":");
        s_json_levels (&o, t->asks, t->ask_levels);
        PUT_LIT (&o, "}");
    }
    if (t->fields & TM_TICK_GREEKS)
        s_json_greeks (&o, &t->greeks);
    PUT_LIT (&o, ",\"exchange_ts\":");
    s_put_int (&o, t->exchange_ts);
    PUT_LIT (&o, ",\"recv_ts\":");
    s_put_int (&o, t->recv_ts);
    PUT_LIT (&o, ",\"norm_ts\":");
    s_put_int (&o, t->norm_ts);
    PUT_LIT (&o, ",\"pub_ts\":");
    s_put_int (&o, t->pub_ts);
    PUT_LIT (&o, "}}");
    if (o.overflow)
        return -1;
    return (int) (o.p - buf);
}
