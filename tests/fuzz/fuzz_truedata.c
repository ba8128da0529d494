//  fuzz_truedata - libFuzzer target for the TrueData JSON decoder
//
//  Each input is one text message for tm_td_decode; whatever it yields goes on through
//  tm_td_row_to_tick and tm_td_apply, as actors/truedata would use it. Besides memory errors
//  (ASan, valgrind under replay), a broken promise of the contract aborts, so the fuzzer stops
//  on it: a kind out of range, more rows than room, a string without its NUL, a value that is
//  not finite, a negative quantity, a tick with more levels than it holds.

#include "tickmux.h"
#include "truedata_msg.h"

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  About 300 KB: allocated once, not per input, and not on the stack
static tm_td_row_t *s_rows;

static bool
s_string_ok (const char *text, size_t size)
{
    return memchr (text, '\0', size) != NULL;
}

static void
s_check_tick (const tm_tick_t *tick)
{
    if (tick->bid_levels > TM_DEPTH_MAX || tick->ask_levels > TM_DEPTH_MAX
    ||  !isfinite (tick->last_price) || !isfinite (tick->bid_price)
    ||  !isfinite (tick->ask_price) || tick->volume < 0 || tick->last_quantity < 0
    ||  tick->bid_quantity < 0 || tick->ask_quantity < 0 || tick->oi < 0
    ||  !s_string_ok (tick->token, sizeof tick->token)
    ||  !s_string_ok (tick->symbol, sizeof tick->symbol)
    ||  ((tick->fields & TM_TICK_DEPTH) == 0 && (tick->bid_levels || tick->ask_levels))
    ||  !isfinite (tick->greeks.iv) || !isfinite (tick->greeks.delta)
    ||  !isfinite (tick->greeks.gamma) || !isfinite (tick->greeks.theta)
    ||  !isfinite (tick->greeks.vega) || !isfinite (tick->greeks.rho))
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_rows) {
        s_rows = (tm_td_row_t *) malloc (TM_TD_ROWS_MAX * sizeof *s_rows);
        assert (s_rows);
    }
    tm_td_msg_t msg;
    int rc = tm_td_decode ((const char *) data, size, &msg, s_rows, TM_TD_ROWS_MAX);
    if (rc == TM_MALFORMED) {
        //  A malformed message hands out nothing
        if (msg.kind != 0 || msg.rows_count != 0)
            abort ();
        return 0;
    }
    if (rc != 0 || msg.kind < TM_TD_WELCOME || msg.kind > TM_TD_UNKNOWN
    ||  msg.rows_count > TM_TD_ROWS_MAX || !s_string_ok (msg.reason, sizeof msg.reason)
    ||  msg.ltq < 0 || msg.ttq < 0 || msg.oi < 0 || msg.bid_qty < 0 || msg.ask_qty < 0
    ||  !isfinite (msg.ltp) || !isfinite (msg.iv) || !isfinite (msg.rho))
        abort ();
    //  Only the kinds that fill rows may have them
    if (msg.rows_count && msg.kind != TM_TD_ADDED && msg.kind != TM_TD_TOUCHLINE
    &&  msg.kind != TM_TD_REMOVED)
        abort ();

    tm_tick_t tick;
    memset (&tick, 0, sizeof tick);
    for (size_t i = 0; i < msg.rows_count; i++) {
        const tm_td_row_t *row = &s_rows [i];
        if (!s_string_ok (row->symbol, sizeof row->symbol) || (row->invalid && row->id != 0)
        ||  (!row->invalid && row->id == 0) || !isfinite (row->ltp) || !isfinite (row->turnover)
        ||  row->ttq < 0 || row->prev_oi < 0)
            abort ();
        if (msg.kind != TM_TD_REMOVED && !row->invalid) {
            tm_td_row_to_tick (row, &tick);
            s_check_tick (&tick);
        }
    }
    //  Apply twice, so a second message over a state that already has depth is reached
    for (int round = 0; round < 2; round++) {
        rc = tm_td_apply (&msg, &tick);
        bool carries = msg.kind == TM_TD_TRADE || msg.kind == TM_TD_BIDASK
                    || msg.kind == TM_TD_BIDASK_L2 || msg.kind == TM_TD_GREEKS;
        if (rc != (carries ? 0 : -1))
            abort ();
        s_check_tick (&tick);
    }
    return 0;
}
