//  tickmux.h - the shared base header: system and library includes, limits, pipeline modules
//
//  Every .c file includes this first. It knows pipeline/ only: actors/ and gateway/
//  headers are included by the files that need them, never from here.

#ifndef TICKMUX_H_INCLUDED
#define TICKMUX_H_INCLUDED

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>
#include <msgpack.h>

#if CZMQ_VERSION < 40201
#   error "tickmux needs CZMQ 4.2.1 or later"
#endif
#if ZMQ_VERSION < ZMQ_MAKE_VERSION (4, 3, 0)
#   error "tickmux needs libzmq 4.3 or later"
#endif

#define TM_VERSION          PACKAGE_VERSION

//  Return codes shared by every module (STYLE.md section 5)
#define TM_OK               0
#define TM_ERROR            -1
#define TM_MALFORMED        -2      //  Outside bytes that do not parse: drop and count

//  Limits. Every length read from outside the process is checked against one of these.
#define TM_SYMBOL_MAX       32      //  Canonical symbol, including the NUL
#define TM_PROVIDER_MAX     16      //  Provider instance name or kind, including the NUL
#define TM_TOKEN_MAX        24      //  Provider's own instrument id, including the NUL
#define TM_DEPTH_MAX        5       //  Depth levels per side
#define TM_TOPIC_MAX        64      //  Bus topic: prefix + stream + symbol + terminator
#define TM_BATCH_MAX        256     //  Ticks in one bus message
#define TM_BODY_MAX         (256 * 1024)    //  Largest msgpack body accepted from a bus or feed
#define TM_PROVIDERS_MAX    16      //  Provider instances in one daemon
#define TM_UNIVERSE_MAX     200000  //  Symbols one provider may announce
#define TM_REASON_MAX       128     //  Status reason text, including the NUL

#include "clock.h"
#include "bus.h"
#include "mp.h"
#include "tick.h"
#include "status.h"
#include "route.h"
#include "failover.h"
#include "event.h"
#include "window.h"
#include "stats.h"
#include "option.h"
#include "config.h"

#endif
