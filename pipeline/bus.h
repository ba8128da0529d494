//  bus.h - every inproc endpoint and topic prefix, in one place
//
//  A data message is two frames: [topic][msgpack body]. The body is one map, or an array of
//  maps (a batch) when a link has a backlog. Topics are built so that one stream and one
//  symbol of one stream are both a single prefix:
//
//      md.ALL.NIFTY-I|         the arbitrated stream, one symbol ('|' ends every symbol, so
//      md.SIM.NIFTY-I|         a provider's own stream       NIFTY-I never matches NIFTY-II)
//      raw.SIM.                raw ticks of one provider, before the normalizer
//      status.SIM              provider status (state, counters, its symbol universe)
//
//  A batch's topic is the longest prefix its ticks share: the full symbol topic when they
//  all have one symbol, else the stream prefix ("md.SIM."). Subscribers that want one symbol
//  therefore subscribe to its stream prefix on the inproc bus and filter; the public feed
//  (issue 7) publishes one symbol per message.

#ifndef TM_BUS_H_INCLUDED
#define TM_BUS_H_INCLUDED

//  Endpoints (inproc, one per data link; each is bound by its producer)
#define TM_BUS_RAW          "inproc://tickmux-raw"      //  connectors -> normalizer
#define TM_BUS_NORM         "inproc://tickmux-norm"     //  normalizer -> arbiter, gateway
#define TM_BUS_MD           "inproc://tickmux-md"       //  arbiter -> gateway (ALL stream)
#define TM_BUS_STATS        "inproc://tickmux-stats"    //  analytics -> gateway (stats.<PROVIDER>)
#define TM_BUS_FEED         "inproc://tickmux-feed"     //  feed -> gateway (hb., its counters);
                                                        //  on an edge, upstream -> gateway
//  Upstream demand, a ROUTER bound by the arbiter. Multi-frame string messages:
//    gateway -> arbiter     [WANT][stream][symbol]... / [DROP][stream][symbol]...  (stream: ALL
//                           or an instance; when the first client takes / the last one leaves)
//    gateway -> arbiter     [LOGIN][provider][request_token]   (a broker login's callback)
//    connector -> arbiter   [HELLO][provider]     (the arbiter answers with all it wants of it)
//    arbiter -> connector   [WANT][symbol]... / [DROP][symbol]... / [LOGIN][request_token]
#define TM_BUS_DEMAND       "inproc://tickmux-demand"
//  Demand messages are few but must not be lost or block: their sockets get a high-water mark
//  of this many messages and never wait to send (a refused send is logged).
#define TM_DEMAND_HWM       100000

//  Topic prefixes
#define TM_TOPIC_RAW        "raw."
#define TM_TOPIC_MD         "md."
#define TM_TOPIC_STATUS     "status."
#define TM_TOPIC_ORDER      "order."
#define TM_TOPIC_STATS      "stats."
#define TM_TOPIC_EVENT      "event."    //  FAILOVER and GAP: event.ALL.<symbol>|
#define TM_TOPIC_HEARTBEAT  "hb."       //  The public feed's heartbeat, once a second
#define TM_TOPIC_UPSTREAM   "upstream." //  An edge's link to its core (TM_BUS_FEED only)
#define TM_SYMBOL_END       '|'         //  Ends every symbol in a topic

//  The arbitrated stream's name, on the bus and on the wire
#define TM_STREAM_ALL       "ALL"

//  High-water mark of every inproc data link, in messages. A message may hold a batch of
//  TM_BATCH_MAX ticks (about 60 KB), so this bounds a link to about 240 MB while absorbing
//  bursts of hundreds of thousands of ticks; past it PUB drops, and
//  the receiver sees the gap in the sequence numbers and counts it.
#define TM_BUS_HWM          2000

//  Actor start-up convention: an actor signals 0 as soon as it has allocated its state (which
//  zactor_new waits for), then waits for "START" from main, does what can fail (bind, connect,
//  listen) and answers with zsock_signal (pipe, 0 or 1), which main reads in tm_actor_start.
//  tm_actor_handshake does the actor's side: it calls start (self) on START and returns 0 when
//  that succeeded and the actor should run, -1 when it failed or $TERM came first.
typedef int (tm_actor_start_fn) (void *self);
int
    tm_actor_handshake (zsock_t *pipe, tm_actor_start_fn *start, void *self);

//  Read one pipe command. Returns the verb (caller owns it, free with free ()), or NULL when
//  it was $TERM or the pipe was interrupted, after setting *terminated. "PING" (main's
//  liveness check for the watchdog) is answered "PONG" here, and also returns NULL.
char *
    tm_actor_command (zsock_t *pipe, bool *terminated);

//  Main's side: send START to an actor and return its status (0 ok, else failed).
int
    tm_actor_start (zactor_t *actor);

//  Send [topic][body] on a PUB socket. Returns 0, or -1 if the socket refused (the message is
//  dropped; the caller counts it).
int
    tm_bus_send (zsock_t *pub, const char *topic, const void *body, size_t size);

//  True if a message's topic frame starts with prefix
bool
    tm_bus_topic_is (zframe_t *topic, const char *prefix);

//  Item destructors for zhashx / zlistx: a zframe_t, and anything malloc'd
void
    tm_bus_frame_free (void **item_p);
void
    tm_bus_item_free (void **item_p);

//  A PUB for a data link, with TM_BUS_HWM. Caller owns it (zsock_destroy).
zsock_t *
    tm_bus_pub_new (void);

//  A SUB for a data link, with TM_BUS_HWM, subscribed to each topic prefix of the
//  NULL-terminated list. Caller owns it (zsock_destroy).
zsock_t *
    tm_bus_sub_new (const char *topic, ...);

//  Reconnect delay after `attempts` failures in a row: base_ms doubling up to cap_ms, with
//  +-25 % jitter so many clients do not reconnect in step after an outage.
int64_t
    tm_backoff_ms (unsigned attempts, int64_t base_ms, int64_t cap_ms);

//  Append text to the NUL-terminated out (of size bytes), percent-encoding every byte but
//  RFC 3986's unreserved characters, as a URL query or a form body needs. Stops short rather
//  than overflow.
void
    tm_url_append (char *out, size_t size, const char *text);

//  Sequence counters by key (a symbol, a provider-symbol pair): a hash that owns its counters.
//  tm_seqs_next returns the key's next number, 1 for a key never seen.
//  Caller owns the hash and destroys it with zhashx_destroy.
zhashx_t *
    tm_seqs_new (void);
uint64_t
    tm_seqs_next (zhashx_t *seqs, const char *key);

//  Build "<prefix><stream>.<symbol>|" into buf (size >= TM_TOPIC_MAX), or the stream prefix
//  "<prefix><stream>." when symbol is NULL. Returns the length, or -1 if it does not fit.
int
    tm_bus_topic (char *buf, size_t size, const char *prefix, const char *stream,
                  const char *symbol);

#endif
