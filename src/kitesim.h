//  kitesim - a wire-faithful Zerodha Kite simulator on loopback (protocols/kite.md)
//
//  Serves, on one 127.0.0.1 port, the KiteTicker WebSocket (binary market-data frames, text
//  postbacks, 1-byte heartbeats) and the REST endpoints tickmux uses (/session/token,
//  /instruments, /orders, /user/profile, /quote*), byte for byte as kite.md describes, plus
//  an unauthenticated control plane under /_sim/ for tests (fault injection, order postbacks,
//  state and last-sent values). The packet encoder here is written from kite.md section 7 and
//  shares no code with the connector's decoder (actors/kite_frame.c), so tests that compare
//  the two compare two readings of the spec.
//
//  It does not do TLS, quotes history, margins or order placement: orders only come from
//  POST /_sim/order. All dates come from the injectable clock (tm_clock_now_ns), so
//  TICKMUX_FAKE_TIME pins expiries, order ids and exchange timestamps.
//
//  One lws_context in the calling thread; the caller drives it with tm_kitesim_service.

#ifndef TM_KITESIM_H_INCLUDED
#define TM_KITESIM_H_INCLUDED

#define TM_KITESIM_OPTIONS_MAX      100000  //  NFO option instruments --options may ask for
#define TM_KITESIM_RATE_MAX         1000.0  //  Ticks per second per instrument, upper bound

typedef struct {
    int port;                       //  TCP port on 127.0.0.1; 0 lets the kernel choose
    uint64_t seed;                  //  Seeds prices and walks; same seed, same market
    double rate;                    //  Ticks per second per subscribed instrument
    const char *api_key;            //  Expected api_key (borrowed)
    const char *api_secret;         //  Secret for the session checksum (borrowed)
    const char *access_token;       //  Token handed out and expected (borrowed)
    const char *request_token;      //  The one request_token /session/token accepts (borrowed)
    size_t options;                 //  How many NFO option instruments to generate
    const char *log_path;           //  JSON lines of every tick sent, or NULL (borrowed)
} tm_kitesim_config_t;

typedef struct _tm_kitesim_t tm_kitesim_t;

//  Fill config with the documented defaults (port 0, seed 1, rate 2, keys "tmkey",
//  "tmsecret", "tmaccess", "tmrequest", 3200 options, no log).
void
    tm_kitesim_config_defaults (tm_kitesim_config_t *config);

//  Build the instrument universe and start listening. The strings in config are copied.
//  On failure returns NULL and writes why into err. Caller owns return value and must
//  destroy it when done.
tm_kitesim_t *
    tm_kitesim_new (const tm_kitesim_config_t *config, char *err, size_t err_size);

//  Destroy the simulator, closing every connection, and set *self_p to NULL. Safe on NULL
//  and when repeated.
void
    tm_kitesim_destroy (tm_kitesim_t **self_p);

//  The port actually listened on (useful with port 0).
int
    tm_kitesim_port (tm_kitesim_t *self);

//  Run one pass of the event loop: waits for I/O or the next timer (at most ~250 ms) and
//  returns early when a signal interrupts it. Returns 0, or -1 when the loop is broken.
int
    tm_kitesim_service (tm_kitesim_t *self);

//  Number of instruments generated (for tests and the banner).
size_t
    tm_kitesim_instruments (tm_kitesim_t *self);

#endif
