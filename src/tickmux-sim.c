//  tickmux-sim - wire-faithful provider simulators for tests and demos
//
//  `tickmux-sim kite [options]` runs the Zerodha Kite simulator (src/kitesim.c) on 127.0.0.1
//  until SIGTERM or SIGINT. Once it listens it prints exactly one line on stderr,
//  `tickmux-sim: kite listening on http://127.0.0.1:PORT`, which tests parse. Other providers
//  (truedata) get their own subcommand here later; this file only parses the command line.

#include "tickmux.h"
#include <getopt.h>
#include <signal.h>
#include "kitesim.h"

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
        "  TICKMUX_FAKE_TIME  epoch seconds or ISO 8601 (Z or +HH:MM): the simulated date\n");
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

int
main (int argc, char *argv [])
{
    if (argc < 2 || streq (argv [1], "--help") || streq (argv [1], "-h")) {
        s_usage (argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (streq (argv [1], "kite"))
        return s_run_kite (argc - 1, argv + 1);
    fprintf (stderr, "tickmux-sim: unknown simulator '%s' (expected one of: kite)\n", argv [1]);
    return 2;
}
