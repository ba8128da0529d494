//  test_kite_instruments - the instrument dump: Zerodha's rows, quoted names, the header check,
//  rejected rows, and the continuous futures NAME-I / NAME-II around expiry days in IST

#include "tickmux.h"
#include "kite_instruments.h"
#include "tap.h"

#define S_HEADER "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike," \
                 "tick_size,lot_size,instrument_type,segment,exchange\n"

//  Rows copied from kite-fixtures/instruments_all.csv (Zerodha's mock dump), then three of
//  ours: kite.md 4's index row, a name quoted because it holds a comma (the fixtures README
//  errata: real dumps quote names), and one with an escaped quote and CRLF line end
static const char *s_dump =
    S_HEADER
    "3813889,14898,CENTRALBK-BE,CENTRAL BANK OF INDIA,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
    "136485892,533148,JSWENERGY,JSW ENERGY,0.0,,0.0,0.05,1,EQ,BSE,BSE\n"
    "244352260,954501,8HDFCL18,HDFCL-8%-15-1-18-PVT,0.0,,0.0,0.01,1,EQ,BSE,BSE\n"
    "12075266,47169,BANKNIFTY18JAN23700PE,,48.15,2018-01-25,23700.0,0.05,40,PE,NFO-OPT,NFO\n"
    "211713,827,DEEPAKFERT,DEEPAK FERTILIZERS & PETR,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
    "112653060,440051,830GOI42-ML,830GOI2042,0.0,,0.0,0.25,500000,EQ,BSE,BSE\n"
    "21231106,82934,INDIANB17DEC150CE,,262.45,2017-12-28,150.0,0.05,2000,CE,NFO-OPT,NFO\n"
    "256265,1001,NIFTY 50,NIFTY 50,0.0,,0.0,0.0,0,EQ,INDICES,NSE\n"
    "408065,1594,INFY,\"INFOSYS, LIMITED\",0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
    "779521,3045,SBIN,\"STATE BANK \"\"SBI\"\", INDIA\",0.0,,0.0,0.05,1,EQ,NSE,NSE\r\n";

static tm_kite_instruments_t *
s_load (const char *csv, int64_t now_ns, size_t *rejected)
{
    tm_kite_instruments_t *self = tm_kite_instruments_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (self);
    char err [256] = "";
    int rc = tm_kite_instruments_load (self, csv, strlen (csv), now_ns, rejected, err,
                                       sizeof err);
    if (rc)
        printf ("# load: %s\n", err);
    CU_ASSERT_EQUAL (rc, 0);
    return self;
}

//  The symbol a name resolves to, as its canonical symbol, or "-" when it resolves to nothing
static const char *
s_resolved (tm_kite_instruments_t *self, const char *symbol)
{
    const tm_kite_instrument_t *row = tm_kite_instruments_resolve (self, symbol);
    if (!row)
        return "-";
    return tm_kite_instruments_symbol (self, row->instrument_token);
}

//  each_symbol, joined with '|'
static void
s_join (const char *symbol, void *arg)
{
    char *text = (char *) arg;
    size_t used = strlen (text);
    snprintf (text + used, 1024 - used, "%s%s", used ? "|" : "", symbol);
}

static void
test_fixture_rows (void)
{
    size_t rejected = 99;
    tm_kite_instruments_t *self = s_load (s_dump, 0, &rejected);
    CU_ASSERT_EQUAL (rejected, 0);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 10);

    const tm_kite_instrument_t *row = tm_kite_instruments_by_token (self, 3813889);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_EQUAL (row->instrument_token, 3813889);
    CU_ASSERT_EQUAL (row->exchange_token, 14898);
    CU_ASSERT_STRING_EQUAL (row->tradingsymbol, "CENTRALBK-BE");
    CU_ASSERT_STRING_EQUAL (row->name, "CENTRAL BANK OF INDIA");
    CU_ASSERT_STRING_EQUAL (row->exchange, "NSE");
    CU_ASSERT_STRING_EQUAL (row->segment, "NSE");
    CU_ASSERT_STRING_EQUAL (row->instrument_type, "EQ");
    CU_ASSERT_EQUAL (row->expiry, -1);
    CU_ASSERT_DOUBLE_EQUAL (row->strike, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL (row->tick_size, 0.05, 1e-12);
    CU_ASSERT_EQUAL (row->lot_size, 1);

    row = tm_kite_instruments_by_token (self, 12075266);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_STRING_EQUAL (row->name, "");
    CU_ASSERT_EQUAL (row->expiry, 17556);           //  2018-01-25
    CU_ASSERT_DOUBLE_EQUAL (row->strike, 23700, 0);
    CU_ASSERT_EQUAL (row->lot_size, 40);
    CU_ASSERT_STRING_EQUAL (row->instrument_type, "PE");
    CU_ASSERT_STRING_EQUAL (row->segment, "NFO-OPT");
    row = tm_kite_instruments_by_token (self, 21231106);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_EQUAL (row->expiry, 17528);           //  2017-12-28
    row = tm_kite_instruments_by_token (self, 112653060);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_EQUAL (row->lot_size, 500000);
    CU_ASSERT_DOUBLE_EQUAL (row->tick_size, 0.25, 0);

    //  Quoted names: the comma and the doubled quote are part of the name
    row = tm_kite_instruments_by_token (self, 408065);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_STRING_EQUAL (row->name, "INFOSYS, LIMITED");
    CU_ASSERT_STRING_EQUAL (row->exchange, "NSE");
    CU_ASSERT_DOUBLE_EQUAL (row->tick_size, 0.05, 1e-12);
    row = tm_kite_instruments_by_token (self, 779521);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_STRING_EQUAL (row->name, "STATE BANK \"SBI\", INDIA");
    CU_ASSERT_STRING_EQUAL (row->exchange, "NSE");  //  Not "NSE\r"

    CU_ASSERT_PTR_NULL (tm_kite_instruments_by_token (self, 1));
    CU_ASSERT_PTR_NULL (tm_kite_instruments_by_token (self, 0));
    CU_ASSERT_PTR_NULL (tm_kite_instruments_symbol (self, 1));

    //  Canonical symbols: NSE equities and indices bare, the rest EXCHANGE:TRADINGSYMBOL
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 3813889), "CENTRALBK-BE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 136485892), "BSE:JSWENERGY");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 12075266),
                            "NFO:BANKNIFTY18JAN23700PE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 256265), "NIFTY 50");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 408065), "INFY");

    //  resolve takes every canonical form and EXCHANGE:TRADINGSYMBOL for any row
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "INFY"), "INFY");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NSE:INFY"), "INFY");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NIFTY 50"), "NIFTY 50");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NSE:NIFTY 50"), "NIFTY 50");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "BSE:JSWENERGY"), "BSE:JSWENERGY");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "BSE:8HDFCL18"), "BSE:8HDFCL18");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NFO:INDIANB17DEC150CE"), "NFO:INDIANB17DEC150CE");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "JSWENERGY"), "-");       //  Not NSE
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NSE:JSWENERGY"), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "infy"), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "INFY "), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, ""), "-");
    CU_ASSERT_PTR_NULL (tm_kite_instruments_resolve (self, NULL));
    CU_ASSERT_EQUAL (tm_kite_instruments_resolve (self, "INFY")->instrument_token, 408065);

    char joined [1024] = "";
    tm_kite_instruments_each_symbol (self, s_join, joined);
    CU_ASSERT_STRING_EQUAL (joined, "CENTRALBK-BE|BSE:JSWENERGY|BSE:8HDFCL18|"
                            "NFO:BANKNIFTY18JAN23700PE|DEEPAKFERT|BSE:830GOI42-ML|"
                            "NFO:INDIANB17DEC150CE|NIFTY 50|INFY|SBIN");
    tm_kite_instruments_destroy (&self);
    CU_ASSERT_PTR_NULL (self);
    tm_kite_instruments_destroy (&self);
}

//  Empty before any load; rejected may be NULL
static void
test_empty (void)
{
    tm_kite_instruments_t *self = tm_kite_instruments_new ();
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 0);
    CU_ASSERT_PTR_NULL (tm_kite_instruments_resolve (self, "INFY"));
    CU_ASSERT_PTR_NULL (tm_kite_instruments_by_token (self, 408065));
    CU_ASSERT_PTR_NULL (tm_kite_instruments_symbol (self, 408065));
    char joined [1024] = "";
    tm_kite_instruments_each_symbol (self, s_join, joined);
    CU_ASSERT_STRING_EQUAL (joined, "");
    CU_ASSERT_EQUAL (tm_kite_instruments_load (self, s_dump, strlen (s_dump), 0, NULL, NULL, 0),
                     0);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 10);
    tm_kite_instruments_destroy (&self);
}

//  NIFTY futures of three expiries, listed out of order, plus things that must not count:
//  an option, a BFO and an MCX future, and a NIFTY future on another exchange's segment
static const char *s_futures =
    S_HEADER
    "13368580,52221,NIFTY24MARFUT,\"NIFTY\",0.0,2024-03-28,0.0,0.05,50,FUT,NFO-FUT,NFO\n"
    "13368834,52222,NIFTY24JANFUT,\"NIFTY\",0.0,2024-01-25,0.0,0.05,50,FUT,NFO-FUT,NFO\n"
    "13369090,52223,NIFTY24FEBFUT,\"NIFTY\",0.0,2024-02-29,0.0,0.05,50,FUT,NFO-FUT,NFO\n"
    "13369346,52224,NIFTY2412421500CE,\"NIFTY\",0.0,2024-01-24,21500.0,0.05,50,CE,NFO-OPT,NFO\n"
    "13369602,52225,BANKNIFTY24JANFUT,\"BANKNIFTY\",0.0,2024-01-25,0.0,0.05,15,FUT,NFO-FUT,NFO\n"
    "13369858,52226,BANKNIFTY24FEBFUT,\"BANKNIFTY\",0.0,2024-02-28,0.0,0.05,15,FUT,NFO-FUT,NFO\n"
    "13370114,52227,FINNIFTY24JANFUT,\"FINNIFTY\",0.0,2024-01-30,0.0,0.05,40,FUT,NFO-FUT,NFO\n"
    "206337541,806006,SENSEX24JANFUT,\"SENSEX\",0.0,2024-01-26,0.0,0.05,10,FUT,BFO-FUT,BFO\n"
    "109134855,426308,CRUDEOIL24JANFUT,\"CRUDEOIL\",0.0,2024-01-19,0.0,1.0,100,FUT,MCX-FUT,MCX\n"
    "256265,1001,NIFTY 50,\"NIFTY 50\",0.0,,0.0,0.0,0,EQ,INDICES,NSE\n";

//  An instant as seconds since the epoch, in ns
#define S_AT(seconds) ((int64_t) (seconds) * 1000000000)

//  The tradingsymbol a canonical symbol resolves to, or "-"
static const char *
s_contract (tm_kite_instruments_t *self, const char *symbol)
{
    const tm_kite_instrument_t *row = tm_kite_instruments_resolve (self, symbol);
    return row ? row->tradingsymbol : "-";
}

static void
s_check_continuous (int64_t now_ns, const char *nifty_i, const char *nifty_ii,
                    const char *banknifty_i, const char *banknifty_ii)
{
    tm_kite_instruments_t *self = s_load (s_futures, now_ns, NULL);
    CU_ASSERT_STRING_EQUAL (s_contract (self, "NIFTY-I"), nifty_i);
    CU_ASSERT_STRING_EQUAL (s_contract (self, "NIFTY-II"), nifty_ii);
    CU_ASSERT_STRING_EQUAL (s_contract (self, "BANKNIFTY-I"), banknifty_i);
    CU_ASSERT_STRING_EQUAL (s_contract (self, "BANKNIFTY-II"), banknifty_ii);
    tm_kite_instruments_destroy (&self);
}

static void
test_continuous (void)
{
    //  2024-01-24 23:59:59 IST (18:29:59 UTC): the day before January's expiry
    int64_t now = S_AT (1706120999);
    tm_kite_instruments_t *self = s_load (s_futures, now, NULL);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 10);
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368834), "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369090), "NIFTY-II");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368580), "NFO:NIFTY24MARFUT");
    //  An option is named from its row's parts, as TrueData names it; its tradingsymbol
    //  still resolves
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369346), "NIFTY24012421500CE");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NFO:NIFTY2412421500CE"), "NIFTY24012421500CE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369602), "BANKNIFTY-I");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369858), "BANKNIFTY-II");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13370114), "FINNIFTY-I");
    //  Only NFO futures are continuous (kite_instruments.h)
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 206337541), "BFO:SENSEX24JANFUT");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 109134855), "MCX:CRUDEOIL24JANFUT");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 256265), "NIFTY 50");
    //  Every form resolves, the long one too
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NIFTY-I"), "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NFO:NIFTY24JANFUT"), "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NFO:NIFTY24FEBFUT"), "NIFTY-II");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NFO:NIFTY24MARFUT"), "NFO:NIFTY24MARFUT");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "FINNIFTY-I"), "FINNIFTY-I");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "FINNIFTY-II"), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NIFTY-III"), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "SENSEX-I"), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "CRUDEOIL-I"), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NIFTY24JANFUT"), "-");
    CU_ASSERT_EQUAL (tm_kite_instruments_resolve (self, "NIFTY-I")->expiry, 19747);
    char joined [1024] = "";
    tm_kite_instruments_each_symbol (self, s_join, joined);
    CU_ASSERT_STRING_EQUAL (joined, "NFO:NIFTY24MARFUT|NIFTY-I|NIFTY-II|NIFTY24012421500CE|"
                            "BANKNIFTY-I|BANKNIFTY-II|FINNIFTY-I|BFO:SENSEX24JANFUT|"
                            "MCX:CRUDEOIL24JANFUT|NIFTY 50");

    //  A reload with a later clock moves the roll; a failed one changes nothing
    char err [256];
    CU_ASSERT_EQUAL (tm_kite_instruments_load (self, s_futures, strlen (s_futures),
                                               S_AT (1706207400), NULL, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368834), "NFO:NIFTY24JANFUT");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369090), "NIFTY-I");
    CU_ASSERT_EQUAL (tm_kite_instruments_load (self, "bad", 3, now, NULL, err, sizeof err), -1);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 10);
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369090), "NIFTY-I");
    tm_kite_instruments_destroy (&self);

    //  Midnight IST is 18:30 UTC. On expiry day (25 Jan IST, from 24 Jan 18:30 UTC to 25 Jan
    //  18:29:59 UTC) January is still NIFTY-I; from 18:30 UTC on the 25th it is February.
    s_check_continuous (S_AT (1706120999), "NIFTY24JANFUT", "NIFTY24FEBFUT",
                        "BANKNIFTY24JANFUT", "BANKNIFTY24FEBFUT");
    s_check_continuous (S_AT (1706121000), "NIFTY24JANFUT", "NIFTY24FEBFUT",
                        "BANKNIFTY24JANFUT", "BANKNIFTY24FEBFUT");
    //  19:00 UTC on the 24th is the 25th in IST: still January, on its expiry day
    s_check_continuous (S_AT (1706122800), "NIFTY24JANFUT", "NIFTY24FEBFUT",
                        "BANKNIFTY24JANFUT", "BANKNIFTY24FEBFUT");
    s_check_continuous (S_AT (1706207399), "NIFTY24JANFUT", "NIFTY24FEBFUT",
                        "BANKNIFTY24JANFUT", "BANKNIFTY24FEBFUT");
    s_check_continuous (S_AT (1706207400), "NIFTY24FEBFUT", "NIFTY24MARFUT",
                        "BANKNIFTY24FEBFUT", "-");
    //  19:00 UTC on the 25th: a UTC date would still say expiry day; IST says the 26th
    s_check_continuous (S_AT (1706209200), "NIFTY24FEBFUT", "NIFTY24MARFUT",
                        "BANKNIFTY24FEBFUT", "-");
    //  Before 1970 too (floor division of the clock)
    s_check_continuous (S_AT (-1), "NIFTY24JANFUT", "NIFTY24FEBFUT",
                        "BANKNIFTY24JANFUT", "BANKNIFTY24FEBFUT");
    self = s_load (s_futures, S_AT (1706207399), NULL);
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368834), "NIFTY-I");
    tm_kite_instruments_destroy (&self);
    //  25 Jan 18:30 UTC = 26 Jan 00:00 IST, and 19:00 UTC (still the 25th in UTC): February
    for (int64_t at = 1706207400; at <= 1706209200; at += 1800) {
        self = s_load (s_futures, S_AT (at), NULL);
        CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369090), "NIFTY-I");
        CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368580), "NIFTY-II");
        CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368834), "NFO:NIFTY24JANFUT");
        CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369858), "BANKNIFTY-I");
        CU_ASSERT_STRING_EQUAL (s_resolved (self, "BANKNIFTY-II"), "-");
        CU_ASSERT_STRING_EQUAL (s_resolved (self, "NFO:BANKNIFTY24JANFUT"),
                                "NFO:BANKNIFTY24JANFUT");
        tm_kite_instruments_destroy (&self);
    }
    //  After March's expiry (28 Mar 18:30 UTC = 29 Mar IST): no NIFTY-I at all
    self = s_load (s_futures, S_AT (1711650600), NULL);
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NIFTY-I"), "-");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NIFTY-II"), "-");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368580), "NFO:NIFTY24MARFUT");
    tm_kite_instruments_destroy (&self);
    //  Long before: the nearest two of three, whatever the dump order
    self = s_load (s_futures, S_AT (0), NULL);
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13368834), "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 13369090), "NIFTY-II");
    tm_kite_instruments_destroy (&self);
}

static void
s_check_header (const char *csv, const char *expected)
{
    tm_kite_instruments_t *self = tm_kite_instruments_new ();
    char err [256] = "";
    CU_ASSERT_EQUAL (tm_kite_instruments_load (self, csv, strlen (csv), 0, NULL, err, sizeof err),
                     -1);
    if (!strstr (err, expected))
        printf ("# error '%s' lacks '%s'\n", err, expected);
    CU_ASSERT_PTR_NOT_NULL (strstr (err, expected));
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 0);
    tm_kite_instruments_destroy (&self);
}

#define S_ROW "408065,1594,INFY,INFOSYS,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"

//  Options: named from name, expiry, strike and type whatever Kite's tradingsymbol (weekly
//  "NIFTY2412521500CE", monthly "NIFTY24JAN21500PE"); fractional strikes keep their decimals;
//  a row with no name, or a second row of the same option, keeps the long form.
static void
test_options (void)
{
    const char *csv =
        S_HEADER
        "1001,11,NIFTY2412521500CE,\"NIFTY\",0.0,2024-01-25,21500.0,0.05,50,CE,NFO-OPT,NFO\n"
        "1002,12,NIFTY24JAN21500PE,\"NIFTY\",0.0,2024-01-25,21500.0,0.05,50,PE,NFO-OPT,NFO\n"
        "1003,13,USDINR24JAN83.25CE,\"USDINR\",0.0,2024-01-25,83.25,0.0025,1,CE,NFO-OPT,NFO\n"
        "1004,14,RELIANCE24JAN2512.5CE,\"RELIANCE\",0.0,2024-01-25,2512.5,0.05,250,CE,NFO-OPT,NFO\n"
        "1005,15,NIFTY24JAN21500CE,\"NIFTY\",0.0,2024-01-25,21500.0,0.05,50,CE,NFO-OPT,NFO\n"
        "1006,16,SENSEX2412672000CE,\"SENSEX\",0.0,2024-01-26,72000.0,0.05,10,CE,BFO-OPT,BFO\n"
        "1007,17,ODD24JAN100CE,,0.0,2024-01-25,100.0,0.05,1,CE,NFO-OPT,NFO\n"
        "1008,18,EURINR24JAN90.2525PE,\"EURINR\",0.0,2024-01-25,90.2525,0.0025,1,PE,NFO-OPT,NFO\n";
    tm_kite_instruments_t *self = s_load (csv, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (self);
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1001), "NIFTY24012521500CE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1002), "NIFTY24012521500PE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1003), "USDINR24012583.25CE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1004), "RELIANCE2401252512.5CE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1005), "NFO:NIFTY24JAN21500CE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1006), "BFO:SENSEX2412672000CE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1007), "NFO:ODD24JAN100CE");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1008), "EURINR24012590.2525PE");
    CU_ASSERT_EQUAL (tm_kite_instruments_resolve (self, "NIFTY24012521500PE")->instrument_token,
                     1002);
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NFO:NIFTY24JAN21500PE"), "NIFTY24012521500PE");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NIFTY24012521500.0CE"), "-");
    tm_kite_instruments_destroy (&self);
}

static void
test_bad_header (void)
{
    s_check_header ("instrument_token,exchange_token,tradingsym,name,last_price,expiry,strike,"
                    "tick_size,lot_size,instrument_type,segment,exchange\n" S_ROW,
                    "column 3 is 'tradingsym', expected 'tradingsymbol'");
    s_check_header ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
                    "tick_size,lot_size,instrument_type,segment\n" S_ROW,
                    "11 columns, expected 12: missing 'exchange'");
    s_check_header ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
                    "tick_size,lot_size,instrument_type,segment,exchange,extra\n" S_ROW,
                    "13 columns, expected 12");
    //  Swapped columns are named at the first one out of place
    s_check_header ("exchange_token,instrument_token,tradingsymbol,name,last_price,expiry,strike,"
                    "tick_size,lot_size,instrument_type,segment,exchange\n" S_ROW,
                    "column 1 is 'exchange_token', expected 'instrument_token'");
    //  No header at all: the first data row is taken for one and named
    s_check_header (S_ROW S_ROW, "column 1 is '408065', expected 'instrument_token'");
    s_check_header ("\"instrument_token\"x,exchange_token\n" S_ROW, "malformed quoting");
    s_check_header ("", "empty dump");
    s_check_header ("\n\n", "empty dump");
    s_check_header (S_HEADER, "no row parses (0 rejected)");
    s_check_header (S_HEADER "1,2\n0,1,X,,0,,0,0,1,EQ,NSE,NSE\n", "no row parses (2 rejected)");

    //  A BOM before the header is not part of the first column name
    const char *bom = "\xef\xbb\xbf" S_HEADER S_ROW;
    tm_kite_instruments_t *self = s_load (bom, 0, NULL);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 1);
    tm_kite_instruments_destroy (&self);

    //  Too large, checked before a byte is read
    self = tm_kite_instruments_new ();
    char *big = (char *) calloc (1, TM_KITE_CSV_MAX + 1);
    assert (big);
    char err [256] = "";
    CU_ASSERT_EQUAL (tm_kite_instruments_load (self, big, TM_KITE_CSV_MAX + 1, 0, NULL, err,
                                               sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL (strstr (err, "more than"));
    //  err may be left out
    CU_ASSERT_EQUAL (tm_kite_instruments_load (self, big, TM_KITE_CSV_MAX + 1, 0, NULL, NULL, 0),
                     -1);
    free (big);
    tm_kite_instruments_destroy (&self);
}

//  Each bad row is counted and skipped; the good rows around it, and after a quoting error,
//  still load
static void
test_bad_rows (void)
{
    const char *csv =
        S_HEADER
        "0,1,ZERO,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"                     //  Token 0
        "abc,1,ALPHA,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"                  //  Token not a number
        "-5,1,NEG,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "+5,1,PLUS,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "0x10,1,HEX,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "4294967296,1,BIG,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"             //  UINT32_MAX + 1
        ",1,EMPTY,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "101,x,EXTOKEN,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "102,1,SHORT,,0.0,,0.0,0.05,1,EQ,NSE\n"                      //  11 columns
        "103,1,LONG,,0.0,,0.0,0.05,1,EQ,NSE,NSE,X\n"                 //  13 columns
        "104,1,BADMONTH,,0.0,2024-13-01,0.0,0.05,1,FUT,NFO-FUT,NFO\n"
        "105,1,BADDAY,,0.0,2024-02-30,0.0,0.05,1,FUT,NFO-FUT,NFO\n"
        "106,1,NOTLEAP,,0.0,2023-02-29,0.0,0.05,1,FUT,NFO-FUT,NFO\n"
        "107,1,SHORTYEAR,,0.0,24-01-25,0.0,0.05,1,FUT,NFO-FUT,NFO\n"
        "108,1,SLASHES,,0.0,2024/01/25,0.0,0.05,1,FUT,NFO-FUT,NFO\n"
        "109,1,STRIKE,,0.0,,abc,0.05,1,EQ,NSE,NSE\n"
        "110,1,NAN,,0.0,,nan,0.05,1,EQ,NSE,NSE\n"
        "111,1,INF,,inf,,0.0,0.05,1,EQ,NSE,NSE\n"
        "112,1,NOTICK,,0.0,,0.0,,1,EQ,NSE,NSE\n"
        "113,1,HALFLOT,,0.0,,0.0,0.05,1.5,EQ,NSE,NSE\n"
        "114,1,NEGLOT,,0.0,,0.0,0.05,-1,EQ,NSE,NSE\n"
        "115,1,NOEXCHANGE,,0.0,,0.0,0.05,1,EQ,NSE,\n"
        "116,1,LOWER,,0.0,,0.0,0.05,1,EQ,NSE,nse\n"
        "117,1,,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"                       //  No tradingsymbol
        "118,1,A:B,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"                    //  ':' is ours
        "119,1,ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLM,,0.0,,0.0,0.05,"
            "1,EQ,NSE,NSE\n"                                         //  64 characters
        "120,1,ABCDEFGHIJKLMNOPQRSTUVWXYZABC,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n" //  NSE: + 29 > 31
        "121,1,SEGMENT,,0.0,,0.0,0.05,1,EQ,NSE-SEGMENT-TOO-LONG,NSE\n"
        "122,1,TYPE,,0.0,,0.0,0.05,1,EQUITYTYPE,NSE,NSE\n"
        "123,1,AB\"C,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"                  //  Stray quote (strict)
        "408065,1594,INFY,\"INFOSYS, LTD\",0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "408065,1595,INFY2,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"            //  Token taken
        "408066,1594,INFY,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"             //  NSE:INFY taken
        "124,1,\"QUOTED\"X,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"            //  Text after a quote
        "\n"
        "2885633,11262,LEAP,\"A, B\",1.5,2024-02-29,100.5,0.05,25,FUT,NFO-FUT,NFO\n"
        "125,1,NUL\\0,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "126,1,OPEN,\"never closed,0.0,,0.0,0.05,1,EQ,NSE,NSE\n";  //  Quote open at the end
    //  The row with a NUL byte is made below: C strings cannot hold one
    size_t size = strlen (csv);
    char *copy = (char *) malloc (size);
    assert (copy);
    memcpy (copy, csv, size);
    char *nul = strstr (copy, "NUL\\0");
    assert (nul);
    nul [3] = ' ';
    nul [4] = '\0';

    tm_kite_instruments_t *self = tm_kite_instruments_new ();
    size_t rejected = 0;
    char err [256] = "";
    int rc = tm_kite_instruments_load (self, copy, size, 0, &rejected, err, sizeof err);
    CU_ASSERT_EQUAL (rc, 0);
    CU_ASSERT_EQUAL (rejected, 35);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 2);
    const tm_kite_instrument_t *row = tm_kite_instruments_resolve (self, "INFY");
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_EQUAL (row->exchange_token, 1594);
    CU_ASSERT_STRING_EQUAL (row->name, "INFOSYS, LTD");
    row = tm_kite_instruments_by_token (self, 2885633);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_EQUAL (row->expiry, 19782);           //  2024-02-29
    CU_ASSERT_DOUBLE_EQUAL (row->strike, 100.5, 0);
    CU_ASSERT_EQUAL (row->lot_size, 25);
    CU_ASSERT_STRING_EQUAL (row->name, "A, B");
    //  A future named "A, B" is a continuous one: a comma may be part of a symbol
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 2885633), "A, B-I");
    CU_ASSERT_PTR_NULL (tm_kite_instruments_resolve (self, "AB\"C"));
    CU_ASSERT_PTR_NULL (tm_kite_instruments_by_token (self, 126));
    free (copy);
    tm_kite_instruments_destroy (&self);
}

//  Odd but valid: a long name is cut, a name with ':' gets no short symbol, a short form that
//  is taken falls back to the long one, and CRLF line ends
static void
test_odd_rows (void)
{
    const char *csv =
        S_HEADER
        "1001,1,LONGNAME,ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRST"
            ",0.0,,0.0,0.05,1,EQ,NSE,NSE\r\n"
        "1002,1,X24JANFUT,\"X:Y\",0.0,2030-01-25,0.0,0.05,1,FUT,NFO-FUT,NFO\r\n"
        "1003,1,NIFTY-I,,0.0,,0.0,0.05,1,EQ,NSE,NSE\r\n"            //  An equity named NIFTY-I
        "1004,1,NIFTY30JANFUT,NIFTY,0.0,2030-01-31,0.0,0.05,1,FUT,NFO-FUT,NFO\r\n"
        "1005,1,LONGFUT,ABCDEFGHIJKLMNOPQRSTUVWXYZABCD,0.0,2030-01-31,0.0,0.05,1,FUT,NFO-FUT,NFO\r\n"
        "1006,1,INDIA VIX,INDIA VIX,0.0,,0.0,0.0,0,EQ,INDICES,NSE\r\n"
        "1007,1,INDIA VIX,INDIA VIX,0.0,,0.0,0.0,0,EQ,INDICES,BSE\r\n";
    size_t rejected = 99;
    tm_kite_instruments_t *self = s_load (csv, 0, &rejected);
    CU_ASSERT_EQUAL (rejected, 0);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), 7);
    const tm_kite_instrument_t *row = tm_kite_instruments_by_token (self, 1001);
    CU_ASSERT_PTR_NOT_NULL_FATAL (row);
    CU_ASSERT_EQUAL (strlen (row->name), TM_KITE_FIELD_MAX - 1);
    CU_ASSERT_EQUAL (strncmp (row->name, "ABCDEFGHIJ", 10), 0);
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1002), "NFO:X24JANFUT");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "X:Y-I"), "-");
    //  First come, first served: the equity keeps "NIFTY-I", the future is NFO:...
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1003), "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1004), "NFO:NIFTY30JANFUT");
    //  A name too long for NAME-I in TM_SYMBOL_MAX
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1005), "NFO:LONGFUT");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1006), "INDIA VIX");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1007), "BSE:INDIA VIX");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "NSE:INDIA VIX"), "INDIA VIX");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "BSE:INDIA VIX"), "BSE:INDIA VIX");
    //  Canonical symbols are unique and each one resolves to its own row
    char joined [1024] = "";
    tm_kite_instruments_each_symbol (self, s_join, joined);
    CU_ASSERT_STRING_EQUAL (joined, "LONGNAME|NFO:X24JANFUT|NIFTY-I|NFO:NIFTY30JANFUT|"
                            "NFO:LONGFUT|INDIA VIX|BSE:INDIA VIX");
    for (uint32_t token = 1001; token <= 1007; token++) {
        const char *symbol = tm_kite_instruments_symbol (self, token);
        CU_ASSERT_EQUAL (tm_kite_instruments_resolve (self, symbol)->instrument_token, token);
    }
    tm_kite_instruments_destroy (&self);
}

//  A dump in many chunks of libcsv's input, with a quoting error far from the start
static void
test_large (void)
{
    size_t rows = 20000;
    size_t room = rows * 80 + 256;
    char *csv = (char *) malloc (room);
    assert (csv);
    size_t used = (size_t) snprintf (csv, room, "%s", S_HEADER);
    for (size_t i = 0; i < rows; i++) {
        if (i == 12345)
            used += (size_t) snprintf (csv + used, room - used,
                                       "%zu,1,BAD\"%zu,,0.0,,0.0,0.05,1,EQ,NSE,NSE\n", i + 1, i);
        else
            used += (size_t) snprintf (csv + used, room - used,
                                       "%zu,%zu,SYM%zu,\"NAME, %zu\",0.0,,0.0,0.05,1,EQ,NSE,NSE\n",
                                       i + 1, i, i, i);
        assert (used < room);
    }
    tm_kite_instruments_t *self = tm_kite_instruments_new ();
    size_t rejected = 0;
    char err [256] = "";
    CU_ASSERT_EQUAL (tm_kite_instruments_load (self, csv, used, 0, &rejected, err, sizeof err), 0);
    CU_ASSERT_EQUAL (rejected, 1);
    CU_ASSERT_EQUAL (tm_kite_instruments_size (self), rows - 1);
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "SYM19999"), "SYM19999");
    CU_ASSERT_STRING_EQUAL (s_resolved (self, "SYM12346"), "SYM12346");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_symbol (self, 1), "SYM0");
    CU_ASSERT_STRING_EQUAL (tm_kite_instruments_by_token (self, 20000)->name, "NAME, 19999");
    CU_ASSERT_PTR_NULL (tm_kite_instruments_by_token (self, 12346));
    free (csv);
    tm_kite_instruments_destroy (&self);
}

//  The daily refresh comes at the first 08:30 IST (03:00 UTC) after now
static void
test_next_refresh (void)
{
    int64_t ns;
    int64_t expect;
    CU_ASSERT_FATAL (tm_clock_parse ("2026-01-05T09:15:00+05:30", &ns) == 0);
    CU_ASSERT_FATAL (tm_clock_parse ("2026-01-06T08:30:00+05:30", &expect) == 0);
    CU_ASSERT (tm_kite_instruments_next_refresh (ns) == expect);
    //  Before 08:30 IST: the same day
    CU_ASSERT_FATAL (tm_clock_parse ("2026-01-05T08:29:59+05:30", &ns) == 0);
    CU_ASSERT_FATAL (tm_clock_parse ("2026-01-05T08:30:00+05:30", &expect) == 0);
    CU_ASSERT (tm_kite_instruments_next_refresh (ns) == expect);
    //  Exactly at 08:30: the next day (strictly after)
    CU_ASSERT (tm_kite_instruments_next_refresh (expect) == expect + 86400LL * 1000000000LL);
    //  Late evening UTC is already the next IST day: 2026-01-05 20:00 UTC = 01:30 IST on the 6th
    CU_ASSERT_FATAL (tm_clock_parse ("2026-01-05T20:00:00Z", &ns) == 0);
    CU_ASSERT_FATAL (tm_clock_parse ("2026-01-06T03:00:00Z", &expect) == 0);
    CU_ASSERT (tm_kite_instruments_next_refresh (ns) == expect);
}

int
tm_kite_instruments_tests (void)
{
    CU_pSuite suite = CU_add_suite ("kite_instruments", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "Zerodha's rows and quoted names", test_fixture_rows)
    ||  !CU_add_test (suite, "before and after a load", test_empty)
    ||  !CU_add_test (suite, "NAME-I and NAME-II around expiry in IST", test_continuous)
    ||  !CU_add_test (suite, "options named as TrueData names them", test_options)
    ||  !CU_add_test (suite, "bad headers name the column", test_bad_header)
    ||  !CU_add_test (suite, "bad rows are counted", test_bad_rows)
    ||  !CU_add_test (suite, "odd rows and symbol collisions", test_odd_rows)
    ||  !CU_add_test (suite, "a large dump in chunks", test_large)
    ||  !CU_add_test (suite, "the daily refresh at 08:30 IST", test_next_refresh))
        return -1;
    return 0;
}
