//  test_truedata_msg - the TrueData JSON decoder against every example of truedata.md, its
//  errata, every malformed message we can think of, tick state sequences and requests
//
//  Every message below was typed by hand from truedata.md (section named above it), and every
//  expected value was copied by hand from the same place, not computed by code that shares
//  logic with the decoder. Times are IST on the wire; the UTC seconds were worked out once:
//  2024-01-25T00:00:00Z is 1706140800, so 2024-01-25T10:15:30 IST is 1706157930.

#include "tickmux.h"
#include "truedata_msg.h"
#include "tap.h"

#define S_PRICE_EQ(actual, expected) CU_ASSERT_DOUBLE_EQUAL ((actual), (expected), 1e-9)
#define S_NS(seconds) ((int64_t) (seconds) * 1000000000)

//  2024-01-25T10:15:30 IST, the NIFTY 50 row's time, in seconds since the epoch (UTC)
#define S_T1015_30      INT64_C (1706157930)

//  3.1, success and failure
static const char *s_welcome =
    "{\"success\":true,\"message\":\"TrueData Real Time Data Service\","
    "\"segments\":[\"EQ\",\"FO\",\"IND\"],\"maxsymbols\":50,\"subscription\":\"tick\","
    "\"validity\":\"2025-10-01T00:00:00\"}";
static const char *s_welcome_refused =
    "{\"success\":false,\"message\":\"User Already Connected\",\"segments\":null,"
    "\"maxsymbols\":0,\"subscription\":null,\"validity\":\"0001-01-01T00:00:00\"}";

//  3.2, both rows
static const char *s_added =
    "{\"success\":true,\"message\":\"symbols added\",\"symbolsadded\":2,"
    "\"symbollist\":["
    "[\"NIFTY 50\",\"200000001\",\"2024-01-25T10:15:30\",\"22012.35\",\"0\",\"0\",\"0\","
    "\"21950\",\"22050.1\",\"21915.75\",\"21895.9\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
    "[\"NIFTY-I\",\"900000596\",\"2024-01-25T10:15:29\",\"22100.5\",\"50\",\"22087.75\","
    "\"6543200\",\"21990\",\"22140\",\"21965.1\",\"21950.25\",\"12845600\",\"12790050\","
    "\"144516876350.25\",\"22100\",\"150\",\"22100.5\",\"100\"]"
    "],"
    "\"totalsymbolsubscribed\":2}";

//  3.2, the 2020-era 17-element row: no previous-day OI, turnover at 12
static const char *s_added_17 =
    "{\"success\":true,\"message\":\"symbols added\",\"symbolsadded\":1,\"symbollist\":["
    "[\"NIFTY-I\",\"900000596\",\"2024-01-25T10:15:29\",\"22100.5\",\"50\",\"22087.75\","
    "\"6543200\",\"21990\",\"22140\",\"21965.1\",\"21950.25\",\"12845600\","
    "\"144516876350.25\",\"22100\",\"150\",\"22100.5\",\"100\"]"
    "],\"totalsymbolsubscribed\":1}";

//  3.3
static const char *s_removed =
    "{\"success\":true,\"message\":\"symbols removed\",\"symbolsremoved\":1,"
    "\"symbollist\":[\"NIFTY 50:200000001\"],\"totalsymbolsubscribed\":1}";

//  3.4, with the rows of 3.2 (its example elides them)
static const char *s_touchline =
    "{\"success\":true,\"message\":\"touchline\",\"symbolsadded\":2,\"symbollist\":["
    "[\"NIFTY 50\",\"200000001\",\"2024-01-25T10:15:30\",\"22012.35\",\"0\",\"0\",\"0\","
    "\"21950\",\"22050.1\",\"21915.75\",\"21895.9\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
    "[\"NIFTY-I\",\"900000596\",\"2024-01-25T10:15:29\",\"22100.5\",\"50\",\"22087.75\","
    "\"6543200\",\"21990\",\"22140\",\"21965.1\",\"21950.25\",\"12845600\",\"12790050\","
    "\"144516876350.25\",\"22100\",\"150\",\"22100.5\",\"100\"]"
    "],\"totalsymbolsubscribed\":2}";

//  3.5, with bid/ask (19)
static const char *s_trade =
    "{\"trade\":[\"900000596\",\"2024-01-25T10:15:31\",\"22101\",\"75\",\"22087.8\","
    "\"6543275\",\"21990\",\"22140\",\"21965.1\",\"21950.25\",\"12845600\",\"12790050\","
    "\"144518533925.25\",\"\",\"48213\",\"22100.5\",\"200\",\"22101\",\"50\"]}";

//  3.5 without bid/ask (15): the same trade, one later, cut before index 15
static const char *s_trade_15 =
    "{\"trade\":[\"900000596\",\"2024-01-25T10:15:32\",\"22101.5\",\"25\",\"22087.81\","
    "\"6543300\",\"21990\",\"22140\",\"21965.1\",\"21950.25\",\"12845625\",\"12790050\","
    "\"144519086462.75\",\"H\",\"48214\"]}";

//  3.5, the index trade that set the open
static const char *s_trade_index =
    "{\"trade\":[\"200000001\",\"2024-01-25T09:15:00\",\"21950\",\"0\",\"0\",\"0\","
    "\"21950\",\"21950\",\"21950\",\"21895.9\",\"0\",\"0\",\"0\",\"O\",\"1\",\"0\",\"0\",\"0\","
    "\"0\"]}";

//  3.6
static const char *s_bidask =
    "{\"bidask\":[\"900000596\",\"2024-01-25T10:15:31\",\"22100.5\",\"125\",\"22101\",\"75\"]}";

//  3.6, the older documentation's US time: 2/18/2020 3:43:45 PM IST is 10:13:45 UTC, and
//  2020-02-18T00:00:00Z is 1577836800 (2020-01-01) + 48 days = 1581984000
static const char *s_bidask_legacy =
    "{\"bidask\":[\"900000596\",\"2/18/2020 3:43:45 PM\",\"12100.5\",\"150\",\"12101\",\"75\"]}";
#define S_LEGACY_SECONDS    (INT64_C (1581984000) + 10 * 3600 + 13 * 60 + 45)

//  3.6, bidaskL2 constructed in the Node layout: per level bid price, qty, orders, ask price,
//  qty, orders; then total bid and ask quantities
static const char *s_l2 =
    "{\"bidaskL2\":[\"400000123\",\"2024-01-25T10:15:31\",\"77\","
    "\"101.5\",\"10\",\"2\",\"101.55\",\"20\",\"3\","
    "\"101.45\",\"11\",\"1\",\"101.6\",\"21\",\"4\","
    "\"101.4\",\"12\",\"5\",\"101.65\",\"22\",\"1\","
    "\"101.35\",\"13\",\"2\",\"101.7\",\"23\",\"2\","
    "\"101.3\",\"14\",\"3\",\"101.75\",\"24\",\"6\","
    "\"60\",\"110\"]}";

//  3.8
static const char *s_bar1 =
    "{\"bar1min\":[\"900000596\",\"2024-01-25T10:15:00\",\"22095\",\"22104.5\",\"22090\","
    "\"22101\",\"18450\",\"12845600\"]}";

//  3.9
static const char *s_greeks =
    "{\"greeks\":[\"302418028\",\"2024-01-25T10:15:31\",\"0.1432\",\"0.5123\",\"-9.8741\","
    "\"0.0011\",\"11.2045\",\"2.3187\"]}";

//  3.7
static const char *s_heartbeat =
    "{\"success\":true,\"message\":\"HeartBeat\",\"timestamp\":\"2024-01-25T10:15:35.123456\"}";
static const char *s_marketstatus =
    "{\"success\":true,\"message\":\"marketstatus\",\"data\":\"NSE EQ: Market Open\"}";

//  Decode text into rows of exactly rows_max entries on the heap, so an overrun shows under
//  valgrind and ASan. *rows_p gets them (free them), or they are freed when rows_p is NULL.
static int
s_decode_len (const char *text, size_t len, tm_td_msg_t *msg, size_t rows_max,
              tm_td_row_t **rows_p)
{
    tm_td_row_t *rows = (tm_td_row_t *) calloc (rows_max ? rows_max : 1, sizeof *rows);
    assert (rows);
    int rc = tm_td_decode (text, len, msg, rows_max ? rows : NULL, rows_max);
    if (rows_p)
        *rows_p = rows;
    else
        free (rows);
    return rc;
}

static int
s_decode (const char *text, tm_td_msg_t *msg, size_t rows_max, tm_td_row_t **rows_p)
{
    return s_decode_len (text, strlen (text), msg, rows_max, rows_p);
}

//  The row of NIFTY 50 in 3.2
static void
s_check_nifty50 (const tm_td_row_t *row)
{
    CU_ASSERT_STRING_EQUAL (row->symbol, "NIFTY 50");
    CU_ASSERT_EQUAL (row->id, 200000001);
    CU_ASSERT_FALSE (row->invalid);
    CU_ASSERT_EQUAL (row->ts, S_NS (S_T1015_30));
    S_PRICE_EQ (row->ltp, 22012.35);
    CU_ASSERT_EQUAL (row->ltq, 0);
    S_PRICE_EQ (row->atp, 0);
    CU_ASSERT_EQUAL (row->ttq, 0);
    S_PRICE_EQ (row->open, 21950);
    S_PRICE_EQ (row->high, 22050.1);
    S_PRICE_EQ (row->low, 21915.75);
    S_PRICE_EQ (row->prev_close, 21895.9);
    CU_ASSERT_EQUAL (row->oi, 0);
    CU_ASSERT_EQUAL (row->prev_oi, 0);
    S_PRICE_EQ (row->turnover, 0);
    S_PRICE_EQ (row->bid, 0);
    CU_ASSERT_EQUAL (row->bid_qty, 0);
    S_PRICE_EQ (row->ask, 0);
    CU_ASSERT_EQUAL (row->ask_qty, 0);
}

//  The row of NIFTY-I in 3.2; a 17-element row has no previous-day OI
static void
s_check_nifty_i (const tm_td_row_t *row, int64_t prev_oi)
{
    CU_ASSERT_STRING_EQUAL (row->symbol, "NIFTY-I");
    CU_ASSERT_EQUAL (row->id, 900000596);
    CU_ASSERT_FALSE (row->invalid);
    CU_ASSERT_EQUAL (row->ts, S_NS (S_T1015_30 - 1));
    S_PRICE_EQ (row->ltp, 22100.5);
    CU_ASSERT_EQUAL (row->ltq, 50);
    S_PRICE_EQ (row->atp, 22087.75);
    CU_ASSERT_EQUAL (row->ttq, 6543200);
    S_PRICE_EQ (row->open, 21990);
    S_PRICE_EQ (row->high, 22140);
    S_PRICE_EQ (row->low, 21965.1);
    S_PRICE_EQ (row->prev_close, 21950.25);
    CU_ASSERT_EQUAL (row->oi, 12845600);
    CU_ASSERT_EQUAL (row->prev_oi, prev_oi);
    CU_ASSERT_DOUBLE_EQUAL (row->turnover, 144516876350.25, 1e-3);
    S_PRICE_EQ (row->bid, 22100);
    CU_ASSERT_EQUAL (row->bid_qty, 150);
    S_PRICE_EQ (row->ask, 22100.5);
    CU_ASSERT_EQUAL (row->ask_qty, 100);
}

static void
test_welcome (void)
{
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode (s_welcome, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_WELCOME);
    CU_ASSERT_TRUE (msg.success);
    CU_ASSERT_EQUAL (msg.max_symbols, 50);
    CU_ASSERT_STRING_EQUAL (msg.reason, "TrueData Real Time Data Service");

    CU_ASSERT_EQUAL (s_decode (s_welcome_refused, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_WELCOME);
    CU_ASSERT_FALSE (msg.success);
    CU_ASSERT_EQUAL (msg.max_symbols, 0);
    CU_ASSERT_STRING_EQUAL (msg.reason, "User Already Connected");

    //  The welcome's keys without its text: a welcome that refused, as in 3.1
    CU_ASSERT_EQUAL (s_decode ("{\"success\":false,\"message\":\"Subscription expired\","
                               "\"validity\":\"2024-01-01T00:00:00\"}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_WELCOME);
    CU_ASSERT_FALSE (msg.success);
    CU_ASSERT_STRING_EQUAL (msg.reason, "Subscription expired");
    //  Success needs the exact text
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"Welcome\",\"maxsymbols\":5}",
                               &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_UNKNOWN);

    //  Errata: any success:false is a refusal with its text, whatever the text
    CU_ASSERT_EQUAL (s_decode ("{\"success\":false,\"message\":\"Invalid Username or Password\"}",
                               &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_REFUSED);
    CU_ASSERT_FALSE (msg.success);
    CU_ASSERT_STRING_EQUAL (msg.reason, "Invalid Username or Password");
    CU_ASSERT_EQUAL (s_decode ("{\"success\":false,\"message\":\"symbols added\","
                               "\"symbollist\":null}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_REFUSED);
    CU_ASSERT_STRING_EQUAL (msg.reason, "symbols added");

    //  The welcome's text with the verdict missing: not a login
    CU_ASSERT_EQUAL (s_decode ("{\"message\":\"TrueData Real Time Data Service\"}", &msg, 0,
                               NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_WELCOME);
    CU_ASSERT_FALSE (msg.success);

    //  A long refusal text is cut to the reason buffer, never past it, and not inside a
    //  UTF-8 character ("é" is 2 bytes; 126 'x' + "é" needs 129 bytes with the NUL)
    char text [512];
    char word [200];
    memset (word, 'x', 126);
    snprintf (word + 126, sizeof word - 126, "\xc3\xa9tail");
    snprintf (text, sizeof text, "{\"success\":false,\"message\":\"%s\"}", word);
    CU_ASSERT_EQUAL (s_decode (text, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_REFUSED);
    CU_ASSERT_EQUAL (strlen (msg.reason), 126);
    CU_ASSERT_EQUAL (msg.reason [125], 'x');
}

static void
test_added (void)
{
    tm_td_msg_t msg;
    tm_td_row_t *rows;
    CU_ASSERT_EQUAL (s_decode (s_added, &msg, 2, &rows), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_ADDED);
    CU_ASSERT_EQUAL (msg.total_subscribed, 2);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 2);
    s_check_nifty50 (&rows [0]);
    s_check_nifty_i (&rows [1], 12790050);

    //  NIFTY 50 is an index: zeros for the book and OI, so QUOTE only
    tm_tick_t tick;
    memset (&tick, 0, sizeof tick);
    snprintf (tick.stream, sizeof tick.stream, "TRUEDATA");
    tm_td_row_to_tick (&rows [0], &tick);
    CU_ASSERT_STRING_EQUAL (tick.stream, "TRUEDATA");
    CU_ASSERT_STRING_EQUAL (tick.symbol, "NIFTY 50");
    CU_ASSERT_STRING_EQUAL (tick.token, "200000001");
    CU_ASSERT_EQUAL (tick.fields, TM_TICK_QUOTE);
    S_PRICE_EQ (tick.last_price, 22012.35);
    CU_ASSERT_EQUAL (tick.last_quantity, 0);
    CU_ASSERT_EQUAL (tick.volume, 0);
    S_PRICE_EQ (tick.open, 21950);
    S_PRICE_EQ (tick.high, 22050.1);
    S_PRICE_EQ (tick.low, 21915.75);
    S_PRICE_EQ (tick.close, 21895.9);
    CU_ASSERT_EQUAL (tick.oi, 0);
    S_PRICE_EQ (tick.bid_price, 0);
    CU_ASSERT_EQUAL (tick.exchange_ts, S_NS (S_T1015_30));

    //  The same tick reused for NIFTY-I: every group it has
    tm_td_row_to_tick (&rows [1], &tick);
    CU_ASSERT_STRING_EQUAL (tick.symbol, "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (tick.token, "900000596");
    CU_ASSERT_EQUAL (tick.fields, TM_TICK_QUOTE | TM_TICK_BOOK | TM_TICK_OI);
    S_PRICE_EQ (tick.last_price, 22100.5);
    CU_ASSERT_EQUAL (tick.last_quantity, 50);
    CU_ASSERT_EQUAL (tick.volume, 6543200);
    S_PRICE_EQ (tick.open, 21990);
    S_PRICE_EQ (tick.high, 22140);
    S_PRICE_EQ (tick.low, 21965.1);
    S_PRICE_EQ (tick.close, 21950.25);
    CU_ASSERT_EQUAL (tick.oi, 12845600);
    S_PRICE_EQ (tick.bid_price, 22100);
    CU_ASSERT_EQUAL (tick.bid_quantity, 150);
    S_PRICE_EQ (tick.ask_price, 22100.5);
    CU_ASSERT_EQUAL (tick.ask_quantity, 100);
    CU_ASSERT_EQUAL (tick.bid_levels, 0);
    CU_ASSERT_EQUAL (tick.exchange_ts, S_NS (S_T1015_30 - 1));

    //  The tick survives the pipeline's own codec
    snprintf (tick.provider, sizeof tick.provider, "TRUEDATA");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    CU_ASSERT_EQUAL_FATAL (tm_tick_encode (&tick, 1, &buf), 0);
    tm_tick_t back;
    size_t n = 0;
    CU_ASSERT_EQUAL (tm_tick_decode (buf.data, buf.size, &back, 1, &n), 0);
    CU_ASSERT_EQUAL (n, 1);
    if (n == 1) {
        CU_ASSERT_STRING_EQUAL (back.symbol, "NIFTY-I");
        S_PRICE_EQ (back.ask_price, 22100.5);
        CU_ASSERT_EQUAL (back.oi, 12845600);
    }
    msgpack_sbuffer_destroy (&buf);
    free (rows);

    //  The 17-element row
    CU_ASSERT_EQUAL (s_decode (s_added_17, &msg, 1, &rows), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_ADDED);
    CU_ASSERT_EQUAL (msg.total_subscribed, 1);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 1);
    s_check_nifty_i (&rows [0], 0);
    free (rows);

    //  An empty reply: no list, or null
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"symbols added\","
                               "\"symbolsadded\":0,\"totalsymbolsubscribed\":0}", &msg, 2, NULL),
                     0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_ADDED);
    CU_ASSERT_EQUAL (msg.rows_count, 0);
}

static void
test_touchline (void)
{
    tm_td_msg_t msg;
    tm_td_row_t *rows;
    CU_ASSERT_EQUAL (s_decode (s_touchline, &msg, 4, &rows), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_TOUCHLINE);
    CU_ASSERT_EQUAL (msg.total_subscribed, 2);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 2);
    s_check_nifty50 (&rows [0]);
    s_check_nifty_i (&rows [1], 12790050);
    free (rows);
}

static void
test_removed (void)
{
    tm_td_msg_t msg;
    tm_td_row_t *rows;
    CU_ASSERT_EQUAL (s_decode (s_removed, &msg, 1, &rows), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_REMOVED);
    CU_ASSERT_EQUAL (msg.total_subscribed, 1);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 1);
    CU_ASSERT_STRING_EQUAL (rows [0].symbol, "NIFTY 50");
    CU_ASSERT_EQUAL (rows [0].id, 200000001);
    CU_ASSERT_FALSE (rows [0].invalid);
    free (rows);

    //  Split on the last colon; a null entry is skipped; an entry with no id is invalid
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"symbols removed\","
                               "\"symbollist\":[\"A:B:42\",null,\"NOID\",\"X:\",\"Y:0\"],"
                               "\"totalsymbolsubscribed\":0}", &msg, 4, &rows), 0);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 4);
    CU_ASSERT_STRING_EQUAL (rows [0].symbol, "A:B");
    CU_ASSERT_EQUAL (rows [0].id, 42);
    CU_ASSERT_FALSE (rows [0].invalid);
    CU_ASSERT_STRING_EQUAL (rows [1].symbol, "NOID");
    CU_ASSERT_TRUE (rows [1].invalid);
    CU_ASSERT_STRING_EQUAL (rows [2].symbol, "X");
    CU_ASSERT_TRUE (rows [2].invalid);
    CU_ASSERT_TRUE (rows [3].invalid);
    CU_ASSERT_EQUAL (rows [3].id, 0);
    free (rows);

    //  More than rows_max, and an entry that is not a string
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"symbols removed\","
                               "\"symbollist\":[\"A:1\",\"B:2\"]}", &msg, 1, NULL), TM_MALFORMED);
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"symbols removed\","
                               "\"symbollist\":[[\"A\",\"1\"]]}", &msg, 1, NULL), TM_MALFORMED);
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"symbols removed\","
                               "\"symbollist\":\"A:1\"}", &msg, 1, NULL), TM_MALFORMED);
}

static void
test_trade (void)
{
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode (s_trade, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_TRADE);
    CU_ASSERT_EQUAL (msg.id, 900000596);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 1));
    S_PRICE_EQ (msg.ltp, 22101);
    CU_ASSERT_EQUAL (msg.ltq, 75);
    S_PRICE_EQ (msg.atp, 22087.8);
    CU_ASSERT_EQUAL (msg.ttq, 6543275);
    S_PRICE_EQ (msg.open, 21990);
    S_PRICE_EQ (msg.high, 22140);
    S_PRICE_EQ (msg.low, 21965.1);
    S_PRICE_EQ (msg.prev_close, 21950.25);
    CU_ASSERT_EQUAL (msg.oi, 12845600);
    CU_ASSERT_EQUAL (msg.prev_oi, 12790050);
    CU_ASSERT_DOUBLE_EQUAL (msg.turnover, 144518533925.25, 1e-3);
    CU_ASSERT_EQUAL (msg.tag, 0);
    CU_ASSERT_EQUAL (msg.seq, 48213);
    CU_ASSERT_TRUE (msg.has_book);
    S_PRICE_EQ (msg.bid, 22100.5);
    CU_ASSERT_EQUAL (msg.bid_qty, 200);
    S_PRICE_EQ (msg.ask, 22101);
    CU_ASSERT_EQUAL (msg.ask_qty, 50);

    CU_ASSERT_EQUAL (s_decode (s_trade_15, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_TRADE);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 2));
    S_PRICE_EQ (msg.ltp, 22101.5);
    CU_ASSERT_EQUAL (msg.ltq, 25);
    CU_ASSERT_EQUAL (msg.ttq, 6543300);
    CU_ASSERT_EQUAL (msg.oi, 12845625);
    CU_ASSERT_EQUAL (msg.tag, 'H');
    CU_ASSERT_EQUAL (msg.seq, 48214);
    CU_ASSERT_FALSE (msg.has_book);
    S_PRICE_EQ (msg.bid, 0);
    CU_ASSERT_EQUAL (msg.ask_qty, 0);

    //  The index trade: 09:15:00 IST is 3630 s before 10:15:30
    CU_ASSERT_EQUAL (s_decode (s_trade_index, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_TRADE);
    CU_ASSERT_EQUAL (msg.id, 200000001);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 - 3630));
    S_PRICE_EQ (msg.ltp, 21950);
    CU_ASSERT_EQUAL (msg.ltq, 0);
    CU_ASSERT_EQUAL (msg.ttq, 0);
    S_PRICE_EQ (msg.open, 21950);
    S_PRICE_EQ (msg.high, 21950);
    S_PRICE_EQ (msg.low, 21950);
    S_PRICE_EQ (msg.prev_close, 21895.9);
    CU_ASSERT_EQUAL (msg.tag, 'O');
    CU_ASSERT_EQUAL (msg.seq, 1);
    CU_ASSERT_TRUE (msg.has_book);
    S_PRICE_EQ (msg.bid, 0);

    //  "L" is read; a tag we do not know reads as none and keeps the trade
    char text [512];
    snprintf (text, sizeof text, "%s", s_trade_15);
    char *tag = strstr (text, "\"H\"");
    assert (tag);
    tag [1] = 'L';
    CU_ASSERT_EQUAL (s_decode (text, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.tag, 'L');
    tag [1] = 'Q';
    CU_ASSERT_EQUAL (s_decode (text, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_TRADE);
    CU_ASSERT_EQUAL (msg.tag, 0);
}

static void
test_bidask (void)
{
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode (s_bidask, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_BIDASK);
    CU_ASSERT_EQUAL (msg.id, 900000596);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 1));
    CU_ASSERT_TRUE (msg.has_book);
    S_PRICE_EQ (msg.bid, 22100.5);
    CU_ASSERT_EQUAL (msg.bid_qty, 125);
    S_PRICE_EQ (msg.ask, 22101);
    CU_ASSERT_EQUAL (msg.ask_qty, 75);

    CU_ASSERT_EQUAL (s_decode (s_bidask_legacy, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_BIDASK);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_LEGACY_SECONDS));
    S_PRICE_EQ (msg.bid, 12100.5);
    CU_ASSERT_EQUAL (msg.bid_qty, 150);

    //  JSON numbers are taken too (3, value encoding), and "" is 0
    CU_ASSERT_EQUAL (s_decode ("{\"bidask\":[900000596,\"2024-01-25T10:15:31\",22100.5,125,"
                               "\"\",75.0]}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.id, 900000596);
    S_PRICE_EQ (msg.bid, 22100.5);
    CU_ASSERT_EQUAL (msg.bid_qty, 125);
    S_PRICE_EQ (msg.ask, 0);
    CU_ASSERT_EQUAL (msg.ask_qty, 75);
}

static void
test_l2 (void)
{
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode (s_l2, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_BIDASK_L2);
    CU_ASSERT_EQUAL (msg.id, 400000123);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 1));
    CU_ASSERT_EQUAL (msg.seq, 77);
    CU_ASSERT_TRUE (msg.has_book);
    double bid_prices [5] = { 101.5, 101.45, 101.4, 101.35, 101.3 };
    double ask_prices [5] = { 101.55, 101.6, 101.65, 101.7, 101.75 };
    int32_t bid_orders [5] = { 2, 1, 5, 2, 3 };
    int32_t ask_orders [5] = { 3, 4, 1, 2, 6 };
    for (int k = 0; k < 5; k++) {
        S_PRICE_EQ (msg.bids [k].price, bid_prices [k]);
        CU_ASSERT_EQUAL (msg.bids [k].quantity, 10 + k);
        CU_ASSERT_EQUAL (msg.bids [k].orders, bid_orders [k]);
        S_PRICE_EQ (msg.asks [k].price, ask_prices [k]);
        CU_ASSERT_EQUAL (msg.asks [k].quantity, 20 + k);
        CU_ASSERT_EQUAL (msg.asks [k].orders, ask_orders [k]);
    }
    S_PRICE_EQ (msg.bid, 101.5);
    CU_ASSERT_EQUAL (msg.bid_qty, 10);
    S_PRICE_EQ (msg.ask, 101.55);
    CU_ASSERT_EQUAL (msg.ask_qty, 20);
}

static void
test_bar_greeks (void)
{
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode (s_bar1, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_BAR);
    CU_ASSERT_EQUAL (msg.bar_minutes, 1);
    CU_ASSERT_EQUAL (msg.id, 900000596);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 - 30));
    S_PRICE_EQ (msg.open, 22095);
    S_PRICE_EQ (msg.high, 22104.5);
    S_PRICE_EQ (msg.low, 22090);
    S_PRICE_EQ (msg.close, 22101);
    CU_ASSERT_EQUAL (msg.volume, 18450);
    CU_ASSERT_EQUAL (msg.oi, 12845600);

    char text [512];
    snprintf (text, sizeof text, "%s", s_bar1);
    text [5] = '5';                         //  {"bar5min":...
    CU_ASSERT_EQUAL (s_decode (text, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_BAR);
    CU_ASSERT_EQUAL (msg.bar_minutes, 5);

    CU_ASSERT_EQUAL (s_decode (s_greeks, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_GREEKS);
    CU_ASSERT_EQUAL (msg.id, 302418028);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 1));
    S_PRICE_EQ (msg.iv, 0.1432);
    S_PRICE_EQ (msg.delta, 0.5123);
    S_PRICE_EQ (msg.theta, -9.8741);
    S_PRICE_EQ (msg.gamma, 0.0011);
    S_PRICE_EQ (msg.vega, 11.2045);
    S_PRICE_EQ (msg.rho, 2.3187);

    //  Python prints tiny values with an exponent
    CU_ASSERT_EQUAL (s_decode ("{\"greeks\":[\"302418028\",\"2024-01-25T10:15:31\",\"0.1432\","
                               "\"0.5123\",\"-9.8741\",\"1e-05\",\"11.2045\",\"2.3187\"]}",
                               &msg, 0, NULL), 0);
    S_PRICE_EQ (msg.gamma, 0.00001);
}

static void
test_heartbeat_status (void)
{
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode (s_heartbeat, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_HEARTBEAT);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 5) + 123456000);

    //  No fraction, and the legacy space separator
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"HeartBeat\","
                               "\"timestamp\":\"2024-01-25T10:15:35\"}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_HEARTBEAT);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 5));
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"HeartBeat\","
                               "\"timestamp\":\"2024-01-25 10:15:35.123456\"}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.ts, S_NS (S_T1015_30 + 5) + 123456000);

    //  A heartbeat is nothing but its time: without one it is malformed
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"HeartBeat\"}", &msg, 0, NULL),
                     TM_MALFORMED);
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"HeartBeat\",\"timestamp\":5}",
                               &msg, 0, NULL), TM_MALFORMED);

    CU_ASSERT_EQUAL (s_decode (s_marketstatus, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_MARKETSTATUS);
    CU_ASSERT_STRING_EQUAL (msg.reason, "NSE EQ: Market Open");
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"marketstatus\"}", &msg, 0, NULL),
                     TM_MALFORMED);
}

static void
test_parse_time (void)
{
    int64_t ns = 0;
    CU_ASSERT_EQUAL (tm_td_parse_time ("2024-01-25T10:15:30", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (S_T1015_30));
    //  0 to 9 fraction digits, each read at its place
    CU_ASSERT_EQUAL (tm_td_parse_time ("2024-01-25T10:15:30.5", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (S_T1015_30) + 500000000);
    CU_ASSERT_EQUAL (tm_td_parse_time ("2024-01-25T10:15:30.0000001", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (S_T1015_30) + 100);
    CU_ASSERT_EQUAL (tm_td_parse_time ("2024-01-25T10:15:30.123456789", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (S_T1015_30) + 123456789);
    //  Midnight IST is 18:30 UTC the day before: 2024-01-24T18:30:00Z
    CU_ASSERT_EQUAL (tm_td_parse_time ("2024-01-25 00:00:00", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (INT64_C (1706140800) - 19800));
    //  Leap day of a leap year
    CU_ASSERT_EQUAL (tm_td_parse_time ("2024-02-29T05:30:00", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (INT64_C (1706140800) + 35 * 86400));
    //  Legacy: 12 AM is midnight, 12 PM noon, one-digit month, day and hour
    CU_ASSERT_EQUAL (tm_td_parse_time ("1/25/2024 12:00:00 AM", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (INT64_C (1706140800) - 19800));
    CU_ASSERT_EQUAL (tm_td_parse_time ("01/25/2024 12:15:30 PM", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (S_T1015_30 + 2 * 3600));
    CU_ASSERT_EQUAL (tm_td_parse_time ("2/18/2020 3:43:45 PM", &ns), 0);
    CU_ASSERT_EQUAL (ns, S_NS (S_LEGACY_SECONDS));

    const char *bad [] = {
        "", "2023-02-29T10:00:00", "2024-02-30T10:00:00", "2024-13-01T10:00:00",
        "2024-00-10T10:00:00", "2024-01-32T10:00:00", "2024-01-25T25:00:00",
        "2024-01-25T24:00:00", "2024-01-25T10:60:00", "2024-01-25T10:15:61",
        "2024-01-25T10:15", "2024-01-25", "2024-01-25T10:15:30.", "2024-01-25T10:15:30.1234567890",
        "2024-01-25T10:15:30Z", "2024-01-25T10:15:30+05:30", "2024-01-25X10:15:30",
        "2024-1-25T10:15:30", "+024-01-25T10:15:30", "2024-01-25T 1:15:30", "2024-01-25T10:15:3a",
        "0001-01-01T00:00:00", "1969-12-31T23:59:59", "2262-01-01T00:00:00",
        "9999-12-31T23:59:59", " 2024-01-25T10:15:30", "2024-01-25T10:15:30 ",
        "2/30/2020 3:43:45 PM", "2/18/2020 13:43:45 PM", "2/18/2020 0:43:45 AM",
        "2/18/2020 3:43:45 pm", "2/18/2020 3:43:45", "2/18/20 3:43:45 PM", "123/18/2020 3:43:45 PM",
        "2/18/2020 3:43:45 PMX", "2/18/2020 3:4:45 PM", "1706157930", "garbage",
        "2024-01-25T10:15:30.123456789012345678901234567890",
        NULL
    };
    for (int i = 0; bad [i]; i++) {
        ns = 42;
        if (tm_td_parse_time (bad [i], &ns) != -1)
            printf ("\n# accepted bad time '%s'\n", bad [i]);
        CU_ASSERT_EQUAL (tm_td_parse_time (bad [i], &ns), -1);
        CU_ASSERT_EQUAL (ns, 42);
    }
    CU_ASSERT_EQUAL (tm_td_parse_time (NULL, &ns), -1);
}

//  Errata: null rows are skipped, Invalid rows are flagged and kept, the message survives
static void
test_errata (void)
{
    const char *text =
        "{\"success\":true,\"message\":\"symbols added\",\"symbolsadded\":3,\"symbollist\":["
        "null,"
        "[\"NIFTY 50\",\"200000001\",\"2024-01-25T10:15:30\",\"22012.35\",\"0\",\"0\",\"0\","
        "\"21950\",\"22050.1\",\"21915.75\",\"21895.9\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
        //  The errata's Invalid row: id "0", the year 1, "Invalid" in the symbol
        "[\"Invalid Symbol: XYZ\",\"0\",\"0001-01-01T00:00:00\",\"0\",\"0\",\"0\",\"0\",\"0\","
        "\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
        //  The simulator's: empty id and time (truedata.md 3.2)
        "[\"Invalid Symbol: ABC\",\"\",\"\",\"0\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\","
        "\"\",\"\",\"\",\"\",\"\"],"
        //  Only one sign each: the year 1, then the word, then id 0
        "[\"FOO\",\"123\",\"0001-01-01T00:00:00\",\"0\",\"0\",\"0\",\"0\",\"0\","
        "\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
        "[\"Invalid\",\"124\",\"2024-01-25T10:15:30\",\"0\",\"0\",\"0\",\"0\",\"0\","
        "\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
        "[\"BAR\",\"0\",\"2024-01-25T10:15:30\",\"1\",\"0\",\"0\",\"0\",\"0\","
        "\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
        //  An id that is no number (3.2: skip and report as rejected)
        "[\"BAZ\",\"abc\",\"2024-01-25T10:15:30\",\"1\",\"0\",\"0\",\"0\",\"0\","
        "\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"],"
        "null"
        "],\"totalsymbolsubscribed\":1}";
    tm_td_msg_t msg;
    tm_td_row_t *rows;
    CU_ASSERT_EQUAL (s_decode (text, &msg, 7, &rows), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_ADDED);
    CU_ASSERT_EQUAL (msg.total_subscribed, 1);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 7);
    s_check_nifty50 (&rows [0]);
    const char *symbols [7] = {
        NULL, "Invalid Symbol: XYZ", "Invalid Symbol: ABC", "FOO", "Invalid", "BAR", "BAZ"
    };
    for (int i = 1; i < 7; i++) {
        CU_ASSERT_TRUE (rows [i].invalid);
        CU_ASSERT_STRING_EQUAL (rows [i].symbol, symbols [i]);
        CU_ASSERT_EQUAL (rows [i].id, 0);
    }
    free (rows);

    //  Null rows do not count against rows_max
    CU_ASSERT_EQUAL (s_decode (text, &msg, 6, NULL), TM_MALFORMED);
}

//  Symbols up to TM_SYMBOL_MAX - 1 bytes; a longer one is an invalid row, not a failure
static void
test_symbol_length (void)
{
    char text [1024];
    const char *row_tail = "\"123\",\"2024-01-25T10:15:30\",\"1\",\"0\",\"0\",\"0\",\"0\","
                           "\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"]";
    char longest [TM_SYMBOL_MAX + 8];
    memset (longest, 'A', sizeof longest);
    longest [TM_SYMBOL_MAX - 1] = '\0';
    char too_long [TM_SYMBOL_MAX + 8];
    memset (too_long, 'B', sizeof too_long);
    too_long [TM_SYMBOL_MAX] = '\0';
    snprintf (text, sizeof text, "{\"success\":true,\"message\":\"touchline\",\"symbollist\":["
              "[\"%s\",%s,[\"%s\",%s]}", longest, row_tail, too_long, row_tail);
    tm_td_msg_t msg;
    tm_td_row_t *rows;
    CU_ASSERT_EQUAL (s_decode (text, &msg, 2, &rows), 0);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 2);
    CU_ASSERT_FALSE (rows [0].invalid);
    CU_ASSERT_STRING_EQUAL (rows [0].symbol, longest);
    CU_ASSERT_EQUAL (rows [0].id, 123);
    CU_ASSERT_TRUE (rows [1].invalid);
    CU_ASSERT_EQUAL (strlen (rows [1].symbol), TM_SYMBOL_MAX - 1);
    free (rows);

    //  The same for symbols removed
    snprintf (text, sizeof text, "{\"success\":true,\"message\":\"symbols removed\","
              "\"symbollist\":[\"%s:5\",\"%s:6\"]}", longest, too_long);
    CU_ASSERT_EQUAL (s_decode (text, &msg, 2, &rows), 0);
    CU_ASSERT_EQUAL_FATAL (msg.rows_count, 2);
    CU_ASSERT_FALSE (rows [0].invalid);
    CU_ASSERT_EQUAL (rows [0].id, 5);
    CU_ASSERT_TRUE (rows [1].invalid);
    free (rows);
}

static void
test_unknown (void)
{
    tm_td_msg_t msg;
    //  The full-market feed's batch (3.8): two keys, ignored gracefully
    CU_ASSERT_EQUAL (s_decode ("{\"interval\":\"1min\",\"data\":[[\"2024-01-25T10:15:00\","
                               "\"900000596\",\"22095\",\"22104.5\",\"22090\",\"22101\",\"18450\","
                               "\"12845600\",\"6543275\"]]}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_UNKNOWN);
    CU_ASSERT_EQUAL (s_decode ("{\"bar15min\":[\"1\",\"2\"]}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_UNKNOWN);
    CU_ASSERT_EQUAL (s_decode ("{\"bidask2\":5}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_UNKNOWN);
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"something new\"}", &msg, 0, NULL),
                     0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_UNKNOWN);
    CU_ASSERT_STRING_EQUAL (msg.reason, "something new");
    //  The welcome's text is compared whole (3.1)
    CU_ASSERT_EQUAL (s_decode ("{\"success\":true,\"message\":\"TrueData Real Time Data\"}",
                               &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_UNKNOWN);
}

//  Cut every message at every length: no prefix of a JSON object is one
static void
test_truncated (void)
{
    const char *messages [] = {
        s_welcome, s_added, s_removed, s_trade, s_trade_index, s_bidask, s_l2, s_bar1, s_greeks,
        s_heartbeat, s_marketstatus, NULL
    };
    for (int i = 0; messages [i]; i++) {
        size_t full = strlen (messages [i]);
        tm_td_msg_t msg;
        CU_ASSERT_EQUAL (s_decode (messages [i], &msg, 2, NULL), 0);
        for (size_t len = 0; len < full; len++) {
            //  Exactly len bytes, no NUL after them, so a read past the end shows
            char *copy = (char *) malloc (len ? len : 1);
            assert (copy);
            memcpy (copy, messages [i], len);
            msg.kind = TM_TD_TRADE;
            CU_ASSERT_EQUAL (s_decode_len (len ? copy : NULL, len, &msg, 2, NULL), TM_MALFORMED);
            CU_ASSERT_EQUAL (msg.kind, 0);
            CU_ASSERT_EQUAL (msg.rows_count, 0);
            free (copy);
        }
    }
}

//  Build {"<key>":[n elements]} of "1" after an id and a time
static void
s_data_message (char *text, size_t size, const char *key, int n)
{
    size_t at = (size_t) snprintf (text, size, "{\"%s\":[\"900000596\",\"2024-01-25T10:15:31\"",
                                   key);
    for (int i = 2; i < n; i++)
        at += (size_t) snprintf (text + at, size - at, ",\"1\"");
    snprintf (text + at, size - at, "]}");
}

static void
test_lengths (void)
{
    struct {
        const char *key;            //  Data key
        int good [2];               //  Lengths it takes (-1: none)
    } kinds [] = {
        { "trade", { 15, 19 } }, { "bidask", { 6, -1 } }, { "bidaskL2", { 35, -1 } },
        { "bar1min", { 8, -1 } }, { "bar5min", { 8, -1 } }, { "greeks", { 8, -1 } }
    };
    char text [1024];
    for (size_t k = 0; k < sizeof kinds / sizeof kinds [0]; k++)
        for (int n = 0; n <= 40; n++) {
            if (n < 2) {
                snprintf (text, sizeof text, "{\"%s\":[%s]}", kinds [k].key, n ? "\"1\"" : "");
            }
            else
                s_data_message (text, sizeof text, kinds [k].key, n);
            bool good = n == kinds [k].good [0] || n == kinds [k].good [1];
            tm_td_msg_t msg;
            int rc = s_decode (text, &msg, 0, NULL);
            if (rc != (good ? 0 : TM_MALFORMED))
                printf ("\n# %s with %d elements: rc %d\n", kinds [k].key, n, rc);
            CU_ASSERT_EQUAL (rc, good ? 0 : TM_MALFORMED);
        }
    //  The value is not an array
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode ("{\"trade\":\"900000596\"}", &msg, 0, NULL), TM_MALFORMED);
    CU_ASSERT_EQUAL (s_decode ("{\"bidask\":{}}", &msg, 0, NULL), TM_MALFORMED);

    //  Rows of 16 and 19 elements
    const char *rows [] = {
        "{\"success\":true,\"message\":\"symbols added\",\"symbollist\":[[\"A\",\"1\","
        "\"2024-01-25T10:15:30\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\","
        "\"1\",\"1\",\"1\"]]}",
        "{\"success\":true,\"message\":\"symbols added\",\"symbollist\":[[\"A\",\"1\","
        "\"2024-01-25T10:15:30\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\","
        "\"1\",\"1\",\"1\",\"1\",\"1\",\"1\"]]}",
        "{\"success\":true,\"message\":\"symbols added\",\"symbollist\":[[]]}",
        "{\"success\":true,\"message\":\"symbols added\",\"symbollist\":[\"NIFTY 50:1\"]}",
        "{\"success\":true,\"message\":\"symbols added\",\"symbollist\":{}}",
        NULL
    };
    for (int i = 0; rows [i]; i++)
        CU_ASSERT_EQUAL (s_decode (rows [i], &msg, 4, NULL), TM_MALFORMED);
}

//  Replace the n-th (0-based) element of a known-good data message and decode it
static int
s_decode_with (const char *message, int index, const char *value, tm_td_msg_t *msg)
{
    json_t *root = json_loads (message, 0, NULL);
    assert (root);
    json_t *array = json_object_iter_value (json_object_iter (root));
    json_t *element = json_loads (value, JSON_DECODE_ANY, NULL);
    assert (element);
    json_array_set_new (array, (size_t) index, element);
    char *text = json_dumps (root, JSON_COMPACT);
    json_decref (root);
    int rc = s_decode (text, msg, 0, NULL);
    free (text);
    return rc;
}

static void
test_values (void)
{
    //  Values no element may hold (JSON text of the element)
    const char *bad [] = {
        "\"abc\"", "\"nan\"", "\"NaN\"", "\"inf\"", "\"-inf\"", "\"Infinity\"", "\"0x10\"",
        "\" 1\"", "\"1 \"", "\"1,000\"", "\"1.2.3\"", "\"-\"", "\".\"", "\"1e\"", "\"e5\"",
        "\"1e999\"", "\"+1\"", "true", "null", "[]", "{}", "\"\\u00e9\"", NULL
    };
    tm_td_msg_t msg;
    for (int i = 0; bad [i]; i++) {
        //  A price (LTP), a quantity (LTQ), the sequence, a bidask quantity, a greek
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 2, bad [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 3, bad [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 14, bad [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_bidask, 5, bad [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_greeks, 7, bad [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_l2, 5, bad [i], &msg), TM_MALFORMED);
        //  And the id of a data message
        CU_ASSERT_EQUAL (s_decode_with (s_bar1, 0, bad [i], &msg), TM_MALFORMED);
    }
    //  Negative quantities, fractional quantities, ids that are empty, zero or signed
    const char *bad_counts [] = { "\"-1\"", "-1", "\"1.5\"", "1.5", "\"99999999999999999999\"",
                                  "1e300", NULL };
    for (int i = 0; bad_counts [i]; i++) {
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 3, bad_counts [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 5, bad_counts [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 10, bad_counts [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_bidask, 3, bad_counts [i], &msg), TM_MALFORMED);
    }
    const char *bad_ids [] = { "\"\"", "\"0\"", "0", "-5", "\"-5\"", "\"12a\"", "1.5", NULL };
    for (int i = 0; bad_ids [i]; i++)
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 0, bad_ids [i], &msg), TM_MALFORMED);
    //  Bad times in a data message
    const char *bad_times [] = { "\"2024-02-30T10:15:31\"", "\"2024-01-25T25:00:00\"",
                                 "\"yesterday\"", "1706157931", "null", NULL };
    for (int i = 0; bad_times [i]; i++) {
        CU_ASSERT_EQUAL (s_decode_with (s_trade, 1, bad_times [i], &msg), TM_MALFORMED);
        CU_ASSERT_EQUAL (s_decode_with (s_bidask, 1, bad_times [i], &msg), TM_MALFORMED);
    }
    //  The same bad time in a snapshot row fails the message too
    char text [2048];
    snprintf (text, sizeof text, "%s", s_added);
    char *at = strstr (text, "2024-01-25T10:15:29");
    assert (at);
    memcpy (at, "2024-02-30", 10);
    CU_ASSERT_EQUAL (s_decode (text, &msg, 2, NULL), TM_MALFORMED);
    snprintf (text, sizeof text, "%s", s_added);
    at = strstr (text, "\"12790050\"");
    assert (at);
    memcpy (at, "\"-2790050\"", 10);
    CU_ASSERT_EQUAL (s_decode (text, &msg, 2, NULL), TM_MALFORMED);

    //  What may be held: negative prices (crude oil went below 0 in 2020), "" for absent,
    //  numbers in any JSON form, an empty time
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 2, "\"-37.63\"", &msg), 0);
    S_PRICE_EQ (msg.ltp, -37.63);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 2, "\"\"", &msg), 0);
    S_PRICE_EQ (msg.ltp, 0);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 2, "2.2101e4", &msg), 0);
    S_PRICE_EQ (msg.ltp, 22101);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 2, "\".5\"", &msg), 0);
    S_PRICE_EQ (msg.ltp, 0.5);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 5, "\"6543275.0\"", &msg), 0);
    CU_ASSERT_EQUAL (msg.ttq, 6543275);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 5, "6543275", &msg), 0);
    CU_ASSERT_EQUAL (msg.ttq, 6543275);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 5, "\"9223372036854775807\"", &msg), 0);
    CU_ASSERT_EQUAL (msg.ttq, INT64_MAX);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 1, "\"\"", &msg), 0);
    CU_ASSERT_EQUAL (msg.ts, 0);
    CU_ASSERT_EQUAL (s_decode_with (s_trade, 0, "900000596", &msg), 0);
    CU_ASSERT_EQUAL (msg.id, 900000596);
    //  Order counts must fit their field
    CU_ASSERT_EQUAL (s_decode_with (s_l2, 5, "\"2147483647\"", &msg), 0);
    CU_ASSERT_EQUAL (msg.bids [0].orders, INT32_MAX);
    CU_ASSERT_EQUAL (s_decode_with (s_l2, 5, "\"2147483648\"", &msg), TM_MALFORMED);
}

static void
test_garbage (void)
{
    const char *bad [] = {
        "[]", "[{\"trade\":[]}]", "\"trade\"", "1", "null", "true", "{}", "{", "}", "not json",
        "{\"trade\":[\"1\"]} x", "{\"message\":5}", "{\"message\":null,\"success\":true}",
        "{\"success\":\"true\",\"message\":\"HeartBeat\","
        "\"timestamp\":\"2024-01-25T10:15:35\"}",
        "{\"success\":true,\"message\":\"TrueData Real Time Data Service\",\"maxsymbols\":-1}",
        "{\"success\":true,\"message\":\"TrueData Real Time Data Service\",\"maxsymbols\":\"x\"}",
        "{\"success\":true,\"message\":\"symbols added\",\"totalsymbolsubscribed\":\"x\"}",
        "{\"success\":true,\"message\":\"marketstatus\",\"data\":7}",
        NULL
    };
    for (int i = 0; bad [i]; i++) {
        tm_td_msg_t msg;
        int rc = s_decode (bad [i], &msg, 2, NULL);
        if (rc != TM_MALFORMED)
            printf ("\n# accepted '%s'\n", bad [i]);
        CU_ASSERT_EQUAL (rc, TM_MALFORMED);
        CU_ASSERT_EQUAL (msg.kind, 0);
    }
    //  A NUL inside the text
    tm_td_msg_t msg;
    const char nul [] = "{\"success\":true,\"message\":\"Heart\0Beat\"}";
    CU_ASSERT_EQUAL (s_decode_len (nul, sizeof nul - 1, &msg, 0, NULL), TM_MALFORMED);
    CU_ASSERT_EQUAL (s_decode_len ("", 0, &msg, 0, NULL), TM_MALFORMED);
    CU_ASSERT_EQUAL (s_decode_len (NULL, 0, &msg, 0, NULL), TM_MALFORMED);

    //  Too large: a heartbeat padded with spaces to the limit, and one byte past it
    size_t size = TM_TD_TEXT_MAX + 1;
    char *big = (char *) malloc (size);
    assert (big);
    memset (big, ' ', size);
    memcpy (big, s_heartbeat, strlen (s_heartbeat));
    CU_ASSERT_EQUAL (s_decode_len (big, TM_TD_TEXT_MAX, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (msg.kind, TM_TD_HEARTBEAT);
    CU_ASSERT_EQUAL (s_decode_len (big, size, &msg, 0, NULL), TM_MALFORMED);
    CU_ASSERT_EQUAL (msg.kind, 0);
    free (big);

    //  Nesting deep enough to hurt a recursive parser
    size = 100000;
    char *deep = (char *) malloc (size);
    assert (deep);
    deep [0] = '{';
    memcpy (deep + 1, "\"a\":", 4);
    memset (deep + 5, '[', size - 5);
    CU_ASSERT_EQUAL (s_decode_len (deep, size, &msg, 0, NULL), TM_MALFORMED);
    free (deep);
}

//  More rows than room: rows_max, and TM_TD_ROWS_MAX of them in one reply
static void
test_too_many_rows (void)
{
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL (s_decode (s_added, &msg, 1, NULL), TM_MALFORMED);
    CU_ASSERT_EQUAL (msg.rows_count, 0);
    CU_ASSERT_EQUAL (s_decode (s_added, &msg, 0, NULL), TM_MALFORMED);

    const char *row = "[\"SBIN\",\"100003045\",\"2024-01-25T10:15:30\",\"612.5\",\"10\","
                      "\"611.9\",\"1000\",\"610\",\"615\",\"609\",\"608.4\",\"0\",\"0\","
                      "\"611900\",\"612.45\",\"100\",\"612.5\",\"300\"]";
    size_t room = (TM_TD_ROWS_MAX + 1) * (strlen (row) + 1) + 200;
    char *text = (char *) malloc (room);
    assert (text);
    for (int extra = 0; extra <= 1; extra++) {
        size_t at = (size_t) snprintf (text, room,
                                       "{\"success\":true,\"message\":\"symbols added\","
                                       "\"symbollist\":[");
        for (int i = 0; i < TM_TD_ROWS_MAX + extra; i++)
            at += (size_t) snprintf (text + at, room - at, "%s%s", i ? "," : "", row);
        snprintf (text + at, room - at, "],\"totalsymbolsubscribed\":%d}",
                  TM_TD_ROWS_MAX + extra);
        tm_td_row_t *rows;
        int rc = s_decode (text, &msg, TM_TD_ROWS_MAX, &rows);
        CU_ASSERT_EQUAL (rc, extra ? TM_MALFORMED : 0);
        CU_ASSERT_EQUAL (msg.rows_count, extra ? 0 : TM_TD_ROWS_MAX);
        if (!extra) {
            CU_ASSERT_EQUAL (rows [TM_TD_ROWS_MAX - 1].id, 100003045);
            CU_ASSERT_EQUAL (rows [TM_TD_ROWS_MAX - 1].ask_qty, 300);
        }
        free (rows);
    }
    free (text);
}

//  Snapshot, then trades, then bidask: the tick carries the whole state each time
static void
test_apply (void)
{
    tm_td_msg_t msg;
    tm_td_row_t *rows;
    CU_ASSERT_EQUAL_FATAL (s_decode (s_added, &msg, 2, &rows), 0);
    tm_tick_t future, index;
    memset (&future, 0, sizeof future);
    memset (&index, 0, sizeof index);
    tm_td_row_to_tick (&rows [1], &future);
    tm_td_row_to_tick (&rows [0], &index);
    free (rows);

    //  The 19-element trade: quote, OI and the book
    CU_ASSERT_EQUAL_FATAL (s_decode (s_trade, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &future), 0);
    CU_ASSERT_STRING_EQUAL (future.symbol, "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (future.token, "900000596");
    CU_ASSERT_EQUAL (future.fields, TM_TICK_QUOTE | TM_TICK_BOOK | TM_TICK_OI);
    S_PRICE_EQ (future.last_price, 22101);
    CU_ASSERT_EQUAL (future.last_quantity, 75);
    CU_ASSERT_EQUAL (future.volume, 6543275);
    S_PRICE_EQ (future.open, 21990);
    S_PRICE_EQ (future.high, 22140);
    S_PRICE_EQ (future.low, 21965.1);
    S_PRICE_EQ (future.close, 21950.25);
    CU_ASSERT_EQUAL (future.oi, 12845600);
    S_PRICE_EQ (future.bid_price, 22100.5);
    CU_ASSERT_EQUAL (future.bid_quantity, 200);
    S_PRICE_EQ (future.ask_price, 22101);
    CU_ASSERT_EQUAL (future.ask_quantity, 50);
    CU_ASSERT_EQUAL (future.src_seq, 48213);
    CU_ASSERT_EQUAL (future.exchange_ts, S_NS (S_T1015_30 + 1));

    //  The 15-element trade: the quote moves, the book stays as the last trade left it
    CU_ASSERT_EQUAL_FATAL (s_decode (s_trade_15, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &future), 0);
    CU_ASSERT_EQUAL (future.fields, TM_TICK_QUOTE | TM_TICK_BOOK | TM_TICK_OI);
    S_PRICE_EQ (future.last_price, 22101.5);
    CU_ASSERT_EQUAL (future.last_quantity, 25);
    CU_ASSERT_EQUAL (future.volume, 6543300);
    CU_ASSERT_EQUAL (future.oi, 12845625);
    S_PRICE_EQ (future.bid_price, 22100.5);
    CU_ASSERT_EQUAL (future.bid_quantity, 200);
    S_PRICE_EQ (future.ask_price, 22101);
    CU_ASSERT_EQUAL (future.ask_quantity, 50);
    CU_ASSERT_EQUAL (future.src_seq, 48214);
    CU_ASSERT_EQUAL (future.exchange_ts, S_NS (S_T1015_30 + 2));

    //  The bidask: the book moves, the quote stays
    CU_ASSERT_EQUAL_FATAL (s_decode (s_bidask, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &future), 0);
    CU_ASSERT_EQUAL (future.fields, TM_TICK_QUOTE | TM_TICK_BOOK | TM_TICK_OI);
    S_PRICE_EQ (future.last_price, 22101.5);
    CU_ASSERT_EQUAL (future.last_quantity, 25);
    CU_ASSERT_EQUAL (future.volume, 6543300);
    S_PRICE_EQ (future.high, 22140);
    CU_ASSERT_EQUAL (future.oi, 12845625);
    S_PRICE_EQ (future.bid_price, 22100.5);
    CU_ASSERT_EQUAL (future.bid_quantity, 125);
    S_PRICE_EQ (future.ask_price, 22101);
    CU_ASSERT_EQUAL (future.ask_quantity, 75);
    CU_ASSERT_EQUAL (future.src_seq, 48214);
    CU_ASSERT_EQUAL (future.exchange_ts, S_NS (S_T1015_30 + 1));

    //  Messages that carry no tick leave it alone
    tm_tick_t before = future;
    const char *others [] = { s_bar1, s_heartbeat, s_marketstatus, s_welcome, NULL };
    for (int i = 0; others [i]; i++) {
        CU_ASSERT_EQUAL_FATAL (s_decode (others [i], &msg, 0, NULL), 0);
        CU_ASSERT_EQUAL (tm_td_apply (&msg, &future), -1);
        CU_ASSERT_EQUAL (memcmp (&before, &future, sizeof future), 0);
    }

    //  Greeks join the tick as their own group; the trade's time and every price stay
    CU_ASSERT_EQUAL_FATAL (s_decode (s_greeks, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &future), 0);
    CU_ASSERT_EQUAL (future.fields, before.fields | TM_TICK_GREEKS);
    S_PRICE_EQ (future.greeks.iv, 0.1432);
    S_PRICE_EQ (future.greeks.delta, 0.5123);
    S_PRICE_EQ (future.greeks.gamma, 0.0011);
    S_PRICE_EQ (future.greeks.theta, -9.8741);
    S_PRICE_EQ (future.greeks.vega, 11.2045);
    S_PRICE_EQ (future.greeks.rho, 2.3187);
    CU_ASSERT_EQUAL (future.exchange_ts, before.exchange_ts);
    CU_ASSERT (future.last_price == before.last_price && future.volume == before.volume);

    //  The index: its trade carries QUOTE only, zero volume, and no book from the zeros
    CU_ASSERT_EQUAL_FATAL (s_decode (s_trade_index, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &index), 0);
    CU_ASSERT_STRING_EQUAL (index.symbol, "NIFTY 50");
    CU_ASSERT_EQUAL (index.fields, TM_TICK_QUOTE);
    S_PRICE_EQ (index.last_price, 21950);
    CU_ASSERT_EQUAL (index.last_quantity, 0);
    CU_ASSERT_EQUAL (index.volume, 0);
    S_PRICE_EQ (index.open, 21950);
    S_PRICE_EQ (index.close, 21895.9);
    CU_ASSERT_EQUAL (index.src_seq, 1);
    CU_ASSERT_EQUAL (index.exchange_ts, S_NS (S_T1015_30 - 3630));

    //  A touchline replaces the state: back to the snapshot's values, seq kept (caller's)
    CU_ASSERT_EQUAL_FATAL (s_decode (s_touchline, &msg, 2, &rows), 0);
    tm_td_row_to_tick (&rows [1], &future);
    CU_ASSERT_EQUAL (future.fields, TM_TICK_QUOTE | TM_TICK_BOOK | TM_TICK_OI);
    S_PRICE_EQ (future.last_price, 22100.5);
    CU_ASSERT_EQUAL (future.bid_quantity, 150);
    CU_ASSERT_EQUAL (future.exchange_ts, S_NS (S_T1015_30 - 1));
    free (rows);
}

//  bidaskL2 fills the depth and the best level; a level-1 update that disagrees drops it
static void
test_apply_depth (void)
{
    tm_tick_t tick;
    memset (&tick, 0, sizeof tick);
    tm_td_msg_t msg;
    CU_ASSERT_EQUAL_FATAL (s_decode (s_l2, &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &tick), 0);
    CU_ASSERT_EQUAL (tick.fields, TM_TICK_BOOK | TM_TICK_DEPTH);
    CU_ASSERT_EQUAL (tick.bid_levels, 5);
    CU_ASSERT_EQUAL (tick.ask_levels, 5);
    S_PRICE_EQ (tick.bid_price, 101.5);
    CU_ASSERT_EQUAL (tick.bid_quantity, 10);
    S_PRICE_EQ (tick.ask_price, 101.55);
    CU_ASSERT_EQUAL (tick.ask_quantity, 20);
    S_PRICE_EQ (tick.bids [4].price, 101.3);
    CU_ASSERT_EQUAL (tick.bids [4].quantity, 14);
    CU_ASSERT_EQUAL (tick.bids [4].orders, 3);
    S_PRICE_EQ (tick.asks [4].price, 101.75);
    CU_ASSERT_EQUAL (tick.asks [4].quantity, 24);
    CU_ASSERT_EQUAL (tick.asks [4].orders, 6);
    CU_ASSERT_EQUAL (tick.src_seq, 77);
    CU_ASSERT_EQUAL (tick.exchange_ts, S_NS (S_T1015_30 + 1));

    //  A bidask that agrees with the best level keeps the depth
    CU_ASSERT_EQUAL_FATAL (s_decode ("{\"bidask\":[\"400000123\",\"2024-01-25T10:15:32\","
                                     "\"101.5\",\"10\",\"101.55\",\"20\"]}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &tick), 0);
    CU_ASSERT_EQUAL (tick.fields, TM_TICK_BOOK | TM_TICK_DEPTH);
    CU_ASSERT_EQUAL (tick.bid_levels, 5);
    CU_ASSERT_EQUAL (tick.exchange_ts, S_NS (S_T1015_30 + 2));

    //  One that does not drops it
    CU_ASSERT_EQUAL_FATAL (s_decode ("{\"bidask\":[\"400000123\",\"2024-01-25T10:15:33\","
                                     "\"101.6\",\"5\",\"101.65\",\"20\"]}", &msg, 0, NULL), 0);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &tick), 0);
    CU_ASSERT_EQUAL (tick.fields, TM_TICK_BOOK);
    CU_ASSERT_EQUAL (tick.bid_levels, 0);
    CU_ASSERT_EQUAL (tick.ask_levels, 0);
    S_PRICE_EQ (tick.bids [0].price, 0);
    S_PRICE_EQ (tick.bid_price, 101.6);
    CU_ASSERT_EQUAL (tick.bid_quantity, 5);

    //  Levels stop at the first empty one; an empty side has no best price
    char text [1024];
    snprintf (text, sizeof text, "%s", s_l2);
    json_t *root = json_loads (text, 0, NULL);
    assert (root);
    json_t *array = json_object_get (root, "bidaskL2");
    for (int k = 2; k < 5; k++)
        for (int j = 0; j < 3; j++)
            json_array_set_new (array, (size_t) (3 + 6 * k + j), json_string ("0"));
    for (int k = 0; k < 5; k++)
        for (int j = 3; j < 6; j++)
            json_array_set_new (array, (size_t) (3 + 6 * k + j), json_string (""));
    char *changed = json_dumps (root, JSON_COMPACT);
    json_decref (root);
    CU_ASSERT_EQUAL_FATAL (s_decode (changed, &msg, 0, NULL), 0);
    free (changed);
    CU_ASSERT_EQUAL (tm_td_apply (&msg, &tick), 0);
    CU_ASSERT_EQUAL (tick.fields, TM_TICK_BOOK | TM_TICK_DEPTH);
    CU_ASSERT_EQUAL (tick.bid_levels, 2);
    CU_ASSERT_EQUAL (tick.ask_levels, 0);
    S_PRICE_EQ (tick.bid_price, 101.5);
    S_PRICE_EQ (tick.ask_price, 0);
    CU_ASSERT_EQUAL (tick.ask_quantity, 0);
    S_PRICE_EQ (tick.bids [2].price, 0);
    S_PRICE_EQ (tick.asks [0].price, 0);
}

//  Parse a request back and check its method and symbols
static void
s_check_request (char *text, const char *method, const char * const *symbols, size_t count)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL (text);
    json_error_t error;
    json_t *root = json_loads (text, JSON_REJECT_DUPLICATES, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (root);
    CU_ASSERT_EQUAL (json_object_size (root), 2);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "method")), method);
    json_t *list = json_object_get (root, "symbols");
    CU_ASSERT_EQUAL (json_array_size (list), count);
    for (size_t i = 0; i < count && i < json_array_size (list); i++) {
        const char *got = json_string_value (json_array_get (list, i));
        CU_ASSERT_PTR_NOT_NULL (got);
        if (got)
            CU_ASSERT_STRING_EQUAL (got, symbols [i]);
    }
    json_decref (root);
    free (text);
}

static void
test_request (void)
{
    const char *symbols [] = { "nifty-i", "NIFTY 50", "Reliance", "a\"b\\c" };
    const char *upper [] = { "NIFTY-I", "NIFTY 50", "RELIANCE", "A\"B\\C" };
    char *text = tm_td_request ("addsymbol", symbols, 2);
    //  Exactly what section 2 shows, key order included
    CU_ASSERT_PTR_NOT_NULL_FATAL (text);
    CU_ASSERT_STRING_EQUAL (text,
                            "{\"method\":\"addsymbol\",\"symbols\":[\"NIFTY-I\",\"NIFTY 50\"]}");
    free (text);
    s_check_request (tm_td_request ("addsymbol", symbols, 4), "addsymbol", upper, 4);
    s_check_request (tm_td_request ("removesymbol", symbols + 1, 1), "removesymbol", upper + 1, 1);

    //  Non-ASCII bytes pass untouched
    const char *utf8 [] = { "ni\xc3\xa9" };
    const char *utf8_upper [] = { "NI\xc3\xa9" };
    s_check_request (tm_td_request ("addsymbol", utf8, 1), "addsymbol", utf8_upper, 1);

    //  The limits: TM_TD_BATCH_MAX symbols of the longest length pass, one more does not
    const char **many = (const char **) calloc (TM_TD_BATCH_MAX + 1, sizeof *many);
    assert (many);
    char longest [TM_SYMBOL_MAX];
    memset (longest, 'Z', sizeof longest - 1);
    longest [sizeof longest - 1] = '\0';
    for (int i = 0; i <= TM_TD_BATCH_MAX; i++)
        many [i] = longest;
    s_check_request (tm_td_request ("addsymbol", many, TM_TD_BATCH_MAX), "addsymbol", many,
                     TM_TD_BATCH_MAX);
    CU_ASSERT_PTR_NULL (tm_td_request ("addsymbol", many, TM_TD_BATCH_MAX + 1));
    //  Names full of quotes escape to twice their size and would pass 65 000 characters
    char quotes [TM_SYMBOL_MAX];
    memset (quotes, '"', sizeof quotes - 1);
    quotes [sizeof quotes - 1] = '\0';
    for (int i = 0; i < TM_TD_BATCH_MAX; i++)
        many [i] = quotes;
    CU_ASSERT_PTR_NULL (tm_td_request ("addsymbol", many, TM_TD_BATCH_MAX));
    free (many);

    //  What it refuses
    char too_long [TM_SYMBOL_MAX + 1];
    memset (too_long, 'Z', sizeof too_long - 1);
    too_long [sizeof too_long - 1] = '\0';
    const char *bad_lists [][1] = { { NULL }, { "" }, { too_long }, { "NIF\nTY" }, { "\xff\xfe" } };
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists [0]; i++)
        CU_ASSERT_PTR_NULL (tm_td_request ("addsymbol", bad_lists [i], 1));
    CU_ASSERT_PTR_NULL (tm_td_request ("addsymbol", symbols, 0));
    CU_ASSERT_PTR_NULL (tm_td_request ("addsymbol", NULL, 1));
    CU_ASSERT_PTR_NULL (tm_td_request ("logout", symbols, 1));
    CU_ASSERT_PTR_NULL (tm_td_request ("getmarketstatus", symbols, 1));
    CU_ASSERT_PTR_NULL (tm_td_request (NULL, symbols, 1));
}

int
tm_truedata_msg_tests (void)
{
    CU_pSuite suite = CU_add_suite ("truedata_msg", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "3.1 welcome and refusals", test_welcome)
    ||  !CU_add_test (suite, "3.2 symbols added, 18 and 17 elements", test_added)
    ||  !CU_add_test (suite, "3.4 touchline", test_touchline)
    ||  !CU_add_test (suite, "3.3 symbols removed", test_removed)
    ||  !CU_add_test (suite, "3.5 trades", test_trade)
    ||  !CU_add_test (suite, "3.6 bidask, legacy time", test_bidask)
    ||  !CU_add_test (suite, "3.6 bidaskL2", test_l2)
    ||  !CU_add_test (suite, "3.8 bars, 3.9 greeks", test_bar_greeks)
    ||  !CU_add_test (suite, "3.7 heartbeat and market status", test_heartbeat_status)
    ||  !CU_add_test (suite, "timestamps", test_parse_time)
    ||  !CU_add_test (suite, "errata: null and Invalid rows", test_errata)
    ||  !CU_add_test (suite, "symbol length", test_symbol_length)
    ||  !CU_add_test (suite, "unknown kinds", test_unknown)
    ||  !CU_add_test (suite, "truncated at every length", test_truncated)
    ||  !CU_add_test (suite, "array lengths", test_lengths)
    ||  !CU_add_test (suite, "values", test_values)
    ||  !CU_add_test (suite, "garbage and size", test_garbage)
    ||  !CU_add_test (suite, "too many rows", test_too_many_rows)
    ||  !CU_add_test (suite, "snapshot, trades, bidask", test_apply)
    ||  !CU_add_test (suite, "depth", test_apply_depth)
    ||  !CU_add_test (suite, "requests", test_request))
        return -1;
    return 0;
}
