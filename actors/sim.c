//  sim - the simulator provider actor (see sim.h)
//
//  Keeps a schedule: by time t after start it has produced rate * t ticks. Each wake-up it
//  produces what is due, in batches of up to TM_BATCH_MAX per message, so it keeps up at
//  millions of ticks a second; at a few ticks a second each message holds one tick. If it
//  falls more than a second behind (a rate above what the machine can do) it drops the debt
//  and counts it, rather than bursting forever.

#include "tickmux.h"
#include "market.h"
#include "sim.h"

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *pub;                   //  Raw ticks and status, to the normalizer
    zpoller_t *poller;              //  Pipe only: ticks are driven by deadlines
    const tm_provider_config_t *config; //  Borrowed from main
    tm_market_t *market;            //  The simulated market
    msgpack_sbuffer buf;            //  Scratch for encoding
    tm_tick_t batch [TM_BATCH_MAX]; //  Ticks being prepared
    tm_status_t status;             //  What we report about ourselves
    char (*symbols) [TM_SYMBOL_MAX];    //  Our universe, for the status
    int64_t start_ns;               //  Monotonic start of the schedule
    uint64_t produced;              //  Ticks produced on the schedule
    uint64_t skipped;               //  Ticks dropped from the schedule when behind
    uint64_t send_failures;         //  Messages the PUB refused
    int64_t connect_at_ns;          //  When CONNECTING turns CONNECTED (monotonic)
    int64_t next_status_ns;         //  Next heartbeat (monotonic)
    bool terminated;                //  $TERM received
} self_t;

#define S_STATUS_INTERVAL_NS    1000000000LL

static self_t *
s_self_new (zsock_t *pipe, const tm_provider_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->config = config;
    self->pub = tm_bus_pub_new ();
    self->poller = zpoller_new (pipe, NULL);
    zpoller_set_nonstop (self->poller, true);
    self->market = tm_market_new (config->seed, config->symbols);
    msgpack_sbuffer_init (&self->buf);
    size_t n = tm_market_size (self->market);
    self->symbols = calloc (n, TM_SYMBOL_MAX);
    assert (self->symbols);
    for (size_t i = 0; i < n; i++)
        snprintf (self->symbols [i], TM_SYMBOL_MAX, "%s", tm_market_symbol (self->market, i));
    snprintf (self->status.provider, sizeof self->status.provider, "%s", config->name);
    snprintf (self->status.kind, sizeof self->status.kind, "%s", config->kind);
    self->status.state = TM_STATE_CONNECTING;
    self->status.symbols_total = (uint32_t) n;
    self->status.symbols_count = (uint32_t) n;
    self->status.symbols = self->symbols;
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (self) {
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->pub);
        tm_market_destroy (&self->market);
        msgpack_sbuffer_destroy (&self->buf);
        free (self->symbols);
        free (self);
        *self_p = NULL;
    }
}

static void
s_publish_status (self_t *self)
{
    self->status.ts = tm_clock_now_ns ();
    self->status.messages = self->produced;
    self->status.errors = self->send_failures;
    if (tm_status_publish (self->pub, &self->status, &self->buf))
        self->send_failures++;
}

static void
s_handle_pipe (self_t *self)
{
    char *command = tm_actor_command (self->pipe, &self->terminated);
    if (command)
        zsys_error ("sim %s: unknown pipe command '%s'", self->config->name, command);
    free (command);
}

//  Produce every tick due by now, in batches. Returns ns until the next one is due.
static int64_t
s_produce (self_t *self, int64_t now)
{
    double rate = self->config->rate;
    uint64_t due = (uint64_t) ((double) (now - self->start_ns) * rate / 1e9);
    if (due > self->produced + (uint64_t) rate + TM_BATCH_MAX) {
        //  More than a second behind: forget the debt, the schedule restarts from now.
        self->skipped += due - self->produced;
        self->produced = due;
    }
    //  Bounded work per call, so the pipe is never starved.
    for (int round = 0; round < 64 && self->produced < due; round++) {
        size_t count = due - self->produced;
        if (count > TM_BATCH_MAX)
            count = TM_BATCH_MAX;
        int64_t wall = tm_clock_now_ns ();
        for (size_t i = 0; i < count; i++) {
            tm_tick_t *tick = &self->batch [i];
            tm_market_next (self->market, tick, wall);
            snprintf (tick->stream, sizeof tick->stream, "%s", self->config->name);
            snprintf (tick->provider, sizeof tick->provider, "%s", self->config->name);
            tick->recv_ts = wall;
            //  A known latency, for the analytics' tests: the exchange stamped it this early
            tick->exchange_ts -= self->config->exchange_delay_ms * 1000000;
            //  A known share of bad ticks (a negative price, which the normalizer rejects),
            //  spread evenly: tick n is bad when it carries the running share past a whole one
            double share = self->config->bad_share;
            uint64_t n = self->produced + i;
            if (share > 0 && floor ((double) (n + 1) * share) > floor ((double) n * share))
                tick->last_price = -tick->last_price;
        }
        if (tm_tick_publish (self->pub, TM_TOPIC_RAW, self->batch, count, &self->buf))
            self->send_failures++;
        self->produced += count;
    }
    if (self->produced < due)
        return 0;
    double next = (double) (self->produced + 1) * 1e9 / rate;
    int64_t wait = self->start_ns + (int64_t) next - now;
    return wait > 0 ? wait : 0;
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    //  The normalizer binds the raw bus before any provider starts (sinks first).
    return zsock_connect (self->pub, "%s", TM_BUS_RAW);
}

void
tm_sim_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_provider_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self))
        self->terminated = true;
    int64_t now = tm_clock_mono_ns ();
    self->connect_at_ns = now + self->config->connect_delay_ms * 1000000;
    self->next_status_ns = now;
    int64_t hang_at_ns = self->config->hang_after_ms ? now + self->config->hang_after_ms * 1000000
                                                     : INT64_MAX;
    while (!self->terminated) {
        now = tm_clock_mono_ns ();
        if (now >= hang_at_ns) {
            //  A hung actor, for the watchdog's tests: nothing is read or sent until a signal
            zsys_warning ("sim %s: hanging (hang_after=%" PRId64 " ms)", self->config->name,
                          self->config->hang_after_ms);
            while (!zsys_interrupted)
                zclock_sleep (50);
            hang_at_ns = INT64_MAX;
        }
        if (self->status.state == TM_STATE_CONNECTING && now >= self->connect_at_ns) {
            self->status.state = TM_STATE_CONNECTED;
            self->start_ns = now;
            self->next_status_ns = now;     //  Report the change at once
            zsys_info ("sim %s: connected seed=%" PRIu64 " rate=%.0f symbols=%zu",
                       self->config->name, self->config->seed, self->config->rate,
                       tm_market_size (self->market));
        }
        if (now >= self->next_status_ns) {
            s_publish_status (self);
            self->next_status_ns = now + S_STATUS_INTERVAL_NS;
        }
        int64_t wait = self->next_status_ns - now;
        if (self->status.state == TM_STATE_CONNECTING) {
            if (self->connect_at_ns - now < wait)
                wait = self->connect_at_ns - now;
        }
        else {
            int64_t tick_wait = s_produce (self, now);
            if (tick_wait < wait)
                wait = tick_wait;
        }
        if (wait <= 0) {
            //  Behind schedule: keep producing, but look at the pipe without blocking.
            if (zsock_events (self->pipe) & ZMQ_POLLIN)
                s_handle_pipe (self);
            continue;
        }
        //  Round up, so we wake when the tick is due rather than just before it.
        int timeout = (int) ((wait + 999999) / 1000000);
        if (zpoller_wait (self->poller, timeout) == self->pipe)
            s_handle_pipe (self);
    }
    if (self->skipped)
        zsys_warning ("sim %s: fell behind, skipped=%" PRIu64, self->config->name, self->skipped);
    s_self_destroy (&self);
}
