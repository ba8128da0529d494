//  bench_codec - throughput of the parsers and encoders on the tick path, for `make bench`
//
//  Measures, on one core: the Kite frame decoder (frames of 1 and of 10 full packets), the
//  tick msgpack encoder and decoder (batches of 64), and the MARKET_DATA JSON encoder. Prints
//  each figure and writes them to the JSON file named on the command line (bench/results.json),
//  with the machine's description. Speed is measured here, never asserted by a test.

#include "tickmux.h"
#include <sys/utsname.h>
#include <unistd.h>
#include "market.h"
#include "kite_frame.h"

#define S_SECONDS   1.0             //  Each figure runs about this long

static void
s_put32 (uint8_t *p, uint32_t v)
{
    p [0] = (uint8_t) (v >> 24); p [1] = (uint8_t) (v >> 16); p [2] = (uint8_t) (v >> 8); p [3] = (uint8_t) v;
}

//  A frame of n full (184-byte) packets for NSE tokens, laid out as kite.md 7.1 / 7.2 say.
static size_t
s_full_frame (uint8_t *frame, size_t n)
{
    frame [0] = (uint8_t) (n >> 8);
    frame [1] = (uint8_t) n;
    size_t at = 2;
    for (size_t i = 0; i < n; i++) {
        frame [at] = 0;
        frame [at + 1] = 184;
        uint8_t *p = frame + at + 2;
        memset (p, 0, 184);
        s_put32 (p, (uint32_t) ((1000 + i) << 8 | 1));
        for (int f = 1; f < 16; f++)
            s_put32 (p + f * 4, 150000 + (uint32_t) (i * 7 + f));
        for (int level = 0; level < 10; level++) {
            s_put32 (p + 64 + level * 12, 100 + (uint32_t) level);
            s_put32 (p + 68 + level * 12, 150000 + (uint32_t) level * 5);
            p [72 + level * 12 + 1] = 3;
        }
        at += 186;
    }
    return at;
}

static double
s_now (void)
{
    return (double) tm_clock_mono_ns () / 1e9;
}

typedef struct {
    const char *name;               //  Figure's key in the JSON
    const char *unit;               //  Its unit
    double value;                   //  Measured
} s_figure_t;

int
main (int argc, char *argv [])
{
    const char *out = argc > 1 ? argv [1] : "bench/results.json";
    s_figure_t figures [8];
    size_t nfig = 0;
    tm_kite_packet_t *packets = calloc (TM_KITE_PACKETS_MAX, sizeof (tm_kite_packet_t));
    uint8_t frame [16 + 10 * 186];
    size_t count, skipped;

    for (size_t per = 1; per <= 10; per += 9) {
        size_t size = s_full_frame (frame, per);
        uint64_t frames = 0;
        double start = s_now (), elapsed;
        do {
            for (int i = 0; i < 10000; i++) {
                tm_kite_frame_decode (frame, size, packets, TM_KITE_PACKETS_MAX, &count, &skipped);
                assert (count == per);
            }
            frames += 10000;
        } while ((elapsed = s_now () - start) < S_SECONDS);
        figures [nfig++] = (s_figure_t) { per == 1 ? "kite_decode_frames_1_full" :
                                          "kite_decode_frames_10_full", "frames/s",
                                          (double) frames / elapsed };
        if (per == 10)
            figures [nfig++] = (s_figure_t) { "kite_decode_packets_full", "packets/s",
                                              (double) frames * 10 / elapsed };
    }

    //  Ticks from the simulated market: every group present on futures and stocks
    tm_market_t *market = tm_market_new (1, 0);
    tm_tick_t ticks [64], back [64];
    for (int i = 0; i < 64; i++) {
        tm_market_next (market, &ticks [i], 1767584700000000000LL + i);
        strcpy (ticks [i].stream, "SIM");
        strcpy (ticks [i].provider, "SIM");
        ticks [i].seq = (uint64_t) i + 1;
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    uint64_t done = 0;
    double start = s_now (), elapsed;
    do {
        for (int i = 0; i < 1000; i++) {
            msgpack_sbuffer_clear (&buf);
            tm_tick_encode (ticks, 64, &buf);
        }
        done += 64000;
    } while ((elapsed = s_now () - start) < S_SECONDS);
    figures [nfig++] = (s_figure_t) { "tick_msgpack_encode", "ticks/s", (double) done / elapsed };
    done = 0;
    start = s_now ();
    do {
        for (int i = 0; i < 1000; i++) {
            tm_tick_decode (buf.data, buf.size, back, 64, &count);
            assert (count == 64);
        }
        done += 64000;
    } while ((elapsed = s_now () - start) < S_SECONDS);
    figures [nfig++] = (s_figure_t) { "tick_msgpack_decode", "ticks/s", (double) done / elapsed };
    char json [TM_TICK_JSON_MAX];
    done = 0;
    start = s_now ();
    do {
        for (int i = 0; i < 64000; i++)
            assert (tm_tick_to_json (&ticks [i & 63], json, sizeof json) > 0);
        done += 64000;
    } while ((elapsed = s_now () - start) < S_SECONDS);
    figures [nfig++] = (s_figure_t) { "tick_json_encode", "ticks/s", (double) done / elapsed };

    struct utsname uts;
    uname (&uts);
    char cpu [256] = "unknown";
    FILE *info = fopen ("/proc/cpuinfo", "r");
    char line [512];
    while (info && fgets (line, sizeof line, info))
        if (strncmp (line, "model name", 10) == 0) {
            char *colon = strchr (line, ':');
            snprintf (cpu, sizeof cpu, "%.200s", colon ? colon + 2 : line);
            cpu [strcspn (cpu, "\n")] = '\0';
            break;
        }
    if (info)
        fclose (info);
    FILE *file = fopen (out, "w");
    if (!file) {
        fprintf (stderr, "bench_codec: cannot write %s\n", out);
        return 1;
    }
    fprintf (file, "{\n  \"machine\": {\"cpu\": \"%s\", \"cores\": %ld, \"kernel\": \"%s %s\"},\n"
             "  \"figures\": {\n", cpu, sysconf (_SC_NPROCESSORS_ONLN), uts.sysname, uts.release);
    for (size_t i = 0; i < nfig; i++) {
        printf ("%-28s %14.0f %s\n", figures [i].name, figures [i].value, figures [i].unit);
        fprintf (file, "    \"%s\": {\"value\": %.0f, \"unit\": \"%s\"}%s\n", figures [i].name,
                 figures [i].value, figures [i].unit, i + 1 < nfig ? "," : "");
    }
    fprintf (file, "  }\n}\n");
    fclose (file);
    printf ("bench: figures written to %s\n", out);
    tm_market_destroy (&market);
    msgpack_sbuffer_destroy (&buf);
    free (packets);
    return 0;
}
