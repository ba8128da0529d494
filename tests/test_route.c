//  test_route - the route table: preference lists, the default route, picks, and the
//  errors a config author sees (each must name the token that is wrong)

#include "tickmux.h"
#include "tap.h"

static const char *s_providers [] = { "TRUEDATA", "ZERODHA", "SIM", "SIM2" };
#define S_PROVIDERS 4

static tm_routes_t *
s_table (void)
{
    tm_routes_t *self = tm_routes_new (s_providers, S_PROVIDERS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (self);
    return self;
}

//  The symbol's route as a string of indices, "0,1", for readable comparisons.
static const char *
s_route_of (tm_routes_t *self, const char *symbol)
{
    static char text [64];
    size_t order [TM_PROVIDERS_MAX];
    size_t n = tm_routes_lookup (self, symbol, order, TM_PROVIDERS_MAX);
    text [0] = '\0';
    for (size_t i = 0; i < n && i < TM_PROVIDERS_MAX; i++) {
        size_t used = strlen (text);
        snprintf (text + used, sizeof text - used, "%s%zu", i ? "," : "", order [i]);
    }
    return text;
}

static void
test_providers (void)
{
    tm_routes_t *self = s_table ();
    CU_ASSERT (tm_routes_providers (self) == S_PROVIDERS);
    CU_ASSERT (tm_routes_size (self) == 0);
    for (size_t i = 0; i < S_PROVIDERS; i++) {
        CU_ASSERT (tm_routes_provider_index (self, s_providers [i]) == (int) i);
        CU_ASSERT_STRING_EQUAL (tm_routes_provider_name (self, i), s_providers [i]);
    }
    CU_ASSERT (tm_routes_provider_index (self, "TRUEDTA") == -1);
    CU_ASSERT (tm_routes_provider_index (self, "sim") == -1);
    CU_ASSERT (tm_routes_provider_index (self, "") == -1);
    //  The names were copied, not borrowed
    char name [8] = "SIM";
    const char *names [1] = { name };
    tm_routes_t *copy = tm_routes_new (names, 1);
    strcpy (name, "XXX");
    CU_ASSERT_STRING_EQUAL (tm_routes_provider_name (copy, 0), "SIM");
    tm_routes_destroy (&copy);
    CU_ASSERT (copy == NULL);
    tm_routes_destroy (&copy);
    tm_routes_destroy (&self);
}

//  With no routes at all, every symbol goes to every provider in config order.
static void
test_no_routes (void)
{
    tm_routes_t *self = s_table ();
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "NIFTY-I"), "0,1,2,3");
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "ANYTHING"), "0,1,2,3");
    //  lookup writes no more than max
    size_t order [2] = { 99, 99 };
    CU_ASSERT (tm_routes_lookup (self, "NIFTY-I", order, 1) == 1);
    CU_ASSERT (order [0] == 0 && order [1] == 99);
    tm_routes_destroy (&self);
}

static void
test_add_lookup (void)
{
    tm_routes_t *self = s_table ();
    char err [256] = "";
    CU_ASSERT (tm_routes_add (self, "NIFTY-I", "TRUEDATA, ZERODHA", err, sizeof err) == 0);
    CU_ASSERT (tm_routes_add (self, "NIFTY 50", "SIM2,SIM", err, sizeof err) == 0);
    CU_ASSERT (tm_routes_add (self, "RELIANCE", "  ZERODHA  ", err, sizeof err) == 0);
    CU_ASSERT (tm_routes_size (self) == 3);
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "NIFTY-I"), "0,1");
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "NIFTY 50"), "3,2");
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "RELIANCE"), "1");
    //  Unrouted symbols still get every provider while there is no default
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "BANKNIFTY-I"), "0,1,2,3");
    //  Symbols are matched whole, not by prefix
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "NIFTY-II"), "0,1,2,3");
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "NIFTY"), "0,1,2,3");

    //  The default route applies to every symbol without its own
    CU_ASSERT (tm_routes_add (self, "*", "SIM, SIM2", err, sizeof err) == 0);
    CU_ASSERT (tm_routes_size (self) == 4);
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "BANKNIFTY-I"), "2,3");
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "NIFTY-I"), "0,1");
    tm_routes_destroy (&self);
}

static void
test_pick (void)
{
    tm_routes_t *self = s_table ();
    char err [256];
    CU_ASSERT_FATAL (tm_routes_add (self, "NIFTY-I", "TRUEDATA,ZERODHA,SIM", err, sizeof err) == 0);
    tm_state_t states [S_PROVIDERS] = {
        TM_STATE_CONNECTED, TM_STATE_CONNECTED, TM_STATE_CONNECTED, TM_STATE_CONNECTED
    };
    CU_ASSERT (tm_routes_pick (self, "NIFTY-I", states) == 0);
    states [0] = TM_STATE_STALE;
    CU_ASSERT (tm_routes_pick (self, "NIFTY-I", states) == 1);
    states [1] = TM_STATE_AUTH_FAILED;
    CU_ASSERT (tm_routes_pick (self, "NIFTY-I", states) == 2);
    //  SIM2 is connected but not on the route
    states [2] = TM_STATE_DISCONNECTED;
    CU_ASSERT (tm_routes_pick (self, "NIFTY-I", states) == -1);
    states [2] = TM_STATE_CONNECTING;
    CU_ASSERT (tm_routes_pick (self, "NIFTY-I", states) == -1);
    //  An unrouted symbol with no default: every provider, so SIM2 is picked
    CU_ASSERT (tm_routes_pick (self, "RELIANCE", states) == 3);
    //  The first recovers: back to it
    states [0] = TM_STATE_CONNECTED;
    CU_ASSERT (tm_routes_pick (self, "NIFTY-I", states) == 0);
    for (int i = 0; i < S_PROVIDERS; i++)
        states [i] = TM_STATE_DISCONNECTED;
    CU_ASSERT (tm_routes_pick (self, "RELIANCE", states) == -1);
    CU_ASSERT (tm_routes_pick (self, "NIFTY-I", states) == -1);
    tm_routes_destroy (&self);
}

//  Each bad route fails, leaves the table as it was, and the error names the bad token.
static void
test_errors (void)
{
    tm_routes_t *self = s_table ();
    char err [512];
    CU_ASSERT_FATAL (tm_routes_add (self, "NIFTY-I", "TRUEDATA", err, sizeof err) == 0);
    char long_symbol [TM_SYMBOL_MAX + 1];
    memset (long_symbol, 'L', TM_SYMBOL_MAX);
    long_symbol [TM_SYMBOL_MAX] = 0;
    char max_symbol [TM_SYMBOL_MAX];
    memset (max_symbol, 'M', TM_SYMBOL_MAX - 1);
    max_symbol [TM_SYMBOL_MAX - 1] = 0;

    const struct {
        const char *symbol;
        const char *providers;
        const char *named [3];      //  Tokens the message must contain
    } cases [] = {
        { "BANKNIFTY-I", "TRUEDTA, ZERODHA", { "TRUEDTA", "BANKNIFTY-I" } },
        { "BANKNIFTY-I", "ZERODHA, TRUEDTA", { "TRUEDTA" } },
        { "BANKNIFTY-I", "SIM, SIM2, SIM", { "SIM", "BANKNIFTY-I" } },
        { "NIFTY-I", "ZERODHA", { "NIFTY-I" } },
        { "BANKNIFTY-I", "", { "BANKNIFTY-I" } },
        { "BANKNIFTY-I", " , ,", { "BANKNIFTY-I" } },
        { long_symbol, "SIM", { long_symbol } },
        { "", "SIM", { NULL } },
        { "A|B", "SIM", { "A|B" } },
        { "BANKNIFTY-I", "SIMULATOR_WITH_A_LONG_NAME", { "SIMULATOR_WITH_A_LONG_NAME" } },
        { "BANKNIFTY-I", "sim", { "sim" } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        err [0] = '\0';
        int rc = tm_routes_add (self, cases [i].symbol, cases [i].providers, err, sizeof err);
        char what [256];
        snprintf (what, sizeof what, "route '%.40s' = '%s': rc %d, err '%.120s'",
                  cases [i].symbol, cases [i].providers, rc, err);
        bool ok = rc == -1 && err [0] != '\0';
        for (size_t k = 0; ok && cases [i].named [k]; k++)
            ok = strstr (err, cases [i].named [k]) != NULL;
        if (!ok)
            CU_assertImplementation (CU_FALSE, __LINE__, what, __FILE__, "", CU_FALSE);
    }
    //  The failures added nothing, and the first route is untouched
    CU_ASSERT (tm_routes_size (self) == 1);
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "NIFTY-I"), "0");
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "BANKNIFTY-I"), "0,1,2,3");
    //  The longest symbol that fits is accepted
    CU_ASSERT (tm_routes_add (self, max_symbol, "SIM", err, sizeof err) == 0);
    CU_ASSERT_STRING_EQUAL (s_route_of (self, max_symbol), "2");
    //  The unknown-provider message lists the configured ones, to help the author
    CU_ASSERT (tm_routes_add (self, "X", "TRUEDTA", err, sizeof err) == -1);
    CU_ASSERT (strstr (err, "ZERODHA") != NULL && strstr (err, "SIM2") != NULL);
    //  A "*" twice is a symbol routed twice
    CU_ASSERT (tm_routes_add (self, "*", "SIM", err, sizeof err) == 0);
    CU_ASSERT (tm_routes_add (self, "*", "SIM2", err, sizeof err) == -1);
    CU_ASSERT_STRING_EQUAL (s_route_of (self, "ANY"), "2");
    //  A small error buffer is not overrun (the message is cut, not spilled)
    char tiny [8];
    memset (tiny, 'x', sizeof tiny);
    CU_ASSERT (tm_routes_add (self, "Y", "TRUEDTA", tiny, sizeof tiny) == -1);
    CU_ASSERT (memchr (tiny, '\0', sizeof tiny) != NULL);
    tm_routes_destroy (&self);
}

int
tm_route_tests (void)
{
    CU_pSuite suite = CU_add_suite ("route", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "providers by index and name", test_providers)
    ||  !CU_add_test (suite, "no routes: every provider in order", test_no_routes)
    ||  !CU_add_test (suite, "add, lookup, default route", test_add_lookup)
    ||  !CU_add_test (suite, "pick the first connected", test_pick)
    ||  !CU_add_test (suite, "errors name the bad token", test_errors))
        return -1;
    return 0;
}
