//  test_config - the built-in default, every README key, the errors (each names the key and
//  the value that is wrong), routes, and the environment that beats the file
//
//  The suite saves TICKMUX_FAKE_TIME and STATE_DIRECTORY, and each test sets what it needs,
//  so the result does not depend on the shell the tests run from.

#include "tickmux.h"
#include "tap.h"
#include "upstream.h"

#include <unistd.h>

static char *s_saved_fake;          //  TICKMUX_FAKE_TIME before the suite, or NULL
static char *s_saved_state;         //  STATE_DIRECTORY before the suite, or NULL
static char s_state_dir [64];       //  A directory of our own for STATE_DIRECTORY

static char *
s_getenv_copy (const char *name)
{
    const char *value = getenv (name);
    return value ? strdup (value) : NULL;
}

static void
s_restore (const char *name, const char *value)
{
    if (value)
        setenv (name, value, 1);
    else
        unsetenv (name);
}

static int
s_suite_init (void)
{
    s_saved_fake = s_getenv_copy ("TICKMUX_FAKE_TIME");
    s_saved_state = s_getenv_copy ("STATE_DIRECTORY");
    snprintf (s_state_dir, sizeof s_state_dir, "/tmp/tickmux-test-state-XXXXXX");
    if (!mkdtemp (s_state_dir))
        return -1;
    //  Loading a config must not touch /var/lib/tickmux or $HOME from a unit test
    setenv ("STATE_DIRECTORY", s_state_dir, 1);
    unsetenv ("TICKMUX_FAKE_TIME");
    return 0;
}

static int
s_suite_cleanup (void)
{
    s_restore ("TICKMUX_FAKE_TIME", s_saved_fake);
    s_restore ("STATE_DIRECTORY", s_saved_state);
    free (s_saved_fake);
    free (s_saved_state);
    rmdir (s_state_dir);
    return 0;
}

//  Load text that must be valid; a failure reports the config's own message.
static tm_config_t *
s_load (const char *text, unsigned int line)
{
    char err [512] = "";
    tm_config_t *config = tm_config_load_text (text, err, sizeof err);
    if (!config) {
        char what [600];
        snprintf (what, sizeof what, "config refused: %s", err);
        CU_assertImplementation (CU_FALSE, line, what, __FILE__, "", CU_FALSE);
    }
    return config;
}

//  Load text that must be refused with an error naming every token in named.
static void
s_refuse (const char *text, const char * const *named, unsigned int line)
{
    char err [512] = "";
    tm_config_t *config = tm_config_load_text (text, err, sizeof err);
    char what [800];
    if (config) {
        snprintf (what, sizeof what, "config accepted: %s", text);
        CU_assertImplementation (CU_FALSE, line, what, __FILE__, "", CU_FALSE);
        tm_config_destroy (&config);
        return;
    }
    for (size_t i = 0; named [i]; i++)
        if (!strstr (err, named [i])) {
            snprintf (what, sizeof what, "error '%s' does not name '%s'", err, named [i]);
            CU_assertImplementation (CU_FALSE, line, what, __FILE__, "", CU_FALSE);
        }
}

static void
s_check_defaults (tm_config_t *config)
{
    CU_ASSERT_STRING_EQUAL (config->role, "core");
    CU_ASSERT (config->port == TM_DEFAULT_PORT && TM_DEFAULT_PORT == 8002);
    CU_ASSERT_STRING_EQUAL (config->interface, "127.0.0.1");
    CU_ASSERT (config->max_subscriptions == 1000);
    CU_ASSERT (config->max_message == 65536);
    CU_ASSERT (config->queue_bytes == 131072);
    CU_ASSERT (config->slow_policy == TM_SLOW_CONFLATE && config->socket_buffer == 131072);
    CU_ASSERT_STRING_EQUAL (config->fake_time, "");
    CU_ASSERT_FATAL (config->providers_count == 1);
    CU_ASSERT_STRING_EQUAL (config->providers [0].name, "SIM");
    CU_ASSERT_STRING_EQUAL (config->providers [0].kind, "SIM");
    CU_ASSERT (config->providers [0].seed == 1);
    CU_ASSERT (config->providers [0].rate == 200.0);
    CU_ASSERT (config->providers [0].symbols == 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config->routes);
    CU_ASSERT (tm_routes_providers (config->routes) == 1);
    CU_ASSERT (tm_routes_size (config->routes) == 0);
    CU_ASSERT (tm_config_provider_index (config, "SIM") == 0);
    CU_ASSERT (tm_config_provider_index (config, "SIM2") == -1);
}

static void
test_defaults (void)
{
    char err [512] = "";
    tm_config_t *config = tm_config_load (NULL, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    s_check_defaults (config);
    CU_ASSERT_STRING_EQUAL (config->state_dir, s_state_dir);
    tm_config_destroy (&config);
    CU_ASSERT (config == NULL);
    tm_config_destroy (&config);

    //  No text, and text that only has comments, are the default too
    config = s_load (NULL, __LINE__);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    s_check_defaults (config);
    tm_config_destroy (&config);
    config = s_load ("#   Nothing configured\n", __LINE__);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    s_check_defaults (config);
    tm_config_destroy (&config);
}

//  The README's keys, every one set to something other than its default.
static const char *s_full =
    "#   Every key\n"
    "tickmux\n"
    "    state_dir = /srv/tickmux\n"
    "    fake_time = 2026-01-05T09:15:00+05:30\n"
    "    role = gateway\n"
    "upstream\n"
    "    feed = \"tcp://core.lan:5556\"\n"
    "    snapshot = \"tcp://core.lan:6000\"\n"
    "    curve_cert = /etc/tickmux/curve/edge\n"
    "    curve_server = /etc/tickmux/curve/server\n"
    "gateway\n"
    "    port = 9001\n"
    "    interface = 0.0.0.0\n"
    "    max_subscriptions = 5\n"
    "    max_message = 1024\n"
    "    queue_bytes = 65536\n"
    "    slow_policy = disconnect\n"
    "    socket_buffer = 0\n"
    "    max_connections = 50\n"
    "    max_connections_per_ip = 7\n"
    "    max_rate = 12.5\n"
    "    health = token\n"
    "    tls_cert = /etc/tickmux/tls/cert.pem\n"
    "    tls_key = /etc/tickmux/tls/key.pem\n"
    "token\n"
    "    name = desk\n"
    "    sha256 = 00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n"
    "    symbols = \"NIFTY-I,BANK*\"\n"
    "    providers = \"ALL, SIM2\"\n"
    "    orders = 0\n"
    "    slow_policy = drop_oldest\n"
    "provider\n"
    "    name = SIM\n"
    "    kind = SIM\n"
    "    seed = 7\n"
    "    rate = 1000\n"
    "    symbols = 5\n"
    "    exchange_delay = 250\n"
    "    bad_share = 0.125\n"
    "provider\n"
    "    name = SIM2\n"
    "    kind = SIM\n"
    "    seed = 8\n"
    "feed\n"
    "    bind = \"tcp://0.0.0.0:6556\"\n"
    "    snapshot = \"tcp://0.0.0.0:6557\"\n"
    "arbiter\n"
    "    hold_down = 2500\n"
    "    stale_floor = 400\n"
    "    stale_factor = 8.5\n"
    "    error_rate = 0.25\n"
    "route\n"
    "    symbol = \"NIFTY 50\"\n"
    "    providers = \"SIM2,SIM\"\n"
    "route\n"
    "    symbol = *\n"
    "    providers = SIM\n";

static void
test_every_key (void)
{
    //  STATE_DIRECTORY (and the feed's variables) beat the file, so take them away
    unsetenv ("STATE_DIRECTORY");
    unsetenv ("TICKMUX_FEED_BIND");
    unsetenv ("TICKMUX_FEED_SNAPSHOT");
    tm_config_t *config = s_load (s_full, __LINE__);
    setenv ("STATE_DIRECTORY", s_state_dir, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT_STRING_EQUAL (config->state_dir, "/srv/tickmux");
    CU_ASSERT_STRING_EQUAL (config->fake_time, "2026-01-05T09:15:00+05:30");
    CU_ASSERT_STRING_EQUAL (config->role, "gateway");
    CU_ASSERT_STRING_EQUAL (config->upstream, "tcp://core.lan:5556");
    CU_ASSERT_STRING_EQUAL (config->upstream_snapshot, "tcp://core.lan:6000");
    CU_ASSERT_STRING_EQUAL (config->upstream_curve_cert, "/etc/tickmux/curve/edge");
    CU_ASSERT_STRING_EQUAL (config->upstream_curve_server, "/etc/tickmux/curve/server");
    CU_ASSERT (config->port == 9001);
    CU_ASSERT_STRING_EQUAL (config->interface, "0.0.0.0");
    CU_ASSERT (config->max_subscriptions == 5);
    CU_ASSERT (config->max_message == 1024);
    CU_ASSERT (config->queue_bytes == 65536);
    CU_ASSERT (config->max_connections == 50 && config->max_connections_per_ip == 7);
    CU_ASSERT (config->slow_policy == TM_SLOW_DISCONNECT && config->socket_buffer == 0);
    CU_ASSERT (config->tokens [0].has_slow_policy
               && config->tokens [0].slow_policy == TM_SLOW_DROP_OLDEST);
    CU_ASSERT (config->max_rate == 12.5 && config->protect_health);
    CU_ASSERT_STRING_EQUAL (config->tls_cert, "/etc/tickmux/tls/cert.pem");
    CU_ASSERT_STRING_EQUAL (config->tls_key, "/etc/tickmux/tls/key.pem");
    CU_ASSERT_FATAL (config->tokens_count == 1);
    const tm_token_t *token = &config->tokens [0];
    CU_ASSERT (streq (token->name, "desk") && token->hash [0] == 0x00 && token->hash [1] == 0x11
               && token->hash [31] == 0xff && !token->orders);
    CU_ASSERT (token->symbols_count == 2 && streq (token->symbols [1], "BANK*"));
    CU_ASSERT (token->streams_count == 2 && streq (token->streams [1], "SIM2"));
    CU_ASSERT_FATAL (config->providers_count == 2);
    CU_ASSERT_STRING_EQUAL (config->providers [0].name, "SIM");
    CU_ASSERT_STRING_EQUAL (config->providers [0].kind, "SIM");
    CU_ASSERT (config->providers [0].seed == 7);
    CU_ASSERT (config->providers [0].rate == 1000.0);
    CU_ASSERT (config->providers [0].symbols == 5);
    CU_ASSERT (config->providers [0].exchange_delay_ms == 250);
    CU_ASSERT (config->providers [0].bad_share == 0.125);
    CU_ASSERT_STRING_EQUAL (config->providers [1].name, "SIM2");
    CU_ASSERT_STRING_EQUAL (config->providers [1].kind, "SIM");
    CU_ASSERT (config->providers [1].seed == 8);
    CU_ASSERT (config->providers [1].rate == TM_DEFAULT_SIM_RATE);
    CU_ASSERT (config->providers [1].symbols == 0);
    CU_ASSERT (tm_config_provider_index (config, "SIM2") == 1);
    CU_ASSERT (config->failover.hold_down_ns == 2500 * 1000000LL);
    CU_ASSERT_STRING_EQUAL (config->feed_bind, "tcp://0.0.0.0:6556");
    CU_ASSERT_STRING_EQUAL (config->feed_snapshot, "tcp://0.0.0.0:6557");
    CU_ASSERT (config->failover.stale_floor_ns == 400 * 1000000LL);
    CU_ASSERT (config->failover.stale_factor == 8.5);
    CU_ASSERT (config->failover.error_rate == 0.25);

    //  The routes are in the table, over the providers in config order
    CU_ASSERT_PTR_NOT_NULL_FATAL (config->routes);
    CU_ASSERT (tm_routes_providers (config->routes) == 2);
    CU_ASSERT (tm_routes_size (config->routes) == 2);
    size_t order [TM_PROVIDERS_MAX];
    CU_ASSERT (tm_routes_lookup (config->routes, "NIFTY 50", order, TM_PROVIDERS_MAX) == 2);
    CU_ASSERT (order [0] == 1 && order [1] == 0);
    CU_ASSERT (tm_routes_lookup (config->routes, "RELIANCE", order, TM_PROVIDERS_MAX) == 1);
    CU_ASSERT (order [0] == 0);
    tm_config_destroy (&config);
}

//  The feed: on by default on loopback, off by config, the environment beats the file
static void
test_feed (void)
{
    unsetenv ("TICKMUX_FEED_BIND");
    unsetenv ("TICKMUX_FEED_SNAPSHOT");
    tm_config_t *config = s_load ("", __LINE__);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT_STRING_EQUAL (config->feed_bind, TM_DEFAULT_FEED_BIND);
    CU_ASSERT_STRING_EQUAL (config->feed_snapshot, TM_DEFAULT_FEED_SNAPSHOT);
    tm_config_destroy (&config);
    config = s_load ("feed\n    bind = off\n", __LINE__);
    CU_ASSERT (config && config->feed_bind [0] == '\0');
    tm_config_destroy (&config);
    setenv ("TICKMUX_FEED_BIND", "tcp://127.0.0.1:*", 1);
    config = s_load ("feed\n    bind = \"tcp://127.0.0.1:7000\"\n", __LINE__);
    CU_ASSERT (config && streq (config->feed_bind, "tcp://127.0.0.1:*"));
    tm_config_destroy (&config);
    unsetenv ("TICKMUX_FEED_BIND");
    s_refuse ("feed\n    port = 5556\n", (const char *[]) { "port", NULL }, __LINE__);
    //  A CURVE server certificate without the clients it admits is a mistake, not a default
    s_refuse ("feed\n    curve_cert = /etc/tickmux/curve/server\n",
              (const char *[]) { "curve_clients", NULL }, __LINE__);
    config = s_load ("feed\n    curve_cert = /x/server\n    curve_clients = \"*\"\n", __LINE__);
    CU_ASSERT (config && streq (config->feed_curve_cert, "/x/server")
               && streq (config->feed_curve_clients, "*"));
    tm_config_destroy (&config);
}

//  An edge: its role, the core's feed, the snapshot beside it, CURVE keys in pairs
static void
test_upstream (void)
{
    tm_config_t *config = s_load ("", __LINE__);
    CU_ASSERT (config && streq (config->role, "core") && config->upstream [0] == '\0'
               && config->upstream_snapshot [0] == '\0');
    tm_config_destroy (&config);
    s_refuse ("tickmux\n    role = edge\n", (const char *[]) { "role", "edge", NULL }, __LINE__);
    s_refuse ("upstream\n    endpoint = x\n", (const char *[]) { "endpoint", NULL }, __LINE__);
    s_refuse ("upstream\n    curve_cert = /x/edge\n",
              (const char *[]) { "curve_server", NULL }, __LINE__);
    s_refuse ("upstream\n    curve_server = /x/server\n",
              (const char *[]) { "curve_cert", NULL }, __LINE__);
    char out [64];
    CU_ASSERT (tm_upstream_snapshot_default ("tcp://10.0.0.1:5556", out, sizeof out) == 0
               && streq (out, "tcp://10.0.0.1:5557"));
    CU_ASSERT (tm_upstream_snapshot_default ("tcp://[::1]:7000", out, sizeof out) == 0
               && streq (out, "tcp://[::1]:7001"));
    CU_ASSERT (tm_upstream_snapshot_default ("tcp://core:*", out, sizeof out) == -1);
    CU_ASSERT (tm_upstream_snapshot_default ("tcp://core:65535", out, sizeof out) == -1);
    CU_ASSERT (tm_upstream_snapshot_default ("ipc:///run/feed", out, sizeof out) == -1);
    CU_ASSERT (tm_upstream_snapshot_default ("tcp://10.0.0.1:5556", out, 10) == -1);
}

static void
test_two_providers (void)
{
    tm_config_t *config = s_load (
        "provider\n"
        "    kind = SIM\n"
        "provider\n"
        "    name = SIM2\n"
        "    kind = SIM\n", __LINE__);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT_FATAL (config->providers_count == 2);
    //  name defaults to the kind
    CU_ASSERT_STRING_EQUAL (config->providers [0].name, "SIM");
    CU_ASSERT_STRING_EQUAL (config->providers [1].name, "SIM2");
    CU_ASSERT (config->providers [0].seed == TM_DEFAULT_SIM_SEED);
    //  With no routes, every symbol goes to every provider in config order
    size_t order [TM_PROVIDERS_MAX];
    CU_ASSERT (tm_routes_lookup (config->routes, "NIFTY-I", order, TM_PROVIDERS_MAX) == 2);
    CU_ASSERT (order [0] == 0 && order [1] == 1);
    tm_config_destroy (&config);

    //  A configured provider replaces the default SIM rather than joining it
    config = s_load ("provider\n    name = SIM2\n    kind = SIM\n", __LINE__);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT (config->providers_count == 1);
    CU_ASSERT (tm_config_provider_index (config, "SIM") == -1);
    tm_config_destroy (&config);
}

static void
test_unknown_keys (void)
{
    s_refuse ("gateway\n    prot = 8002\n", (const char *[]) { "prot", NULL }, __LINE__);
    s_refuse ("provider\n    kind = SIM\n    sede = 4\n", (const char *[]) { "sede", NULL },
              __LINE__);
    s_refuse ("tickmux\n    statedir = /x\n", (const char *[]) { "statedir", NULL }, __LINE__);
    s_refuse ("route\n    symbol = X\n    provider = SIM\n", (const char *[]) { "provider", NULL },
              __LINE__);
    s_refuse ("gatway\n    port = 8002\n", (const char *[]) { "gatway", NULL }, __LINE__);
    s_refuse ("port = 8002\n", (const char *[]) { "port", NULL }, __LINE__);
}

static void
test_bad_values (void)
{
    const struct {
        const char *text;
        const char *named [3];
    } cases [] = {
        { "gateway\n    port = 70000\n", { "port", "70000" } },
        { "gateway\n    port = -1\n", { "port", "-1" } },
        { "gateway\n    port = 80a\n", { "port", "80a" } },
        { "gateway\n    port = \"\"\n", { "port" } },
        { "gateway\n    max_subscriptions = 0\n", { "max_subscriptions", "0" } },
        { "gateway\n    max_message = lots\n", { "max_message", "lots" } },
        { "gateway\n    queue_bytes = -5\n", { "queue_bytes", "-5" } },
        { "provider\n    kind = SIM\n    rate = -1\n", { "rate", "-1" } },
        { "provider\n    kind = SIM\n    rate = 0\n", { "rate", "0" } },
        { "provider\n    kind = SIM\n    rate = 20000000\n", { "rate", "20000000" } },
        { "provider\n    kind = SIM\n    rate = fast\n", { "rate", "fast" } },
        { "provider\n    kind = SIM\n    seed = x1\n", { "seed", "x1" } },
        { "provider\n    kind = SIM\n    symbols = -3\n", { "symbols", "-3" } },
        { "provider\n    kind = FOO\n", { "kind", "FOO" } },
        { "provider\n    name = SIM2\n", { "kind" } },
        { "provider\n    kind = SIM\nprovider\n    kind = SIM\n", { "SIM" } },
        { "provider\n    kind = SIM\n    name = THIS_NAME_IS_TOO_LONG\n",
          { "name", "THIS_NAME_IS_TOO_LONG" } },
        { "provider\n    kind = SIM\n    name = ALL\n", { "name", "ALL" } },
        { "tickmux\n    fake_time = yesterday\n", { "fake_time", "yesterday" } },
        { "arbiter\n    hold_down = -1\n", { "hold_down", "-1" } },
        { "arbiter\n    stale_floor = 5\n", { "stale_floor", "5" } },
        { "arbiter\n    stale_factor = 0.5\n", { "stale_factor", "0.5" } },
        { "arbiter\n    error_rate = 2\n", { "error_rate", "2" } },
        { "arbiter\n    error_rate = lots\n", { "error_rate", "lots" } },
        { "arbiter\n    holddown = 5\n", { "holddown" } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        s_refuse (cases [i].text, cases [i].named, __LINE__);

    //  The edges of the ranges are accepted
    tm_config_t *config = s_load ("gateway\n    port = 0\n", __LINE__);
    CU_ASSERT (config && config->port == 0);
    tm_config_destroy (&config);
    config = s_load ("gateway\n    port = 65535\n", __LINE__);
    CU_ASSERT (config && config->port == 65535);
    tm_config_destroy (&config);
    config = s_load ("provider\n    kind = SIM\n    rate = 10000000\n", __LINE__);
    CU_ASSERT (config && config->providers [0].rate == TM_SIM_RATE_MAX);
    tm_config_destroy (&config);
    config = s_load ("provider\n    kind = SIM\n    rate = 0.5\n", __LINE__);
    CU_ASSERT (config && config->providers [0].rate == 0.5);
    tm_config_destroy (&config);

    //  More providers than TM_PROVIDERS_MAX
    char text [4096] = "";
    for (int i = 0; i <= TM_PROVIDERS_MAX; i++) {
        size_t used = strlen (text);
        snprintf (text + used, sizeof text - used, "provider\n    name = S%d\n    kind = SIM\n", i);
    }
    char err [512] = "";
    config = tm_config_load_text (text, err, sizeof err);
    CU_ASSERT (config == NULL && err [0] != '\0');
    tm_config_destroy (&config);
}

//  Option roots: three index chains built in, option blocks add or change them
static void
test_options (void)
{
    tm_config_t *config = s_load ("", __LINE__);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT (config->options_count == 3);
    const tm_option_root_t *root = tm_config_option (config, "BANKNIFTY");
    CU_ASSERT_FATAL (root != NULL);
    CU_ASSERT_STRING_EQUAL (root->underlying, "NIFTY BANK");
    CU_ASSERT (root->step == 100);
    CU_ASSERT (tm_config_option (config, "NIFTY")->step == 50);
    CU_ASSERT_STRING_EQUAL (tm_config_option (config, "FINNIFTY")->underlying,
                            "NIFTY FIN SERVICE");
    CU_ASSERT (tm_config_option (config, "RELIANCE") == NULL);
    tm_config_destroy (&config);

    config = s_load ("option\n    name = RELIANCE\n    underlying = RELIANCE\n    step = 20\n"
                     "option\n    name = NIFTY\n    underlying = \"NIFTY 50\"\n    step = 100\n"
                     "option\n    name = M&M\n    underlying = M&M\n    step = 2.5\n", __LINE__);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT (config->options_count == 5);
    CU_ASSERT (tm_config_option (config, "RELIANCE")->step == 20);
    CU_ASSERT (tm_config_option (config, "NIFTY")->step == 100);
    CU_ASSERT (tm_config_option (config, "M&M")->step == 2.5);
    tm_config_destroy (&config);

    const struct {
        const char *text;
        const char *named [3];
    } cases [] = {
        { "option\n    name = X\n    underlying = X\n    step = 0\n", { "step", "0" } },
        { "option\n    name = X\n    underlying = X\n    step = -5\n", { "step", "-5" } },
        { "option\n    name = X\n    underlying = X\n    step = wide\n", { "step", "wide" } },
        { "option\n    name = nifty\n    underlying = X\n    step = 50\n", { "name", "nifty" } },
        { "option\n    name = X\n    step = 50\n", { "underlying" } },
        { "option\n    name = X\n    underlying = \"A|B\"\n    step = 50\n",
          { "underlying", "A|B" } },
        { "option\n    name = X\n    underlying = X\n    step = 50\n    strikes = 3\n",
          { "strikes" } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        s_refuse (cases [i].text, cases [i].named, __LINE__);
}

static void
test_routes (void)
{
    const char *two =
        "provider\n    name = SIM\n    kind = SIM\n"
        "provider\n    name = SIM2\n    kind = SIM\n";
    char text [1024];
    //  A route naming a provider that is not configured
    snprintf (text, sizeof text, "%sroute\n    symbol = NIFTY-I\n    providers = \"SIM, TRUEDATA\"\n",
              two);
    s_refuse (text, (const char *[]) { "TRUEDATA", "NIFTY-I", NULL }, __LINE__);
    //  A symbol routed twice
    snprintf (text, sizeof text, "%sroute\n    symbol = NIFTY-I\n    providers = SIM\n"
              "route\n    symbol = NIFTY-I\n    providers = SIM2\n", two);
    s_refuse (text, (const char *[]) { "NIFTY-I", NULL }, __LINE__);
    //  A repeated provider
    snprintf (text, sizeof text, "%sroute\n    symbol = NIFTY-I\n    providers = \"SIM,SIM\"\n",
              two);
    s_refuse (text, (const char *[]) { "SIM", NULL }, __LINE__);
    //  A route with no providers, and one with no symbol
    snprintf (text, sizeof text, "%sroute\n    symbol = NIFTY-I\n", two);
    s_refuse (text, (const char *[]) { "providers", NULL }, __LINE__);
    snprintf (text, sizeof text, "%sroute\n    providers = SIM\n", two);
    s_refuse (text, (const char *[]) { "symbol", NULL }, __LINE__);
    //  The route is checked against the providers even when the route comes first
    s_refuse ("route\n    symbol = X\n    providers = SIM2\nprovider\n    kind = SIM\n",
              (const char *[]) { "SIM2", NULL }, __LINE__);
    tm_config_t *config = s_load ("route\n    symbol = X\n    providers = SIM2\n"
                                  "provider\n    name = SIM2\n    kind = SIM\n", __LINE__);
    CU_ASSERT (config && tm_routes_size (config->routes) == 1);
    tm_config_destroy (&config);
}

//  Environment beats the file; TICKMUX_FAKE_TIME is checked like the key.
static void
test_environment (void)
{
    setenv ("TICKMUX_FAKE_TIME", "1767583800", 1);
    char err [512] = "";
    tm_config_t *config = tm_config_load (NULL, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL (config);
    if (config)
        CU_ASSERT_STRING_EQUAL (config->fake_time, "1767583800");
    tm_config_destroy (&config);

    config = s_load ("tickmux\n    fake_time = 2026-01-05T09:15:00Z\n", __LINE__);
    CU_ASSERT (config && strcmp (config->fake_time, "1767583800") == 0);
    tm_config_destroy (&config);

    setenv ("TICKMUX_FAKE_TIME", "not-a-time", 1);
    err [0] = '\0';
    config = tm_config_load (NULL, err, sizeof err);
    CU_ASSERT (config == NULL);
    CU_ASSERT (strstr (err, "not-a-time") != NULL);
    tm_config_destroy (&config);
    unsetenv ("TICKMUX_FAKE_TIME");

    //  With neither STATE_DIRECTORY nor state_dir: README's default for root or a user
    unsetenv ("STATE_DIRECTORY");
    char *saved_home = s_getenv_copy ("HOME");
    setenv ("HOME", "/home/someone", 1);
    config = s_load (NULL, __LINE__);
    if (config)
        CU_ASSERT_STRING_EQUAL (config->state_dir, geteuid () == 0
                                ? "/var/lib/tickmux" : "/home/someone/.local/state/tickmux");
    tm_config_destroy (&config);
    s_restore ("HOME", saved_home);
    free (saved_home);

    //  STATE_DIRECTORY beats tickmux/state_dir
    setenv ("STATE_DIRECTORY", "/run/state/tickmux", 1);
    config = s_load ("tickmux\n    state_dir = /srv/tickmux\n", __LINE__);
    CU_ASSERT (config && strcmp (config->state_dir, "/run/state/tickmux") == 0);
    tm_config_destroy (&config);
    setenv ("STATE_DIRECTORY", s_state_dir, 1);
}

//  The same contract from a file on disk, and a file that is not there.
static void
test_file (void)
{
    char path [128];
    snprintf (path, sizeof path, "%s/tickmux.cfg", s_state_dir);
    FILE *file = fopen (path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (file);
    fputs ("gateway\n    port = 9002\nprovider\n    name = SIM2\n    kind = SIM\n", file);
    fclose (file);
    char err [512] = "";
    tm_config_t *config = tm_config_load (path, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL (config);
    if (config) {
        CU_ASSERT (config->port == 9002);
        CU_ASSERT (config->providers_count == 1);
        CU_ASSERT_STRING_EQUAL (config->providers [0].name, "SIM2");
        CU_ASSERT_STRING_EQUAL (config->state_dir, s_state_dir);
    }
    tm_config_destroy (&config);

    //  An error in a file is reported like one in text
    file = fopen (path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (file);
    fputs ("gateway\n    port = 123456\n", file);
    fclose (file);
    config = tm_config_load (path, err, sizeof err);
    CU_ASSERT (config == NULL && strstr (err, "123456") != NULL);
    unlink (path);

    //  A path that does not exist is named in the error
    err [0] = '\0';
    config = tm_config_load (path, err, sizeof err);
    CU_ASSERT (config == NULL);
    CU_ASSERT (strstr (err, path) != NULL);
}

//  Secrets: the environment first, else a systemd credential of the same name
static void
test_secret (void)
{
    char dir [] = "/tmp/tickmux-creds-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL (mkdtemp (dir));
    char path [128];
    snprintf (path, sizeof path, "%s/TM_TEST_SECRET", dir);
    FILE *file = fopen (path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (file);
    fputs ("from-credential\nsecond line\n", file);
    fclose (file);
    char buf [TM_SECRET_MAX];
    unsetenv ("TM_TEST_SECRET");
    unsetenv ("CREDENTIALS_DIRECTORY");
    CU_ASSERT_PTR_NULL (tm_config_secret ("TM_TEST_SECRET", buf, sizeof buf));
    setenv ("CREDENTIALS_DIRECTORY", dir, 1);
    CU_ASSERT_PTR_NOT_NULL (tm_config_secret ("TM_TEST_SECRET", buf, sizeof buf));
    CU_ASSERT_STRING_EQUAL (buf, "from-credential");
    setenv ("TM_TEST_SECRET", "from-env", 1);
    CU_ASSERT_PTR_NOT_NULL (tm_config_secret ("TM_TEST_SECRET", buf, sizeof buf));
    CU_ASSERT_STRING_EQUAL (buf, "from-env");
    //  Too long for the buffer: refused, not cut
    char small [4];
    CU_ASSERT_PTR_NULL (tm_config_secret ("TM_TEST_SECRET", small, sizeof small));
    unsetenv ("TM_TEST_SECRET");
    CU_ASSERT_PTR_NULL (tm_config_secret ("TM_NO_SUCH_SECRET", buf, sizeof buf));
    unsetenv ("CREDENTIALS_DIRECTORY");
    unlink (path);
    rmdir (dir);
}

int
tm_config_tests (void)
{
    CU_pSuite suite = CU_add_suite ("config", s_suite_init, s_suite_cleanup);
    if (!suite
    ||  !CU_add_test (suite, "built-in default", test_defaults)
    ||  !CU_add_test (suite, "every README key", test_every_key)
    ||  !CU_add_test (suite, "two providers SIM and SIM2", test_two_providers)
    ||  !CU_add_test (suite, "the feed's endpoints", test_feed)
    ||  !CU_add_test (suite, "an edge's upstream", test_upstream)
    ||  !CU_add_test (suite, "unknown keys are named", test_unknown_keys)
    ||  !CU_add_test (suite, "bad values name key and value", test_bad_values)
    ||  !CU_add_test (suite, "routes built and checked", test_routes)
    ||  !CU_add_test (suite, "option roots: built in, added, checked", test_options)
    ||  !CU_add_test (suite, "environment beats the file", test_environment)
    ||  !CU_add_test (suite, "from a file", test_file)
    ||  !CU_add_test (suite, "secrets: environment, then systemd credentials", test_secret))
        return -1;
    return 0;
}
