//  upstream - an edge gateway's link to a core's feed (tickmux --role gateway)
//
//  The actor stands where the core's pipeline stands for the gateway and the analytics: it
//  binds TM_BUS_NORM (providers' streams, status, orders), TM_BUS_MD (the ALL stream and its
//  events), TM_BUS_FEED (the core's heartbeat, and our figures on "upstream.") and the demand
//  ROUTER, and fills them from the core's feed. The gateway's WANT / DROP become SUB
//  subscriptions on the core's XPUB, each WANT followed by a snapshot of that one topic
//  (ZeroMQ's Clone pattern), so an edge receives only what its clients ask for. Provider
//  status, orders and the heartbeat are always subscribed, and every status is snapshotted
//  at start (a connector may announce its symbol universe only once).
//
//  A snapshot tick at or below the seq the live stream already passed on is stale and goes no
//  further. The core is alive while its heartbeat comes: when it has been silent for
//  TM_UPSTREAM_SILENT_MS the providers are reported DISCONNECTED ("core feed silent"); when it
//  comes back, or its seq starts again (a restarted core), everything wanted is snapshotted
//  again on a fresh snapshot socket.
//  args: a tm_config_t * (borrowed; upstream and upstream_snapshot set). Pipe: $TERM.

#ifndef TM_UPSTREAM_H_INCLUDED
#define TM_UPSTREAM_H_INCLUDED

#define TM_UPSTREAM_SILENT_MS   3000    //  Heartbeats missed (one a second) before "silent"

void
    tm_upstream_actor (zsock_t *pipe, void *args);

//  The snapshot endpoint beside a feed endpoint: "tcp://HOST:PORT" -> "tcp://HOST:PORT+1"
//  into out. Returns 0, or -1 when feed has no numeric port to add one to.
int
    tm_upstream_snapshot_default (const char *feed, char *out, size_t size);

//  Make sock a CURVE client of a server: cert_path is our certificate (its secret beside it,
//  as zcert_save writes it), server_path the server's public certificate. Returns 0, or -1
//  (why in err) when either cannot be loaded.
int
    tm_upstream_curve (zsock_t *sock, const char *cert_path, const char *server_path,
                       char *err, size_t err_size);

//  Learn the core's providers before the edge's actors start: ask its snapshot for every
//  "status." until its answer names a provider (again every second, logging while it does
//  not), and fill config->providers (name and kind) and providers_count with what it
//  reports. Returns 0, or -1 when interrupted (zsys_interrupted; why in err).
int
    tm_upstream_discover (tm_config_t *config, char *err, size_t err_size);

#endif
