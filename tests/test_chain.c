//  test_chain - option chains: strikes around the money, leg names, ticks, the JSON

#include "tickmux.h"
#include "chain.h"
#include "tap.h"

static const tm_option_root_t s_nifty = { "NIFTY", "NIFTY 50", 50 };

static tm_tick_t
s_tick (const char *symbol, double price)
{
    tm_tick_t tick;
    memset (&tick, 0, sizeof tick);
    snprintf (tick.symbol, sizeof tick.symbol, "%s", symbol);
    strcpy (tick.stream, "TRUEDATA");
    strcpy (tick.provider, "TRUEDATA");
    tick.fields = TM_TICK_QUOTE | TM_TICK_OI | TM_TICK_BOOK;
    tick.last_price = price;
    tick.last_quantity = 75;
    tick.volume = 1500;
    tick.oi = 120000;
    tick.bid_price = price - 0.05;
    tick.bid_quantity = 300;
    tick.ask_price = price + 0.05;
    tick.ask_quantity = 450;
    tick.exchange_ts = 1706154300000000000;
    return tick;
}

static json_t *
s_parse (char *text)
{
    json_t *root = json_loads (text, 0, NULL);
    free (text);
    CU_ASSERT_FATAL (root != NULL);
    return root;
}

static void
test_center (void)
{
    tm_chain_t *chain = tm_chain_new (&s_nifty, "TRUEDATA", 2024, 1, 25, 4);
    CU_ASSERT_FATAL (chain != NULL);
    CU_ASSERT_STRING_EQUAL (tm_chain_underlying (chain), "NIFTY 50");
    CU_ASSERT (!tm_chain_is_centered (chain) && tm_chain_legs (chain) == 0);
    //  21 524.9 rounds to 21 500: strikes 21 400, 21 450, 21 500, 21 550
    CU_ASSERT (tm_chain_center (chain, 21524.9) == 8);
    CU_ASSERT (tm_chain_is_centered (chain));
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 0), "NIFTY24012521400CE");
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 1), "NIFTY24012521400PE");
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 4), "NIFTY24012521500CE");
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 7), "NIFTY24012521550PE");
    //  The strikes are fixed once
    CU_ASSERT (tm_chain_center (chain, 30000) == 8);
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 0), "NIFTY24012521400CE");
    tm_chain_destroy (&chain);
    tm_chain_destroy (&chain);
    CU_ASSERT (chain == NULL);

    //  An odd count is centred; strikes below zero are left out; fractional steps print
    //  their decimals
    const tm_option_root_t stock = { "ITC", "ITC", 2.5 };
    chain = tm_chain_new (&stock, "ALL", 2024, 12, 26, 5);
    CU_ASSERT (tm_chain_center (chain, 446.4) == 10);
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 0), "ITC241226442.5CE");
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 4), "ITC241226447.5CE");
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 9), "ITC241226452.5PE");
    tm_chain_destroy (&chain);
    chain = tm_chain_new (&s_nifty, "ALL", 2024, 1, 25, 10);
    CU_ASSERT (tm_chain_center (chain, 120) == 2 * 6);     //  100 .. 350: 0 and below dropped
    CU_ASSERT_STRING_EQUAL (tm_chain_leg_symbol (chain, 0), "NIFTY24012550CE");
    tm_chain_destroy (&chain);
    chain = tm_chain_new (&s_nifty, "ALL", 2024, 1, 25, 3);
    CU_ASSERT (tm_chain_center (chain, 0) == 2);          //  Only +50 is positive
    tm_chain_destroy (&chain);
    //  Bounds of the width
    CU_ASSERT (tm_chain_new (&s_nifty, "ALL", 2024, 1, 25, 0) == NULL);
    CU_ASSERT (tm_chain_new (&s_nifty, "ALL", 2024, 1, 25, TM_CHAIN_STRIKES_MAX + 1) == NULL);
}

static void
test_ticks_and_json (void)
{
    tm_chain_t *chain = tm_chain_new (&s_nifty, "TRUEDATA", 2024, 1, 25, 2);
    tm_tick_t spot = s_tick ("NIFTY 50", 21480.0);
    spot.fields = TM_TICK_QUOTE;
    CU_ASSERT (tm_chain_apply (chain, &spot) == TM_CHAIN_UNDERLYING);
    CU_ASSERT (tm_chain_center (chain, spot.last_price) == 4);     //  21 450, 21 500
    CU_ASSERT (!tm_chain_is_complete (chain));
    tm_tick_t other = s_tick ("NIFTY24012521600CE", 10);
    CU_ASSERT (tm_chain_apply (chain, &other) == -1);
    tm_tick_t call = s_tick ("NIFTY24012521500CE", 61.35);
    call.fields |= TM_TICK_GREEKS;
    call.greeks = (tm_greeks_t) { 13.5, 0.45, 0.0009, -11.2, 10.8, 5.1 };
    CU_ASSERT (tm_chain_apply (chain, &call) == 2);
    tm_chain_leg_unlisted (chain, 3);               //  21 500 PE: not listed
    tm_tick_t unlisted = s_tick ("NIFTY24012521500PE", 80);
    CU_ASSERT (tm_chain_apply (chain, &unlisted) == -1);
    CU_ASSERT (!tm_chain_is_complete (chain));
    tm_tick_t low_call = s_tick ("NIFTY24012521450CE", 90.1), low_put = s_tick ("NIFTY24012521450PE", 55);
    CU_ASSERT (tm_chain_apply (chain, &low_call) == 0);
    CU_ASSERT (tm_chain_apply (chain, &low_put) == 1);
    CU_ASSERT (tm_chain_is_complete (chain));

    json_t *id = json_string ("c1");
    json_t *root = s_parse (tm_chain_snapshot_json (chain, id, 42));
    json_decref (id);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "type")), "OPTION_CHAIN");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "id")), "c1");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "provider")), "TRUEDATA");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "symbol")), "NIFTY");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "expiry")), "2024-01-25");
    CU_ASSERT (json_number_value (json_object_get (root, "atm_strike")) == 21500);
    CU_ASSERT (json_number_value (json_object_get (root, "strike_step")) == 50);
    CU_ASSERT (json_integer_value (json_object_get (root, "ts")) == 42);
    json_t *under = json_object_get (root, "underlying");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (under, "symbol")), "NIFTY 50");
    CU_ASSERT (json_number_value (json_object_get (under, "last_price")) == 21480.0);
    CU_ASSERT (json_object_get (under, "oi") == NULL);      //  QUOTE only: no OI, no book
    json_t *strikes = json_object_get (root, "strikes");
    CU_ASSERT_FATAL (json_array_size (strikes) == 2);
    json_t *low = json_array_get (strikes, 0), *atm = json_array_get (strikes, 1);
    CU_ASSERT (json_number_value (json_object_get (low, "strike")) == 21450);
    json_t *ce = json_object_get (atm, "CE");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (ce, "symbol")),
                            "NIFTY24012521500CE");
    CU_ASSERT (json_number_value (json_object_get (ce, "last_price")) == 61.35);
    CU_ASSERT (json_number_value (json_object_get (ce, "bid_price")) == 61.3);
    CU_ASSERT (json_integer_value (json_object_get (ce, "oi")) == 120000);
    CU_ASSERT (json_integer_value (json_object_get (ce, "volume")) == 1500);
    CU_ASSERT (json_number_value (json_object_get (json_object_get (ce, "greeks"), "delta"))
               == 0.45);
    CU_ASSERT (json_is_null (json_object_get (atm, "PE")));
    CU_ASSERT (json_object_get (json_object_get (low, "CE"), "greeks") == NULL);
    json_decref (root);

    //  A leg update, then the underlying's
    call.last_price = 62;
    CU_ASSERT (tm_chain_apply (chain, &call) == 2);
    root = s_parse (tm_chain_update_json (chain, 2));
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "type")),
                            "OPTION_CHAIN_UPDATE");
    CU_ASSERT (json_number_value (json_object_get (root, "strike")) == 21500);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "option_type")), "CE");
    CU_ASSERT (json_number_value (json_object_get (json_object_get (root, "data"),
                                                   "last_price")) == 62);
    CU_ASSERT (json_object_get (root, "underlying") == NULL);
    json_decref (root);
    root = s_parse (tm_chain_update_json (chain, 1));
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "option_type")), "PE");
    json_decref (root);
    root = s_parse (tm_chain_update_json (chain, TM_CHAIN_UNDERLYING));
    CU_ASSERT (json_number_value (json_object_get (json_object_get (root, "underlying"),
                                                   "last_price")) == 21480.0);
    CU_ASSERT (json_object_get (root, "strike") == NULL);
    json_decref (root);
    tm_chain_destroy (&chain);
}

//  A leg with no tick yet shows its symbol only, and the snapshot says so
static void
test_waiting_leg (void)
{
    tm_chain_t *chain = tm_chain_new (&s_nifty, "ALL", 2024, 1, 25, 1);
    CU_ASSERT (tm_chain_center (chain, 21500) == 2);
    json_t *root = s_parse (tm_chain_snapshot_json (chain, NULL, 1));
    json_t *strike = json_array_get (json_object_get (root, "strikes"), 0);
    json_t *ce = json_object_get (strike, "CE");
    CU_ASSERT (json_object_size (ce) == 1);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (ce, "symbol")),
                            "NIFTY24012521500CE");
    CU_ASSERT (json_object_get (root, "id") == NULL);
    json_decref (root);
    tm_chain_destroy (&chain);
}

static void
test_option_names (void)
{
    char name [TM_SYMBOL_MAX];
    CU_ASSERT (tm_option_symbol (name, sizeof name, "NIFTY", 2024, 1, 25, 21500, "CE") == 0);
    CU_ASSERT_STRING_EQUAL (name, "NIFTY24012521500CE");
    CU_ASSERT (tm_option_symbol (name, sizeof name, "RELIANCE", 2025, 3, 27, 2452.5, "PE") == 0);
    CU_ASSERT_STRING_EQUAL (name, "RELIANCE2503272452.5PE");
    CU_ASSERT (tm_option_symbol (name, sizeof name, "X", 2025, 3, 27, 0.0125, "PE") == 0);
    CU_ASSERT_STRING_EQUAL (name, "X2503270.0125PE");
    CU_ASSERT (tm_option_symbol (name, sizeof name, "NIFTY", 2024, 1, 25, 0, "CE") == -1);
    CU_ASSERT (tm_option_symbol (name, sizeof name, "NIFTY", 2024, 1, 25, -50, "CE") == -1);
    CU_ASSERT (tm_option_symbol (name, sizeof name, "NIFTY", 2024, 1, 25, NAN, "CE") == -1);
    CU_ASSERT (tm_option_symbol (name, sizeof name, "NIFTY", 2024, 13, 25, 50, "CE") == -1);
    CU_ASSERT (tm_option_symbol (name, sizeof name, "", 2024, 1, 25, 50, "CE") == -1);
    CU_ASSERT (tm_option_symbol (name, 10, "NIFTY", 2024, 1, 25, 21500, "CE") == -1);
    CU_ASSERT (tm_option_symbol (name, sizeof name, "ABCDEFGHIJKLMNOPQRSTU", 2024, 1, 25,
                                 21500, "CE") == -1);

    int y, m, d;
    CU_ASSERT (tm_option_expiry_parse ("2024-01-25", &y, &m, &d) == 0);
    CU_ASSERT (y == 2024 && m == 1 && d == 25);
    CU_ASSERT (tm_option_expiry_parse ("2024-02-29", &y, &m, &d) == 0);
    CU_ASSERT (tm_option_expiry_parse ("2023-02-29", &y, &m, &d) == -1);
    CU_ASSERT (tm_option_expiry_parse ("2024-04-31", &y, &m, &d) == -1);
    CU_ASSERT (tm_option_expiry_parse ("2024-1-25", &y, &m, &d) == -1);
    CU_ASSERT (tm_option_expiry_parse ("2024-01-25 ", &y, &m, &d) == -1);
    CU_ASSERT (tm_option_expiry_parse ("2024-01+25", &y, &m, &d) == -1);
    CU_ASSERT (tm_option_expiry_parse ("+024-01-25", &y, &m, &d) == -1);
    CU_ASSERT (tm_option_expiry_parse ("1999-01-25", &y, &m, &d) == -1);
    CU_ASSERT (tm_option_expiry_parse ("", &y, &m, &d) == -1);
}

int
tm_chain_tests (void)
{
    CU_pSuite suite = CU_add_suite ("chain", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "strikes around the money, named once", test_center)
    ||  !CU_add_test (suite, "ticks, the snapshot and updates", test_ticks_and_json)
    ||  !CU_add_test (suite, "a leg before its first tick", test_waiting_leg)
    ||  !CU_add_test (suite, "option names and expiry dates", test_option_names))
        return -1;
    return 0;
}
