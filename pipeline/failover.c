//  failover - the ALL stream's provider per symbol and its de-duplication (see failover.h)

#include "tickmux.h"

#define S_NEW_SESSION_NS    (6LL * 3600 * 1000000000)  //  A jump this far ahead: a new day
#define S_ERRORS_MIN        3       //  Errors in one status interval before the rate counts

//  The ordering key of a tick a ring had to drop (enough to ask "is it ahead of L?")
typedef struct {
    bool valid;                     //  A tick was dropped
    int64_t volume;
    int64_t exchange_ts;
} s_lost_t;

//  One provider's side of one symbol
typedef struct {
    bool ticked;                    //  A tick of the symbol came from it
    int64_t last_mono;              //  When its last tick came
    double mean_ns;                 //  Mean interval between its ticks (EWMA), 0 until two
    int64_t unhealthy_mono;         //  Last time the symbol was judged stale on it (0: never)
    tm_tick_t *ring;                //  Its ticks ahead of L while it stood by (lazy)
    size_t ring_count;              //  Entries in ring, oldest first
    s_lost_t lost;                  //  Newest tick the ring dropped
} s_feed_t;

typedef struct {
    size_t route_count;             //  Providers on the symbol's route
    size_t route [TM_PROVIDERS_MAX];    //  Their indices, preferred first
    s_feed_t feeds [TM_PROVIDERS_MAX];  //  Per route position
    int current;                    //  Route position feeding ALL, or -1
    bool fresh;                     //  Switched: the next tick out must be ahead of L
    int64_t fresh_since;            //  When the switch happened
    bool has_last;                  //  last is valid
    tm_tick_t last;                 //  L: the last tick delivered on ALL
    uint32_t *since_count;          //  [i * route_count + j]: ticks of j since i's last
    int64_t *since_first;           //  [i * route_count + j]: when the second of them came
} s_symbol_t;

typedef struct {
    tm_state_t state;               //  Last reported
    bool error_burst;               //  Its error rate in the last status interval was too high
    bool ever_healthy;              //  It was healthy once (its first connect has no hold-down)
    bool healthy;                   //  As of its last status
    bool reported;                  //  A status arrived
    int64_t healthy_since;          //  When it last became healthy (0: its first connect)
    uint64_t messages;              //  Counts of its last status
    uint64_t errors;
} s_provider_t;

struct _tm_failover_t {
    tm_routes_t *routes;            //  Borrowed
    tm_failover_config_t config;    //  A copy
    s_provider_t providers [TM_PROVIDERS_MAX];
    zhashx_t *symbols;              //  symbol -> s_symbol_t * (owned)
    tm_tick_t *out;                 //  Output ticks
    size_t out_count;               //  Entries in out
    size_t out_cap;                 //  Allocated entries
    tm_failover_event_t *events;    //  Events not taken yet, from events_head
    size_t events_head;             //  Index of the oldest
    size_t events_count;            //  Entries after head
    size_t events_cap;              //  Allocated entries
    uint64_t dropped;               //  Ticks not delivered as duplicate or backward
    uint64_t switches;              //  FAILOVER events
    uint64_t resyncs;               //  Switches whose new provider never got ahead
    int64_t now;                    //  Time of the call in progress
};

static void
s_symbol_free (void **item_p)
{
    s_symbol_t *symbol = (s_symbol_t *) *item_p;
    if (symbol) {
        for (size_t i = 0; i < symbol->route_count; i++)
            free (symbol->feeds [i].ring);
        free (symbol->since_count);
        free (symbol->since_first);
        free (symbol);
        *item_p = NULL;
    }
}

tm_failover_t *
tm_failover_new (tm_routes_t *routes, const tm_failover_config_t *config)
{
    assert (routes && config);
    tm_failover_t *self = (tm_failover_t *) zmalloc (sizeof (tm_failover_t));
    assert (self);
    self->routes = routes;
    self->config = *config;
    for (size_t i = 0; i < TM_PROVIDERS_MAX; i++)
        self->providers [i].state = TM_STATE_CONNECTING;
    self->symbols = zhashx_new ();
    zhashx_set_destructor (self->symbols, s_symbol_free);
    return self;
}

void
tm_failover_destroy (tm_failover_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        tm_failover_t *self = *self_p;
        zhashx_destroy (&self->symbols);
        free (self->out);
        free (self->events);
        free (self);
        *self_p = NULL;
    }
}

//  ------------------------------------------------------------------------------------------
//  The rules on two ticks

static bool
s_has_volume (const tm_tick_t *a, const tm_tick_t *b)
{
    return a->volume > 0 || b->volume > 0;
}

//  T is ahead of L: more volume traded, or (where neither carries volume) a later time
static bool
s_ahead (int64_t t_volume, int64_t t_ts, const tm_tick_t *l)
{
    if (t_volume > 0 || l->volume > 0)
        return t_volume > l->volume;
    return t_ts > l->exchange_ts;
}

//  The same market content: what a client would see, not where or when it travelled
static bool
s_same_market (const tm_tick_t *a, const tm_tick_t *b)
{
    return a->fields == b->fields && a->last_price == b->last_price
        && a->last_quantity == b->last_quantity && a->volume == b->volume
        && a->open == b->open && a->high == b->high && a->low == b->low && a->close == b->close
        && a->oi == b->oi && a->bid_price == b->bid_price && a->bid_quantity == b->bid_quantity
        && a->ask_price == b->ask_price && a->ask_quantity == b->ask_quantity
        && a->bid_levels == b->bid_levels && a->ask_levels == b->ask_levels
        && memcmp (a->bids, b->bids, sizeof a->bids) == 0
        && memcmp (a->asks, b->asks, sizeof a->asks) == 0
        && memcmp (&a->greeks, &b->greeks, sizeof a->greeks) == 0
        && a->exchange_ts == b->exchange_ts;
}

//  Whether T, from the current provider, goes out after L (failover.h, Delivery)
static bool
s_deliverable (s_symbol_t *symbol, const tm_tick_t *t)
{
    const tm_tick_t *l = &symbol->last;
    if (!symbol->has_last)
        return true;
    if (symbol->fresh)
        return s_ahead (t->volume, t->exchange_ts, l);
    if (t->exchange_ts >= l->exchange_ts + S_NEW_SESSION_NS)
        return true;
    if (streq (t->provider, l->provider) && t->seq && l->seq && t->seq <= l->seq)
        return false;
    if (t->exchange_ts < l->exchange_ts || (s_has_volume (t, l) && t->volume < l->volume))
        return false;
    return !s_same_market (t, l);
}

//  ------------------------------------------------------------------------------------------
//  Output

static void
s_deliver (tm_failover_t *self, s_symbol_t *symbol, const tm_tick_t *tick)
{
    if (self->out_count == self->out_cap) {
        self->out_cap = self->out_cap ? self->out_cap * 2 : 64;
        self->out = (tm_tick_t *) realloc (self->out, self->out_cap * sizeof (tm_tick_t));
        assert (self->out);
    }
    self->out [self->out_count++] = *tick;
    symbol->last = *tick;
    symbol->has_last = true;
    symbol->fresh = false;
}

static tm_failover_event_t *
s_event_new (tm_failover_t *self, tm_failover_event_kind_t kind, const char *symbol,
             int from, size_t to)
{
    if (self->events_head + self->events_count == self->events_cap) {
        if (self->events_head) {
            memmove (self->events, self->events + self->events_head,
                     self->events_count * sizeof (tm_failover_event_t));
            self->events_head = 0;
        }
        else {
            self->events_cap = self->events_cap ? self->events_cap * 2 : 16;
            self->events = (tm_failover_event_t *) realloc (self->events,
                               self->events_cap * sizeof (tm_failover_event_t));
            assert (self->events);
        }
    }
    tm_failover_event_t *event = &self->events [self->events_head + self->events_count++];
    memset (event, 0, sizeof *event);
    event->kind = kind;
    event->out_at = self->out_count;
    snprintf (event->symbol, sizeof event->symbol, "%s", symbol);
    if (from >= 0)
        snprintf (event->from, sizeof event->from, "%s",
                  tm_routes_provider_name (self->routes, (size_t) from));
    snprintf (event->to, sizeof event->to, "%s", tm_routes_provider_name (self->routes, to));
    return event;
}

//  ------------------------------------------------------------------------------------------
//  Health and choice

static bool
s_provider_healthy (const s_provider_t *p)
{
    return p->state == TM_STATE_CONNECTED && !p->error_burst;
}

static int64_t
s_threshold (tm_failover_t *self, const s_feed_t *feed)
{
    int64_t adaptive = (int64_t) (self->config.stale_factor * feed->mean_ns);
    return adaptive > self->config.stale_floor_ns ? adaptive : self->config.stale_floor_ns;
}

//  Stale on route position i: another provider has sent two ticks or more of it since i's
//  last, the second of them longer ago than i's threshold. One tick of another since i's last
//  is its copy of i's (providers in step, one a little later); in a quiet market nobody ticks.
static bool
s_stale (tm_failover_t *self, s_symbol_t *symbol, size_t i, int64_t now)
{
    if (!symbol->since_count)
        return false;
    int64_t threshold = s_threshold (self, &symbol->feeds [i]);
    size_t row = i * symbol->route_count;
    for (size_t j = 0; j < symbol->route_count; j++)
        if (j != i && symbol->since_count [row + j] >= 2
        &&  now - symbol->since_first [row + j] > threshold)
            return true;
    return false;
}

//  Why route position i cannot feed the symbol, or NULL when it can
static const char *
s_unhealthy (tm_failover_t *self, s_symbol_t *symbol, size_t i, int64_t now)
{
    s_provider_t *p = &self->providers [symbol->route [i]];
    if (p->state != TM_STATE_CONNECTED)
        return tm_state_name (p->state);
    if (p->error_burst)
        return "ERRORS";
    if (s_stale (self, symbol, i, now)) {
        symbol->feeds [i].unhealthy_mono = now;
        return "SYMBOL_STALE";
    }
    return NULL;
}

//  Since when route position i has been fit to feed the symbol
static int64_t
s_healthy_since (tm_failover_t *self, s_symbol_t *symbol, size_t i)
{
    int64_t a = self->providers [symbol->route [i]].healthy_since;
    int64_t b = symbol->feeds [i].unhealthy_mono;
    return a > b ? a : b;
}

static void
s_switch (tm_failover_t *self, const char *name, s_symbol_t *symbol, size_t to,
          const char *reason)
{
    int from = symbol->current;
    symbol->current = (int) to;
    if (from >= 0) {
        tm_failover_event_t *event = s_event_new (self, TM_FAILOVER_EVENT_SWITCH, name,
                                                  (int) symbol->route [from],
                                                  symbol->route [to]);
        snprintf (event->reason, sizeof event->reason, "%s", reason);
        self->switches++;
    }
    symbol->fresh = symbol->has_last;
    symbol->fresh_since = self->now;
    //  What the new provider sent ahead of L while it stood by goes out first
    s_feed_t *feed = &symbol->feeds [to];
    bool gap = symbol->has_last && feed->lost.valid
            && s_ahead (feed->lost.volume, feed->lost.exchange_ts, &symbol->last);
    int64_t since = symbol->last.exchange_ts;
    bool first = true;
    for (size_t k = 0; k < feed->ring_count; k++) {
        const tm_tick_t *tick = &feed->ring [k];
        if (symbol->has_last && !s_ahead (tick->volume, tick->exchange_ts, &symbol->last))
            continue;
        if (gap && first) {
            tm_failover_event_t *event = s_event_new (self, TM_FAILOVER_EVENT_GAP, name,
                                                      from >= 0 ? (int) symbol->route [from]
                                                                : -1,
                                                      symbol->route [to]);
            snprintf (event->reason, sizeof event->reason, "STANDBY_OVERFLOW");
            event->since_ts = since;
            event->until_ts = tick->exchange_ts;
        }
        first = false;
        s_deliver (self, symbol, tick);
    }
    feed->ring_count = 0;
    feed->lost.valid = false;
}

//  Judge a symbol and switch when its rules say so
static void
s_evaluate (tm_failover_t *self, const char *name, s_symbol_t *symbol, int64_t now)
{
    const char *why [TM_PROVIDERS_MAX] = { NULL };
    for (size_t i = 0; i < symbol->route_count; i++)
        why [i] = s_unhealthy (self, symbol, i, now);
    int current = symbol->current;
    if (current >= 0 && !why [current]) {
        //  Healthy where we are: back to a preferred provider only after its hold-down
        for (int i = 0; i < current; i++)
            if (!why [i] && now - s_healthy_since (self, symbol, (size_t) i)
                            >= self->config.hold_down_ns) {
                s_switch (self, name, symbol, (size_t) i, "RECOVERED");
                return;
            }
        return;
    }
    for (size_t i = 0; i < symbol->route_count; i++)
        if (!why [i] && (int) i != current) {
            s_switch (self, name, symbol, i, current >= 0 ? why [current] : "");
            return;
        }
}

//  ------------------------------------------------------------------------------------------
//  Input

static s_symbol_t *
s_symbol_get (tm_failover_t *self, const char *name, int64_t now)
{
    s_symbol_t *symbol = (s_symbol_t *) zhashx_lookup (self->symbols, name);
    if (!symbol) {
        symbol = (s_symbol_t *) zmalloc (sizeof (s_symbol_t));
        assert (symbol);
        symbol->route_count = tm_routes_lookup (self->routes, name, symbol->route,
                                                TM_PROVIDERS_MAX);
        symbol->current = -1;
        size_t n = symbol->route_count;
        if (n > 1) {
            symbol->since_count = (uint32_t *) calloc (n * n, sizeof (uint32_t));
            symbol->since_first = (int64_t *) calloc (n * n, sizeof (int64_t));
            assert (symbol->since_count && symbol->since_first);
        }
        zhashx_insert (self->symbols, name, symbol);
    }
    return symbol;
}

static int
s_position (const s_symbol_t *symbol, size_t provider)
{
    for (size_t i = 0; i < symbol->route_count; i++)
        if (symbol->route [i] == provider)
            return (int) i;
    return -1;
}

//  A standby's tick ahead of L waits in its ring; a full ring drops its oldest
static void
s_ring_push (s_feed_t *feed, const tm_tick_t *tick)
{
    if (!feed->ring) {
        feed->ring = (tm_tick_t *) malloc (TM_FAILOVER_RING * sizeof (tm_tick_t));
        assert (feed->ring);
    }
    if (feed->ring_count == TM_FAILOVER_RING) {
        feed->lost = (s_lost_t) { true, feed->ring [0].volume, feed->ring [0].exchange_ts };
        memmove (feed->ring, feed->ring + 1, (TM_FAILOVER_RING - 1) * sizeof (tm_tick_t));
        feed->ring_count--;
    }
    feed->ring [feed->ring_count++] = *tick;
}

void
tm_failover_tick (tm_failover_t *self, const tm_tick_t *tick, int64_t now)
{
    assert (self && tick);
    int provider = tm_routes_provider_index (self->routes, tick->provider);
    if (provider < 0)
        return;
    self->now = now;
    s_symbol_t *symbol = s_symbol_get (self, tick->symbol, now);
    int at = s_position (symbol, (size_t) provider);
    if (at < 0)
        return;                     //  Not on the symbol's route: never on ALL
    s_feed_t *feed = &symbol->feeds [at];
    bool was_stale = s_stale (self, symbol, (size_t) at, now);
    if (feed->ticked) {
        double interval = (double) (now - feed->last_mono);
        feed->mean_ns = feed->mean_ns > 0 ? 0.875 * feed->mean_ns + 0.125 * interval : interval;
    }
    feed->ticked = true;
    feed->last_mono = now;
    //  Back in step with the others: its hold-down counts from here when it was stale
    if (was_stale)
        feed->unhealthy_mono = now;
    if (symbol->since_count) {
        size_t n = symbol->route_count;
        memset (symbol->since_count + (size_t) at * n, 0, n * sizeof (uint32_t));
        for (size_t i = 0; i < n; i++)
            if ((int) i != at && ++symbol->since_count [i * n + (size_t) at] == 2)
                symbol->since_first [i * n + (size_t) at] = now;
    }
    s_evaluate (self, tick->symbol, symbol, now);
    if (symbol->current == at) {
        if (s_deliverable (symbol, tick))
            s_deliver (self, symbol, tick);
        else
        if (symbol->fresh && now - symbol->fresh_since > s_threshold (self, feed)) {
            //  The new provider never got ahead of the old one's last tick: they disagree on
            //  volume or time. Better its stream as it is than a silent symbol.
            s_deliver (self, symbol, tick);
            self->resyncs++;
        }
        else
            self->dropped++;
    }
    else
    if (symbol->route_count > 1
    &&  (!symbol->has_last || s_ahead (tick->volume, tick->exchange_ts, &symbol->last)))
        s_ring_push (feed, tick);
}

void
tm_failover_status (tm_failover_t *self, size_t provider, tm_state_t state,
                    uint64_t messages, uint64_t errors, int64_t now)
{
    assert (self && provider < TM_PROVIDERS_MAX);
    s_provider_t *p = &self->providers [provider];
    uint64_t new_errors = p->reported && errors >= p->errors ? errors - p->errors : 0;
    uint64_t new_messages = p->reported && messages >= p->messages ? messages - p->messages : 0;
    //  Connectors count every upstream message, bad ones included, in messages
    uint64_t base = new_messages > new_errors ? new_messages : new_errors;
    p->error_burst = new_errors >= S_ERRORS_MIN
                  && (double) new_errors > self->config.error_rate * (double) base;
    p->state = state;
    p->messages = messages;
    p->errors = errors;
    p->reported = true;
    bool healthy = s_provider_healthy (p);
    if (healthy && !p->healthy)
        //  Its first connect has nothing to hold down
        p->healthy_since = p->ever_healthy ? now : 0;
    p->healthy = healthy;
    p->ever_healthy |= healthy;
    tm_failover_check (self, now);
}

void
tm_failover_check (tm_failover_t *self, int64_t now)
{
    assert (self);
    self->now = now;
    for (s_symbol_t *symbol = (s_symbol_t *) zhashx_first (self->symbols); symbol;
         symbol = (s_symbol_t *) zhashx_next (self->symbols))
        s_evaluate (self, (const char *) zhashx_cursor (self->symbols), symbol, now);
}

//  ------------------------------------------------------------------------------------------
//  Results

tm_tick_t *
tm_failover_output (tm_failover_t *self, size_t *count)
{
    assert (self && count);
    *count = self->out_count;
    return self->out;
}

void
tm_failover_output_clear (tm_failover_t *self)
{
    assert (self);
    self->out_count = 0;
}

bool
tm_failover_next_event (tm_failover_t *self, tm_failover_event_t *event)
{
    assert (self && event);
    if (self->events_count == 0)
        return false;
    *event = self->events [self->events_head++];
    if (--self->events_count == 0)
        self->events_head = 0;
    return true;
}

int
tm_failover_current (tm_failover_t *self, const char *name)
{
    assert (self && name);
    s_symbol_t *symbol = (s_symbol_t *) zhashx_lookup (self->symbols, name);
    return symbol && symbol->current >= 0 ? (int) symbol->route [symbol->current] : -1;
}

uint64_t
tm_failover_dropped (tm_failover_t *self)
{
    assert (self);
    return self->dropped;
}

uint64_t
tm_failover_switches (tm_failover_t *self)
{
    assert (self);
    return self->switches;
}

uint64_t
tm_failover_resyncs (tm_failover_t *self)
{
    assert (self);
    return self->resyncs;
}
