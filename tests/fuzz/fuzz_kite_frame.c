//  fuzz_kite_frame - libFuzzer target for the KiteTicker binary and text decoders
//
//  The same bytes go to tm_kite_frame_decode, as a binary frame, and to tm_kite_text_parse,
//  as a text message, because the WebSocket's opcode is the only thing that tells them apart.
//  Besides memory errors (ASan, valgrind under replay), a broken promise of either contract
//  aborts, so the fuzzer stops on it.

#include "tickmux.h"
#include "kite_frame.h"

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  About 1.5 MB: allocated once, not per input, and not on the stack
static tm_kite_packet_t *s_packets;

static bool
s_kind_known (tm_kite_kind_t kind)
{
    return kind == TM_KITE_LTP || kind == TM_KITE_INDEX_QUOTE || kind == TM_KITE_INDEX_FULL
        || kind == TM_KITE_QUOTE || kind == TM_KITE_FULL;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_packets) {
        s_packets = (tm_kite_packet_t *) malloc (TM_KITE_PACKETS_MAX * sizeof *s_packets);
        assert (s_packets);
    }
    size_t count = SIZE_MAX, skipped = SIZE_MAX;
    int rc = tm_kite_frame_decode (data, size, s_packets, TM_KITE_PACKETS_MAX, &count,
                                   &skipped);
    //  Each packet takes at least its 2-byte prefix, so neither count can exceed size / 2
    if ((rc != 0 && rc != TM_MALFORMED) || count > TM_KITE_PACKETS_MAX || count > size / 2
    ||  skipped > size / 2)
        abort ();
    for (size_t i = 0; i < count; i++) {
        const tm_kite_packet_t *packet = &s_packets [i];
        if (!s_kind_known (packet->kind) || packet->segment != (packet->token & 0xff))
            abort ();
        tm_tick_t tick;
        memset (&tick, 0, sizeof tick);
        tm_kite_packet_to_tick (packet, &tick);
        if (tick.bid_levels > TM_DEPTH_MAX || tick.ask_levels > TM_DEPTH_MAX
        ||  !isfinite (tick.last_price) || !memchr (tick.token, '\0', sizeof tick.token)
        ||  (packet->kind == TM_KITE_LTP && tick.fields != 0))
            abort ();
    }

    tm_kite_text_kind_t kind;
    json_t *message = NULL;
    rc = tm_kite_text_parse ((const char *) data, size, &kind, &message);
    if (rc == 0) {
        if (!message)
            abort ();
        if ((kind == TM_KITE_TEXT_ORDER && !json_is_object (message))
        ||  ((kind == TM_KITE_TEXT_ERROR || kind == TM_KITE_TEXT_MESSAGE)
             && !json_is_string (message)))
            abort ();
        json_decref (message);
    }
    else
    if (rc != TM_MALFORMED || message)
        abort ();
    return 0;
}
