//  feed - the public ZeroMQ feed: XPUB on TCP and a snapshot ROUTER beside it (schemas/feed.md)
//
//  Subscribes the ALL stream and its events (TM_BUS_MD), the providers' streams, status and
//  orders (TM_BUS_NORM) and the analytics (TM_BUS_STATS), and publishes all of it on the XPUB
//  as [topic][msgpack body], one tick per message so that a topic alone selects a symbol, and
//  "hb." once a second. The snapshot ROUTER answers [SNAPSHOT][prefix] with the last tick of
//  every (stream, symbol) whose topic starts with prefix, each as [topic][body], and the
//  last status of every provider whose "status.<PROVIDER>" does, preceded by the parts of its
//  symbol universe (each part carrying the last state), then [END][count] (ZeroMQ's Clone
//  pattern: a tick's seq says where the live stream takes over).
//  The XPUB never drops silently: a send refused at a subscriber's high-water mark is counted
//  (the heartbeat carries the count) and shows as a jump in seq.
//  args: a tm_config_t * (borrowed; feed_bind not empty). Pipe: $TERM; ENDPOINTS -> "sss"
//  ENDPOINTS feed snapshot (as bound, a * port resolved).

#ifndef TM_FEED_H_INCLUDED
#define TM_FEED_H_INCLUDED

void
    tm_feed_actor (zsock_t *pipe, void *args);

#endif
