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

//  Topic prefixes
#define TM_TOPIC_RAW        "raw."
#define TM_TOPIC_MD         "md."
#define TM_TOPIC_STATUS     "status."
#define TM_TOPIC_ORDER      "order."
#define TM_TOPIC_STATS      "stats."
#define TM_SYMBOL_END       '|'         //  Ends every symbol in a topic

//  The arbitrated stream's name, on the bus and on the wire
#define TM_STREAM_ALL       "ALL"

//  High-water mark of every inproc data link, in messages. A message may hold a batch of
//  TM_BATCH_MAX ticks (about 60 KB), so this bounds a link to about 240 MB while absorbing
//  bursts of hundreds of thousands of ticks; past it PUB drops, and
//  the receiver sees the gap in the sequence numbers and counts it.
#define TM_BUS_HWM          2000

//  Actor start-up convention: an actor signals 0 as soon as it has allocated its state (which
//  zactor_new waits for), then waits here for "START" from main, does what can fail (bind,
//  connect, listen) and answers with zsock_signal (pipe, 0 or 1), which main reads with
//  zsock_wait. Returns 0 on START, -1 on $TERM or an interrupted pipe.
int
    tm_actor_wait_start (zsock_t *pipe);

//  Main's side: send START to an actor and return its status (0 ok, else failed).
int
    tm_actor_start (zactor_t *actor);

//  Build "<prefix><stream>.<symbol>|" into buf (size >= TM_TOPIC_MAX), or the stream prefix
//  "<prefix><stream>." when symbol is NULL. Returns the length, or -1 if it does not fit.
int
    tm_bus_topic (char *buf, size_t size, const char *prefix, const char *stream,
                  const char *symbol);

#endif
