//  failover - which provider feeds each symbol's ALL stream, and what of its ticks go out
//
//  A plain class (no threads, no sockets) that the arbiter wraps; time is passed in
//  (monotonic ns), so the rules are tested on scripted sequences. The rules, also in the
//  README ("Failover"):
//
//  Health of a provider: CONNECTED, and its error rate over the last status interval (errors /
//  messages, each status heartbeat; messages count the bad ones too) at most error_rate (with
//  at least 3 errors).
//  Health of a (provider, symbol): the provider is healthy, and the symbol is not stale on it.
//  A symbol is stale on a provider when another provider on its route has sent two ticks of
//  it or more since this one's last, the second of them longer ago than max (stale_floor,
//  stale_factor x this provider's own mean interval between ticks of it). One tick of another
//  is its copy of the same trade; a quiet market is quiet everywhere, so a quiet symbol is
//  never stale, and a provider lagging by less than that is not either. Activity counts, not
//  content: providers need not agree on volume for this.
//
//  Choice: the first healthy provider on the symbol's route. Away from the current one at once
//  when it is unhealthy; back to a preferred one only when it has been healthy for hold_down.
//
//  Delivery (L = the last tick delivered on ALL for the symbol, T = the candidate from the
//  current provider):
//  - right after a switch, until one tick of the new provider has gone out, T must be ahead
//    of L: a larger cumulative volume when both carry volume, else a later exchange time
//    (when none is within the new provider's stale threshold, the providers disagree on
//    volume or time, and its stream is taken as it is: a resync);
//  - otherwise T is dropped when it repeats L exactly (same market content), comes in its
//    provider's own stream order before L (src_seq), or goes backward (earlier exchange time,
//    or smaller volume), unless its exchange time is 6 h past L's: a new session.
//  At a switch, the new provider's ticks that arrived ahead of L while it stood by (at most
//  TM_FAILOVER_RING of them) go out first, in order; when more than that arrived, the oldest
//  were lost and a GAP event says so.

#ifndef TM_FAILOVER_H_INCLUDED
#define TM_FAILOVER_H_INCLUDED

#define TM_FAILOVER_RING    8       //  Standby ticks kept per (provider, symbol)
#define TM_FAILOVER_OUT_MAX (TM_FAILOVER_RING + 1)  //  Ticks one call may release
#define TM_REASON_SHORT     24      //  FAILOVER reason, with the NUL

typedef struct {
    int64_t hold_down_ns;           //  Preferred provider healthy this long before we go back
    int64_t stale_floor_ns;         //  Never stale sooner than this
    double stale_factor;            //  Stale after this many of the symbol's mean intervals
    double error_rate;              //  Error share above which a provider is unhealthy
} tm_failover_config_t;

#define TM_FAILOVER_HOLD_DOWN_MS    5000
#define TM_FAILOVER_STALE_FLOOR_MS  1000
#define TM_FAILOVER_STALE_FACTOR    5.0
#define TM_FAILOVER_ERROR_RATE      0.05

typedef enum {
    TM_FAILOVER_EVENT_SWITCH = 1,   //  FAILOVER: the symbol's ALL stream changed provider
    TM_FAILOVER_EVENT_GAP           //  GAP: ticks between since_ts and until_ts were lost
} tm_failover_event_kind_t;

typedef struct {
    tm_failover_event_kind_t kind;
    char symbol [TM_SYMBOL_MAX];
    char from [TM_PROVIDER_MAX];    //  Provider left ("" when none fed it)
    char to [TM_PROVIDER_MAX];      //  Provider taken
    char reason [TM_REASON_SHORT];  //  DISCONNECTED, STALE, ERRORS, SYMBOL_STALE, RECOVERED...
    int64_t since_ts;               //  GAP: exchange time of the last tick delivered
    int64_t until_ts;               //  GAP: exchange time of the first tick after the gap
    size_t out_at;                  //  Its place in the output: it goes before that tick
} tm_failover_event_t;

typedef struct _tm_failover_t tm_failover_t;

//  A failover table over routes (borrowed: it must outlive self). Caller owns return value
//  and must destroy it when done.
tm_failover_t *
    tm_failover_new (tm_routes_t *routes, const tm_failover_config_t *config);

//  Destroy and set *self_p to NULL. Safe on NULL and when repeated.
void
    tm_failover_destroy (tm_failover_t **self_p);

//  A status of provider index: its state and its cumulative message and error counts.
//  Symbols whose provider became unhealthy switch at once.
void
    tm_failover_status (tm_failover_t *self, size_t provider, tm_state_t state,
                        uint64_t messages, uint64_t errors, int64_t now);

//  A tick from a provider's own stream (tick->provider names it). What goes out on ALL is
//  appended to the output (tm_failover_output).
void
    tm_failover_tick (tm_failover_t *self, const tm_tick_t *tick, int64_t now);

//  Judge every symbol again: staleness and hold-down expiry. Call it often (the arbiter
//  does every few ms); switches it makes release ticks and events like the calls above.
void
    tm_failover_check (tm_failover_t *self, int64_t now);

//  Ticks to publish on ALL since the last tm_failover_output_clear, oldest first, stream and
//  seq as the provider gave them (the arbiter sets both). Sets *count.
tm_tick_t *
    tm_failover_output (tm_failover_t *self, size_t *count);

void
    tm_failover_output_clear (tm_failover_t *self);

//  The oldest event not taken yet. Returns false when there is none. Its out_at is the index
//  in the output it belongs before (publish the ticks before it, then it, then the rest:
//  a client learns of a switch before the new provider's ticks).
bool
    tm_failover_next_event (tm_failover_t *self, tm_failover_event_t *event);

//  The provider feeding symbol's ALL stream now, or -1 (none, or symbol never seen).
int
    tm_failover_current (tm_failover_t *self, const char *symbol);

//  Counters: ticks dropped as duplicates or backward, switches, resyncs.
uint64_t
    tm_failover_dropped (tm_failover_t *self);
uint64_t
    tm_failover_switches (tm_failover_t *self);
uint64_t
    tm_failover_resyncs (tm_failover_t *self);

#endif
