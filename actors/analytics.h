//  analytics - live per-provider figures: latency, message rate, error rate
//
//  Subscribes the providers' own streams and status (TM_BUS_NORM) and the ALL stream
//  (TM_BUS_MD); binds TM_BUS_STATS (PUB) and publishes a tm_stats_t per configured provider
//  on "stats.<PROVIDER>" every second. Off the tick path: a slow analytics actor drops its
//  own input (SUB high-water mark), never a client's ticks.
//  Latency stages: exchange-to-receive (recv_ts - exchange_ts of the provider's own ticks,
//  those with an exchange time) and receive-to-publish (pub_ts - recv_ts on ALL). Message
//  rate: the provider's ticks per second. Error rate: (the errors its connector counts, plus
//  one per disconnect) per upstream message, from the status heartbeats.
//  args: a tm_config_t * (borrowed). Pipe commands: $TERM -> exit.

#ifndef TM_ANALYTICS_H_INCLUDED
#define TM_ANALYTICS_H_INCLUDED

void
    tm_analytics_actor (zsock_t *pipe, void *args);

#endif
