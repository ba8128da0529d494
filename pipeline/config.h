//  config - the daemon's configuration: built-in default, ZPL file, environment, command line
//
//  Precedence: command line > environment > config file > built-in default (DESIGN.md 9).
//  The built-in default needs no file: one simulator provider SIM, gateway on 127.0.0.1:8002.
//  Every value is checked here, so actors receive a configuration that is already valid.
//  Secrets are never stored in this struct's printable fields and never logged.

#ifndef TM_CONFIG_H_INCLUDED
#define TM_CONFIG_H_INCLUDED

#include <limits.h>

#define TM_PATH_MAX         512

typedef struct {
    char name [TM_PROVIDER_MAX];    //  Instance name, what "provider" carries on the wire
    char kind [TM_PROVIDER_MAX];    //  SIM, ZERODHA or TRUEDATA
    uint64_t seed;                  //  SIM: seed of the simulated market
    double rate;                    //  SIM: ticks per second over all symbols
    size_t symbols;                 //  SIM: how many symbols of the universe (0: all)
    int64_t connect_delay_ms;       //  SIM: stay CONNECTING this long first (tests, demos)
    int64_t hang_after_ms;          //  SIM: stop answering after this long (watchdog tests; 0 never)
    int64_t exchange_delay_ms;      //  SIM: stamp exchange times this far in the past (tests)
    double bad_share;               //  SIM: this share of its ticks is bad (tests)
    char ws_url [TM_PATH_MAX];      //  ZERODHA: ticker URL ("" = ZERODHA_WS_URL or Kite's);
                                    //  TRUEDATA: feed URL ("" = TRUEDATA_URL / _PORT)
    char api_url [TM_PATH_MAX];     //  ZERODHA: REST root ("" = ZERODHA_API_URL or Kite's)
    char state_dir [TM_PATH_MAX];   //  The daemon's state directory (a copy, for the token)
} tm_provider_config_t;

//  What a client that reads too slowly loses once its queue is full (gateway/slow_policy)
typedef enum {
    TM_SLOW_CONFLATE = 0,           //  Only the newest tick per symbol waits (and the oldest goes)
    TM_SLOW_DROP_OLDEST,            //  The oldest market data goes
    TM_SLOW_DISCONNECT,             //  The client is closed with 4008
    TM_SLOW_POLICIES
} tm_slow_policy_t;

//  "conflate", "drop_oldest", "disconnect"; parse returns 0 or -1
const char *
    tm_slow_policy_name (tm_slow_policy_t policy);
int
    tm_slow_policy_parse (const char *name, tm_slow_policy_t *policy);

//  An API token (client authentication): the token itself is never kept, only its SHA-256
#define TM_TOKENS_MAX           64
#define TM_TOKEN_NAME_MAX       32
#define TM_API_TOKEN_MAX        256     //  Longest API token a client may present
typedef struct {
    char name [TM_TOKEN_NAME_MAX];  //  For logs and metrics (A-Z a-z 0-9 _ -), never the token
    unsigned char hash [32];        //  SHA-256 of the token
    char (*symbols) [TM_SYMBOL_MAX];    //  Allowed symbols, "X*" a prefix (owned); NULL: any
    size_t symbols_count;
    char streams [TM_PROVIDERS_MAX + 1][TM_PROVIDER_MAX];   //  Allowed streams (ALL, P)
    size_t streams_count;           //  0: any
    bool orders;                    //  May take the ORDERS channel (order updates are private)
    bool has_slow_policy;           //  slow_policy below overrides the gateway's
    tm_slow_policy_t slow_policy;
} tm_token_t;

typedef struct {
    char role [16];                 //  "core" or "gateway" (an edge on a core's feed)
    char upstream [TM_PATH_MAX];    //  Role gateway: the core's feed (XPUB) endpoint
    char upstream_snapshot [TM_PATH_MAX];   //  Its snapshot ROUTER ("" = the feed's port + 1)
    char upstream_curve_cert [TM_PATH_MAX];     //  CURVE: our client certificate ("" = plain)
    char upstream_curve_server [TM_PATH_MAX];   //  CURVE: the core's public certificate
    int port;                       //  Gateway TCP port (0: any free port, logged)
    char interface [64];            //  Gateway listen address
    char state_dir [TM_PATH_MAX];   //  State directory, resolved
    char fake_time [64];            //  Injectable clock start, tests only ("" = real)
    size_t max_subscriptions;       //  Per client
    size_t max_message;             //  Largest client text message, bytes (close 1009 past it)
    size_t queue_bytes;             //  Per-client outgoing queue bound, bytes
    tm_slow_policy_t slow_policy;   //  When that queue is full
    size_t socket_buffer;           //  SO_SNDBUF of each client's socket (0: the kernel's)
    size_t max_connections;         //  WebSocket clients in all (503 past it)
    size_t max_connections_per_ip;  //  From one address (429 past it)
    double max_rate;                //  Messages a second per client (a token bucket, 2 s deep)
    bool protect_health;            //  /ws/health, /ws/stats and /metrics need a token too
    char tls_cert [TM_PATH_MAX];    //  TLS: certificate chain, PEM ("" = plain ws:// http://)
    char tls_key [TM_PATH_MAX];     //  TLS: its private key, PEM
    size_t tokens_count;            //  Entries in tokens; 0: no authentication
    tm_token_t tokens [TM_TOKENS_MAX];
    char www_dir [TM_PATH_MAX];     //  Dashboard files ("" when none was found)
    char feed_bind [TM_PATH_MAX];   //  The public feed's XPUB endpoint ("" = no feed)
    char feed_snapshot [TM_PATH_MAX];   //  Its snapshot ROUTER endpoint
    char feed_curve_cert [TM_PATH_MAX];     //  CURVE: the server certificate ("" = plain)
    char feed_curve_clients [TM_PATH_MAX];  //  CURVE: directory of allowed client certificates
    size_t providers_count;         //  Entries in providers
    tm_provider_config_t providers [TM_PROVIDERS_MAX];
    tm_routes_t *routes;            //  Route table over the providers (owned)
    tm_failover_config_t failover;  //  The arbiter's rules (arbiter block)
    size_t options_count;           //  Entries in options
    tm_option_root_t options [TM_OPTION_ROOTS_MAX];   //  Option chain roots (option blocks)
} tm_config_t;

//  Defaults of the knobs above
#define TM_DEFAULT_PORT             8002
#define TM_DEFAULT_INTERFACE        "127.0.0.1"
#define TM_DEFAULT_MAX_SUBS         1000
#define TM_DEFAULT_MAX_MESSAGE      (64 * 1024)
#define TM_DEFAULT_QUEUE_BYTES      (128 * 1024)
#define TM_DEFAULT_SOCKET_BUFFER    (128 * 1024)
#define TM_DEFAULT_MAX_CONNECTIONS  20000
#define TM_DEFAULT_MAX_PER_IP       1000
#define TM_DEFAULT_MAX_RATE         200.0
#define TM_DEFAULT_SIM_RATE         200.0
#define TM_DEFAULT_FEED_BIND        "tcp://127.0.0.1:5556"
#define TM_DEFAULT_FEED_SNAPSHOT    "tcp://127.0.0.1:5557"
#define TM_DEFAULT_SIM_SEED         1
#define TM_SIM_RATE_MAX             10000000.0

//  Load a configuration. path NULL means no file (the built-in default, then environment).
//  Caller owns return value and must destroy it when done. On failure returns NULL and
//  writes why into err, naming the key and the value that is wrong.
tm_config_t *
    tm_config_load (const char *path, char *err, size_t err_size);

//  Load from ZPL text in memory (tests). Same contract as tm_config_load.
tm_config_t *
    tm_config_load_text (const char *text, char *err, size_t err_size);

//  Destroy and set *self_p to NULL. Safe on NULL.
void
    tm_config_destroy (tm_config_t **self_p);

//  A secret (ZERODHA_API_SECRET, TRUEDATA_PASSWORD, ...): the environment variable of that
//  name, else the systemd credential of that name ($CREDENTIALS_DIRECTORY/NAME, from a
//  LoadCredential=NAME:/path line; its first line, without the newline). Copies it into buf
//  and returns buf, or returns NULL when neither is set or it does not fit. Never logged.
#define TM_SECRET_MAX       256
const char *
    tm_config_secret (const char *name, char *buf, size_t size);

//  The option root of that name ("NIFTY"), or NULL. Borrowed from self.
const tm_option_root_t *
    tm_config_option (const tm_config_t *self, const char *name);

//  SHA-256 of a token, as a token block's sha256 holds it
void
    tm_config_hash_token (const char *token, size_t len, unsigned char hash [32]);

//  Index of a provider instance by name, or -1.
int
    tm_config_provider_index (const tm_config_t *self, const char *name);

#endif
