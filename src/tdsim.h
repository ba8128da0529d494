//  tdsim - a wire-faithful TrueData real-time WebSocket simulator on loopback
//  (protocols/truedata.md)
//
//  Serves, on one 127.0.0.1 port, the TrueData JSON feed at any path: login through the
//  `user` and `password` query parameters, the welcome message, addsymbol / removesymbol /
//  getmarketstatus, `trade` and `bidask` data messages, `greeks` after each option trade
//  (Black-Scholes at the underlying's price), and a HeartBeat every few seconds,
//  as truedata.md sections 1 to 5 and 10 describe. Next to it, an unauthenticated HTTP
//  control plane under /_sim/ for tests (fault injection, state, last values sent), and on
//  request a JSON-lines log of every market message queued to a session. The
//  message encoder here is written from the spec and shares no code with the connector's
//  decoder (actors/truedata_msg.c), so tests that compare the two compare two readings.
//
//  It does not do TLS, the binary (LZ4) mode, bars, BSE L2 depth or any of the REST
//  side-services. Market hours are not enforced: subscribed symbols tick at all hours. All
//  dates come from the injectable clock (tm_clock_now_ns), so TICKMUX_FAKE_TIME pins option
//  expiries, timestamps and the validity date; a configured delay puts every exchange
//  timestamp that many milliseconds behind that clock, so latency tests know the truth.
//
//  The market is a function of the seed, the rate, the bid/ask setting and the clock: every
//  symbol's events happen at set instants from 09:15 IST of the clock's day (from midnight
//  IST when started before 09:15), carry stamps of those instants, and go on while nobody
//  listens. Two simulators given those and one clock (TICKMUX_FAKE_TIME with "@REAL") send
//  the same events with the same stamps, however far apart they started, were restarted or
//  were silenced; the events of a silence are never sent.
//
//  One lws_context in the calling thread; the caller drives it with tm_tdsim_service.

#ifndef TM_TDSIM_H_INCLUDED
#define TM_TDSIM_H_INCLUDED

#define TM_TDSIM_RATE_MAX           1000.0  //  Ticks per second per symbol, upper bound
#define TM_TDSIM_SYMBOLS_MAX        100000  //  Largest --max-symbols
#define TM_TDSIM_HEARTBEAT_MIN_MS   10      //  Shortest --heartbeat-ms
#define TM_TDSIM_HEARTBEAT_MAX_MS   3600000 //  Longest --heartbeat-ms
#define TM_TDSIM_DELAY_MAX_MS       600000  //  Longest --delay-ms

typedef struct {
    int port;                       //  TCP port on 127.0.0.1; 0 lets the kernel choose
    uint64_t seed;                  //  Seeds prices and walks; same seed, same market
                                    //  (with the same rate and bidask, on one clock)
    double rate;                    //  Ticks per second per subscribed symbol
    const char *user;               //  Expected `user` (borrowed)
    const char *password;           //  Expected `password` (borrowed)
    size_t max_symbols;             //  maxsymbols of the welcome, enforced per session
    int heartbeat_ms;               //  Period of the HeartBeat message
    bool bidask;                    //  19-element trades and bidask messages, else 15
    bool greeks;                    //  A greeks message after every option trade
    int delay_ms;                   //  Exchange timestamps lag the clock by this much
    const char *log_path;           //  JSON lines of every market message sent, or NULL
                                    //  (borrowed; opened for appending by tm_tdsim_new)
} tm_tdsim_config_t;

typedef struct _tm_tdsim_t tm_tdsim_t;

//  Fill config with the documented defaults (port 0, seed 1, rate 2, user "tmuser",
//  password "tmpass", 5000 symbols, heartbeat 5000 ms, bid/ask and greeks on, no delay,
//  no log).
void
    tm_tdsim_config_defaults (tm_tdsim_config_t *config);

//  Build the symbol universe, open the log if one is named, and start listening. The strings
//  in config are copied (log_path is only read here). On failure (a value out of range, a
//  log that cannot be opened, a port that cannot be bound) returns NULL and writes why into
//  err. Caller owns return value and must destroy it when done; destroying closes the log.
tm_tdsim_t *
    tm_tdsim_new (const tm_tdsim_config_t *config, char *err, size_t err_size);

//  Destroy the simulator, closing every connection, and set *self_p to NULL. Safe on NULL
//  and when repeated.
void
    tm_tdsim_destroy (tm_tdsim_t **self_p);

//  The port actually listened on (useful with port 0).
int
    tm_tdsim_port (tm_tdsim_t *self);

//  Run one pass of the event loop: waits for I/O or the next timer (at most ~250 ms) and
//  returns early when a signal interrupts it. Returns 0, or -1 when the loop is broken.
int
    tm_tdsim_service (tm_tdsim_t *self);

//  Number of symbols in the universe (for tests and the banner).
size_t
    tm_tdsim_symbols (tm_tdsim_t *self);

#endif
