//  truedata - the TrueData connector: the real-time JSON WebSocket (protocols/truedata.md)
//
//  args: a tm_provider_config_t * (borrowed; must outlive the actor). Credentials come from
//  TRUEDATA_USERNAME / TRUEDATA_PASSWORD, never from the config, and are never logged. The
//  feed URL from the config's ws_url, else TRUEDATA_URL (a host, or a whole ws:// or wss://
//  URL, which is how tests point it at a simulator) with TRUEDATA_PORT, else
//  wss://push.truedata.in on port 8084, or 8086 when TRUEDATA_SANDBOX=true.
//
//  On START it joins the bus and opens the feed; the login verdict is the first message. It
//  subscribes what the arbiter asks for (addsymbol / removesymbol of at most 1500 symbols a
//  message), sent again after every reconnect; each symbol's tick state starts from its
//  "symbols added" snapshot and every trade or quote updates it. No message for
//  TM_TRUEDATA_STALE_MS (two heartbeats and a margin): STALE, reconnect with capped
//  exponential backoff and jitter. A refused login is AUTH_FAILED with the server's words,
//  retried every minute. Pipe commands: $TERM -> exit.

#ifndef TM_TRUEDATA_H_INCLUDED
#define TM_TRUEDATA_H_INCLUDED

#define TM_TRUEDATA_STALE_MS        12000   //  truedata.md 6: heartbeats every 5 s
#define TM_TRUEDATA_AUTH_RETRY_MS   60000   //  After a refused login
#define TM_TRUEDATA_BACKOFF_MAX_MS  30000   //  Cap of the reconnect backoff

void
    tm_truedata_actor (zsock_t *pipe, void *args);

#endif
