//  test_auth - API tokens and the token bucket (gateway/auth.c), without a server

#include "tickmux.h"
#include "auth.h"
#include "tap.h"

static tm_config_t *
s_config (void)
{
    char err [256], text [1024];
    unsigned char hash [32];
    char hex [65];
    tm_config_hash_token ("s3cret", 6, hash);
    for (int i = 0; i < 32; i++)
        snprintf (hex + 2 * i, 3, "%02x", hash [i]);
    snprintf (text, sizeof text,
              "token\n    name = desk\n    credential = TM_TEST_DESK_TOKEN\n"
              "token\n    name = viewer\n    sha256 = %s\n    symbols = \"NIFTY-I, BANK*\"\n"
              "    providers = \"ALL,SIM\"\n    orders = 0\n", hex);
    setenv ("TM_TEST_DESK_TOKEN", "desk-token", 1);
    tm_config_t *config = tm_config_load_text (text, err, sizeof err);
    unsetenv ("TM_TEST_DESK_TOKEN");
    if (!config)
        fprintf (stderr, "%s\n", err);
    return config;
}

static void
test_find (void)
{
    tm_config_t *config = s_config ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT (config->tokens_count == 2);
    const tm_token_t *t = tm_auth_find (config, "s3cret", 6);
    CU_ASSERT (t && streq (t->name, "viewer"));
    t = tm_auth_find (config, "desk-token", 10);
    CU_ASSERT (t && streq (t->name, "desk"));
    //  Near misses, a prefix, an empty and an overlong token find nothing
    CU_ASSERT (tm_auth_find (config, "s3cre", 5) == NULL);
    CU_ASSERT (tm_auth_find (config, "s3cret ", 7) == NULL);
    CU_ASSERT (tm_auth_find (config, "S3cret", 6) == NULL);
    CU_ASSERT (tm_auth_find (config, "", 0) == NULL);
    CU_ASSERT (tm_auth_find (config, NULL, 0) == NULL);
    char *big = malloc (TM_API_TOKEN_MAX + 2);
    memset (big, 'a', TM_API_TOKEN_MAX + 1);
    big [TM_API_TOKEN_MAX + 1] = '\0';
    CU_ASSERT (tm_auth_find (config, big, TM_API_TOKEN_MAX + 1) == NULL);
    free (big);
    tm_config_destroy (&config);
}

static void
test_bearer (void)
{
    char out [64];
    CU_ASSERT (tm_auth_bearer ("Bearer abc", out, sizeof out) == 3 && streq (out, "abc"));
    CU_ASSERT (tm_auth_bearer ("bearer   abc  ", out, sizeof out) == 3 && streq (out, "abc"));
    CU_ASSERT (tm_auth_bearer ("Basic abc", out, sizeof out) == -1);
    CU_ASSERT (tm_auth_bearer ("Bearer", out, sizeof out) == -1);
    CU_ASSERT (tm_auth_bearer ("Bearer    ", out, sizeof out) == -1);
    CU_ASSERT (tm_auth_bearer (NULL, out, sizeof out) == -1);
    CU_ASSERT (tm_auth_bearer ("Bearer 0123456789", out, 5) == -1);
}

static void
test_allows (void)
{
    tm_config_t *config = s_config ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    const tm_token_t *desk = &config->tokens [0], *viewer = &config->tokens [1];
    CU_ASSERT (tm_auth_allows_symbol (desk, "RELIANCE") && tm_auth_allows_stream (desk, "SIM2"));
    CU_ASSERT (tm_auth_allows_orders (desk));
    CU_ASSERT (tm_auth_allows_symbol (viewer, "NIFTY-I"));
    CU_ASSERT (tm_auth_allows_symbol (viewer, "BANKNIFTY-I"));
    CU_ASSERT (!tm_auth_allows_symbol (viewer, "NIFTY-II"));
    CU_ASSERT (!tm_auth_allows_symbol (viewer, "NIFTY"));
    CU_ASSERT (!tm_auth_allows_symbol (viewer, "RELIANCE"));
    CU_ASSERT (tm_auth_allows_stream (viewer, "ALL") && tm_auth_allows_stream (viewer, "SIM"));
    CU_ASSERT (!tm_auth_allows_stream (viewer, "SIM2"));
    CU_ASSERT (!tm_auth_allows_orders (viewer));
    //  Authentication off: everything
    CU_ASSERT (tm_auth_allows_symbol (NULL, "X") && tm_auth_allows_stream (NULL, "Y")
               && tm_auth_allows_orders (NULL));
    tm_config_destroy (&config);
}

static void
test_config_errors (void)
{
    char err [256];
    setenv ("TM_TEST_DESK_TOKEN", "desk-token", 1);
    const char *bad [] = {
        "token\n    name = x\n",                                        //  neither
        "token\n    name = x\n    sha256 = 00\n",                       //  short
        "token\n    name = bad name\n    credential = X\n",             //  name
        "token\n    sha256 = " "0000000000000000000000000000000000000000000000000000000000000000\n",
        "token\n    name = x\n    credential = TM_NO_SUCH_VARIABLE\n",
        "token\n    name = x\n    credential = TM_TEST_DESK_TOKEN\n    symbols = \"A,,B\"\n",
        "token\n    name = x\n    credential = TM_TEST_DESK_TOKEN\n    orders = 2\n",
        "gateway\n    health = maybe\n",
        "gateway\n    max_rate = 0\n",
        "gateway\n    tls_key = /k.pem\n",
        "gateway\n    slow_policy = sometimes\n",
        "token\n    name = x\n    credential = TM_TEST_DESK_TOKEN\n    slow_policy = never\n",
        NULL
    };
    for (int i = 0; bad [i]; i++) {
        tm_config_t *config = tm_config_load_text (bad [i], err, sizeof err);
        if (config) {
            CU_FAIL ("a bad token or gateway key was accepted");
            fprintf (stderr, "accepted: %s", bad [i]);
            tm_config_destroy (&config);
        }
    }
    //  The same name twice
    tm_config_t *config = tm_config_load_text ("token\n    name = x\n    credential = TM_TEST_DESK_TOKEN\n"
                                               "token\n    name = x\n    credential = TM_TEST_DESK_TOKEN\n",
                                               err, sizeof err);
    CU_ASSERT (config == NULL && strstr (err, "twice"));
    tm_config_destroy (&config);
    unsetenv ("TM_TEST_DESK_TOKEN");
    //  Defaults
    config = tm_config_load_text ("", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT (config->tokens_count == 0 && !config->protect_health && !config->tls_cert [0]);
    CU_ASSERT (config->max_connections == TM_DEFAULT_MAX_CONNECTIONS
               && config->max_connections_per_ip == TM_DEFAULT_MAX_PER_IP
               && config->max_rate == TM_DEFAULT_MAX_RATE);
    tm_config_destroy (&config);
}

static void
test_bucket (void)
{
    tm_bucket_t b = { 0, 0 };
    int64_t t = 1000000000;
    int taken = 0;
    for (int i = 0; i < 50; i++)
        taken += tm_bucket_take (&b, 10, 20, t);
    CU_ASSERT (taken == 20);                //  Full at first: the burst
    CU_ASSERT (!tm_bucket_take (&b, 10, 20, t + 50000000));     //  0.5 of a token after 50 ms
    CU_ASSERT (tm_bucket_take (&b, 10, 20, t + 100000000));     //  1 after 100 ms
    taken = 0;
    for (int i = 0; i < 50; i++)            //  A long pause refills only to the burst
        taken += tm_bucket_take (&b, 10, 20, t + 60000000000LL);
    CU_ASSERT (taken == 20);
}

int
tm_auth_tests (void)
{
    CU_pSuite suite = CU_add_suite ("auth", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "tokens found by hash, near misses not", test_find)
    ||  !CU_add_test (suite, "Authorization: Bearer parsed", test_bearer)
    ||  !CU_add_test (suite, "symbols, prefixes, streams and orders per token", test_allows)
    ||  !CU_add_test (suite, "bad token and gateway keys refused", test_config_errors)
    ||  !CU_add_test (suite, "token bucket: burst, refill, cap", test_bucket))
        return -1;
    return 0;
}
