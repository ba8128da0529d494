//  chain - one option chain: an underlying, an expiry, CE and PE legs around the money
//
//  A plain class (no sockets): the gateway feeds it the ticks of the underlying and of the
//  legs it subscribed, and asks it for the JSON of the snapshot (OPTION_CHAIN) and of each
//  change (OPTION_CHAIN_UPDATE). The strikes are fixed once, by tm_chain_center, from the
//  underlying's price: the at-the-money strike is that price rounded to the root's step,
//  and the chain holds `strikes` strikes from ATM - step * (strikes / 2) up, leaving out
//  strikes that would not be positive.

#ifndef TM_CHAIN_H_INCLUDED
#define TM_CHAIN_H_INCLUDED

#include <jansson.h>

#define TM_CHAIN_STRIKES_MAX    100     //  Strikes one chain may hold (x2 legs)
#define TM_CHAIN_UNDERLYING     -2      //  tm_chain_apply: the tick was the underlying's

typedef struct _tm_chain_t tm_chain_t;

//  A chain of root's options expiring on year-month-day, strikes strikes wide, on stream
//  ("ALL" or a provider instance). strikes must be 1..TM_CHAIN_STRIKES_MAX and the date
//  valid. Caller owns return value and must destroy it when done.
tm_chain_t *
    tm_chain_new (const tm_option_root_t *root, const char *stream, int year, int month,
                  int day, size_t strikes);

//  Destroy the chain and set *self_p to NULL. Safe on NULL and when repeated.
void
    tm_chain_destroy (tm_chain_t **self_p);

//  Symbol that carries the underlying's price ("NIFTY 50"). Belongs to self.
const char *
    tm_chain_underlying (tm_chain_t *self);

//  Fix the strikes around price (the underlying's last price). Returns the number of legs,
//  2 per strike, CE before PE, lowest strike first; 0 when no strike would be positive.
//  Only the first call fixes the strikes; later calls return the same count.
size_t
    tm_chain_center (tm_chain_t *self, double price);

//  True once tm_chain_center has fixed the strikes.
bool
    tm_chain_is_centered (tm_chain_t *self);

//  Legs after centering (0 before).
size_t
    tm_chain_legs (tm_chain_t *self);

//  Canonical symbol of leg index. Belongs to self.
const char *
    tm_chain_leg_symbol (tm_chain_t *self, size_t index);

//  Mark a leg as not listed by the provider: it shows as null and takes no ticks.
void
    tm_chain_leg_unlisted (tm_chain_t *self, size_t index);

//  Take a tick of the underlying or of a leg (matched by symbol). Returns the leg's index,
//  TM_CHAIN_UNDERLYING, or -1 when the tick is none of the chain's.
int
    tm_chain_apply (tm_chain_t *self, const tm_tick_t *tick);

//  True when every listed leg has had a tick.
bool
    tm_chain_is_complete (tm_chain_t *self);

//  The OPTION_CHAIN snapshot as compact JSON; id (may be NULL) is echoed. now_ns stamps it.
//  Caller owns return value (free with free ()).
char *
    tm_chain_snapshot_json (tm_chain_t *self, json_t *id, int64_t now_ns);

//  The OPTION_CHAIN_UPDATE of one leg, or of the underlying (TM_CHAIN_UNDERLYING).
//  Caller owns return value (free with free ()).
char *
    tm_chain_update_json (tm_chain_t *self, int index);

#endif
