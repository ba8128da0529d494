//  zerodha - the Zerodha Kite connector: KiteTicker WebSocket client and Kite REST
//
//  args: a tm_provider_config_t * (borrowed; must outlive the actor). Credentials come from
//  the environment (ZERODHA_API_KEY, ZERODHA_ACCESS_TOKEN, ZERODHA_API_SECRET), never from the
//  config, and are never logged. URLs from the config's ws_url / api_url, else ZERODHA_WS_URL /
//  ZERODHA_API_URL, else Kite's own.
//
//  On START it joins the bus (raw ticks, status and orders on TM_BUS_RAW; demand on
//  TM_BUS_DEMAND), fetches the instrument dump, announces its symbols, and opens the ticker.
//  It subscribes what the arbiter asks for (WANT / DROP on the demand socket), at most 3000
//  instruments a connection and 3 connections, sent again after every reconnect, mode full.
//  No frame for TM_ZERODHA_STALE_MS: the link is dead, reconnect with capped exponential
//  backoff and jitter; a 403 on the upgrade is AUTH_FAILED, retried every minute; a 429 backs
//  off for 15 s. After every reconnect GET /orders reconciles order updates missed meanwhile.
//  Pipe commands: $TERM -> exit.

#ifndef TM_ZERODHA_H_INCLUDED
#define TM_ZERODHA_H_INCLUDED

#define TM_ZERODHA_STALE_MS         5000    //  kite.md 10: no frame for 5 s is a dead link
#define TM_ZERODHA_CONNECTIONS      3       //  Per api_key (kite.md 6.1)
#define TM_ZERODHA_AUTH_RETRY_MS    60000   //  After a 403: slowly, never in a tight loop
#define TM_ZERODHA_LIMIT_RETRY_MS   15000   //  After a 429: Kite's connection limit
#define TM_ZERODHA_BACKOFF_MAX_MS   30000   //  Cap of the reconnect backoff

void
    tm_zerodha_actor (zsock_t *pipe, void *args);

#endif
