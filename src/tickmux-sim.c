//  tickmux-sim - wire-faithful provider simulators for tests and demos
//
//  `tickmux-sim kite [options]` runs the Zerodha Kite simulator (src/kitesim.c) on 127.0.0.1
//  until SIGTERM or SIGINT. Once it listens it prints exactly one line on stderr,
//  `tickmux-sim: kite listening on http://127.0.0.1:PORT`, which tests parse.
//  `tickmux-sim truedata [options]` runs the TrueData simulator (src/tdsim.c) the same way and
//  prints `tickmux-sim: truedata listening on http://127.0.0.1:PORT`. This file only parses
//  the command line.

#include "tickmux.h"
#include <getopt.h>
#include <signal.h>
#include "kitesim.h"
#include "tdsim.h"

static volatile sig_atomic_t s_interrupted;     //  Set by SIGTERM/SIGINT, read by the loop

static void
s_on_signal (int signum)
{
    s_interrupted = 1;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: tickmux-sim kite [--port N] [--seed N] [--rate TICKS_PER_S] [--api-key K]\n"
        "                        [--api-secret S] [--access-token T] [--request-token R]\n"
        "                        [--options N] [--log FILE]\n"
        "  --port N           TCP port on 127.0.0.1, 0 = any free port (default 0)\n"
        "  --seed N           seed of the deterministic market (default 1)\n"
        "  --rate R           ticks per second per subscribed instrument (default 2)\n"
        "  --api-key K        expected api_key (default tmkey)\n"
        "  --api-secret S     api_secret for the session checksum (default tmsecret)\n"
        "  --access-token T   access_token handed out and expected (default tmaccess)\n"
        "  --request-token R  request_token /session/token accepts (default tmrequest)\n"
        "  --options N        NFO option instruments to generate (default 3200)\n"
        "  --log FILE         append a JSON line for every tick sent\n"
        "usage: tickmux-sim truedata [--port N] [--seed N] [--rate TICKS_PER_S] [--user U]\n"
        "                            [--password P] [--max-symbols N] [--heartbeat-ms N]\n"
        "                            [--no-bidask] [--no-greeks] [--delay-ms N] [--log FILE]\n"
        "  --port N           TCP port on 127.0.0.1, 0 = any free port (default 0)\n"
        "  --seed N           seed of the deterministic market (default 1)\n"
        "  --rate R           ticks per second per subscribed symbol (default 2)\n"
        "  --user U           expected user (default tmuser)\n"
        "  --password P       expected password (default tmpass)\n"
        "  --max-symbols N    maxsymbols of the welcome, enforced (default 5000)\n"
        "  --heartbeat-ms N   HeartBeat period in milliseconds (default 5000)\n"
        "  --no-bidask        15-element trades and no bidask messages\n"
        "  --no-greeks        no greeks message after each option trade\n"
        "  --delay-ms N       exchange timestamps lag the clock by N ms, 0-600000 (default 0)\n"
        "  --log FILE         append a JSON line for every trade, bidask and snapshot row sent\n"
        "  TICKMUX_FAKE_TIME  epoch seconds or ISO 8601 (Z or +HH:MM): the simulated date;\n"
        "                     with @REAL (the epoch seconds it stands for) simulators started\n"
        "                     apart share one clock, and truedata ones with one seed one market\n");
}

//  Parse an unsigned integer option; the whole text must be digits within [min, max].
static int
s_parse_uint (const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (!*text || *end || errno || *text == '-' || v < min || v > max) {
        fprintf (stderr, "tickmux-sim: %s '%s': expected an integer from %" PRIu64 " to %"
                 PRIu64 "\n", name, text, min, max);
        return -1;
    }
    *value = v;
    return 0;
}

static int
s_run_kite (int argc, char *argv [])
{
    tm_kitesim_config_t config;
    tm_kitesim_config_defaults (&config);
    static const struct option options [] = {
        { "port", required_argument, NULL, 'p' },
        { "seed", required_argument, NULL, 's' },
        { "rate", required_argument, NULL, 'r' },
        { "api-key", required_argument, NULL, 'k' },
        { "api-secret", required_argument, NULL, 'S' },
        { "access-token", required_argument, NULL, 'a' },
        { "request-token", required_argument, NULL, 'R' },
        { "options", required_argument, NULL, 'o' },
        { "log", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    uint64_t value;
    optind = 1;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
            case 'p':
                if (s_parse_uint ("--port", optarg, 0, 65535, &value))
                    return 2;
                config.port = (int) value;
                break;
            case 's':
                if (s_parse_uint ("--seed", optarg, 0, UINT64_MAX, &value))
                    return 2;
                config.seed = value;
                break;
            case 'r': {
                char *end;
                double rate = strtod (optarg, &end);
                if (!*optarg || *end || !(rate > 0) || rate > TM_KITESIM_RATE_MAX) {
                    fprintf (stderr, "tickmux-sim: --rate '%s': expected a number above 0 and "
                             "at most %g\n", optarg, TM_KITESIM_RATE_MAX);
                    return 2;
                }
                config.rate = rate;
                break;
            }
            case 'k':
                config.api_key = optarg;
                break;
            case 'S':
                config.api_secret = optarg;
                break;
            case 'a':
                config.access_token = optarg;
                break;
            case 'R':
                config.request_token = optarg;
                break;
            case 'o':
                if (s_parse_uint ("--options", optarg, 0, TM_KITESIM_OPTIONS_MAX, &value))
                    return 2;
                config.options = (size_t) value;
                break;
            case 'l':
                config.log_path = optarg;
                break;
            case 'h':
                s_usage (stdout);
                return 0;
            default:
                s_usage (stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tickmux-sim: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    char err [256];
    if (tm_clock_set_fake (getenv ("TICKMUX_FAKE_TIME"), err, sizeof err)) {
        fprintf (stderr, "tickmux-sim: TICKMUX_FAKE_TIME: %s\n", err);
        return 2;
    }
    //  No SA_RESTART: the signal must cut lws's poll short so we exit promptly.
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    tm_kitesim_t *sim = tm_kitesim_new (&config, err, sizeof err);
    if (!sim) {
        fprintf (stderr, "tickmux-sim: kite: %s\n", err);
        return 1;
    }
    fprintf (stderr, "tickmux-sim: kite listening on http://127.0.0.1:%d\n",
             tm_kitesim_port (sim));
    int rc = 0;
    while (!s_interrupted)
        if (tm_kitesim_service (sim)) {
            rc = 1;
            break;
        }
    tm_kitesim_destroy (&sim);
    return rc;
}

static int
s_run_truedata (int argc, char *argv [])
{
    tm_tdsim_config_t config;
    tm_tdsim_config_defaults (&config);
    static const struct option options [] = {
        { "port", required_argument, NULL, 'p' },
        { "seed", required_argument, NULL, 's' },
        { "rate", required_argument, NULL, 'r' },
        { "user", required_argument, NULL, 'u' },
        { "password", required_argument, NULL, 'P' },
        { "max-symbols", required_argument, NULL, 'm' },
        { "heartbeat-ms", required_argument, NULL, 'b' },
        { "no-bidask", no_argument, NULL, 'n' },
        { "no-greeks", no_argument, NULL, 'g' },
        { "delay-ms", required_argument, NULL, 'd' },
        { "log", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    uint64_t value;
    optind = 1;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
            case 'p':
                if (s_parse_uint ("--port", optarg, 0, 65535, &value))
                    return 2;
                config.port = (int) value;
                break;
            case 's':
                if (s_parse_uint ("--seed", optarg, 0, UINT64_MAX, &value))
                    return 2;
                config.seed = value;
                break;
            case 'r': {
                char *end;
                double rate = strtod (optarg, &end);
                if (!*optarg || *end || !(rate > 0) || rate > TM_TDSIM_RATE_MAX) {
                    fprintf (stderr, "tickmux-sim: --rate '%s': expected a number above 0 and "
                             "at most %g\n", optarg, TM_TDSIM_RATE_MAX);
                    return 2;
                }
                config.rate = rate;
                break;
            }
            case 'u':
                config.user = optarg;
                break;
            case 'P':
                config.password = optarg;
                break;
            case 'm':
                if (s_parse_uint ("--max-symbols", optarg, 1, TM_TDSIM_SYMBOLS_MAX, &value))
                    return 2;
                config.max_symbols = (size_t) value;
                break;
            case 'b':
                if (s_parse_uint ("--heartbeat-ms", optarg, TM_TDSIM_HEARTBEAT_MIN_MS,
                                  TM_TDSIM_HEARTBEAT_MAX_MS, &value))
                    return 2;
                config.heartbeat_ms = (int) value;
                break;
            case 'n':
                config.bidask = false;
                break;
            case 'g':
                config.greeks = false;
                break;
            case 'd':
                if (s_parse_uint ("--delay-ms", optarg, 0, TM_TDSIM_DELAY_MAX_MS, &value))
                    return 2;
                config.delay_ms = (int) value;
                break;
            case 'l':
                config.log_path = optarg;
                break;
            case 'h':
                s_usage (stdout);
                return 0;
            default:
                s_usage (stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "tickmux-sim: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    char err [256];
    if (tm_clock_set_fake (getenv ("TICKMUX_FAKE_TIME"), err, sizeof err)) {
        fprintf (stderr, "tickmux-sim: TICKMUX_FAKE_TIME: %s\n", err);
        return 2;
    }
    //  No SA_RESTART: the signal must cut lws's poll short so we exit promptly.
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    tm_tdsim_t *sim = tm_tdsim_new (&config, err, sizeof err);
    if (!sim) {
        fprintf (stderr, "tickmux-sim: truedata: %s\n", err);
        return 1;
    }
    fprintf (stderr, "tickmux-sim: truedata listening on http://127.0.0.1:%d\n",
             tm_tdsim_port (sim));
    int rc = 0;
    while (!s_interrupted)
        if (tm_tdsim_service (sim)) {
            rc = 1;
            break;
        }
    tm_tdsim_destroy (&sim);
    return rc;
}

int
main (int argc, char *argv [])
{
    if (argc < 2 || streq (argv [1], "--help") || streq (argv [1], "-h")) {
        s_usage (argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (streq (argv [1], "kite"))
        return s_run_kite (argc - 1, argv + 1);
    if (streq (argv [1], "truedata"))
        return s_run_truedata (argc - 1, argv + 1);
    fprintf (stderr, "tickmux-sim: unknown simulator '%s' (expected one of: kite, truedata)\n",
             argv [1]);
    return 2;
}
