//  codec_dump - write real codec output for tests/e2e/test_schemas.py
//
//  Writes records of [4-byte big-endian length][msgpack body] to stdout: single ticks of every
//  symbol of the simulated market (so every optional group appears and is absent somewhere),
//  ticks after the normalizer and on the ALL stream, batches, and status bodies. The Python
//  side decodes them with msgpack and validates them against schemas/.

#include "tickmux.h"
#include "market.h"

static void
s_write (msgpack_sbuffer *buf)
{
    uint8_t len [4] = { (uint8_t) (buf->size >> 24), (uint8_t) (buf->size >> 16),
                        (uint8_t) (buf->size >> 8), (uint8_t) buf->size };
    fwrite (len, 1, 4, stdout);
    fwrite (buf->data, 1, buf->size, stdout);
    msgpack_sbuffer_clear (buf);
}

int
main (void)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    tm_market_t *market = tm_market_new (42, 0);
    tm_tick_t ticks [TM_BATCH_MAX];
    int64_t now = tm_clock_now_ns ();
    for (size_t i = 0; i < TM_BATCH_MAX; i++) {
        tm_market_next (market, &ticks [i], now + (int64_t) i);
        strcpy (ticks [i].provider, "SIM");
        strcpy (ticks [i].stream, i % 2 ? "SIM" : TM_STREAM_ALL);
        ticks [i].seq = i + 1;
        ticks [i].recv_ts = now;
        ticks [i].norm_ts = now + 1000;
        ticks [i].pub_ts = now + 2000;
    }
    for (size_t i = 0; i < 64; i++) {
        tm_tick_encode (&ticks [i], 1, &buf);
        s_write (&buf);
    }
    tm_tick_encode (ticks, 10, &buf);
    s_write (&buf);
    tm_tick_encode (ticks, TM_BATCH_MAX, &buf);
    s_write (&buf);

    char symbols [3][TM_SYMBOL_MAX] = { "NIFTY-I", "NIFTY 50", "RELIANCE" };
    tm_status_t status = { .state = TM_STATE_CONNECTED, .ts = now, .messages = 10,
                           .symbols_total = 3, .symbols_count = 3, .symbols = symbols };
    strcpy (status.provider, "SIM2");
    strcpy (status.kind, "SIM");
    tm_status_encode (&status, &buf);
    s_write (&buf);
    status.state = TM_STATE_AUTH_FAILED;
    strcpy (status.reason, "User Already Connected");
    status.symbols_total = status.symbols_count = 0;
    tm_status_encode (&status, &buf);
    s_write (&buf);

    tm_market_destroy (&market);
    msgpack_sbuffer_destroy (&buf);
    return 0;
}
