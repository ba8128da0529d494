//  normalizer - raw provider ticks to normalized ticks
//
//  Binds TM_BUS_RAW (SUB, every connector connects its PUB) and TM_BUS_NORM (PUB). For each
//  raw tick: maps the provider's symbol to the canonical one, rejects ticks with a bad price
//  or an unknown provider (counted), assigns the gap-free per-(provider, symbol) seq, stamps
//  norm_ts and pub_ts, and publishes on md.<PROVIDER>.<SYMBOL>|. Status messages pass through
//  with their symbol lists mapped.
//  args: a tm_config_t * (borrowed). Pipe commands: STATS -> "STATS" json | $TERM -> exit.

#ifndef TM_NORMALIZER_H_INCLUDED
#define TM_NORMALIZER_H_INCLUDED

void
    tm_normalizer_actor (zsock_t *pipe, void *args);

#endif
