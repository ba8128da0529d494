//  test_mp - the bounded msgpack reader against msgpack-c's own packer
//
//  Valid input comes from msgpack_packer, so the reader is checked against the encoder
//  every other module uses. Hostile input is written byte by byte: truncations at every
//  length, headers that declare more than the buffer holds, nesting past the limit.

#include "tickmux.h"
#include "tap.h"

#include <malloc.h>

//  A packer over a fresh buffer; the test destroys the buffer.
typedef struct {
    msgpack_sbuffer buf;            //  Bytes packed so far
    msgpack_packer pk;              //  Packer writing into buf
} s_pack_t;

static void
s_pack_init (s_pack_t *self)
{
    msgpack_sbuffer_init (&self->buf);
    msgpack_packer_init (&self->pk, &self->buf, msgpack_sbuffer_write);
}

static void
s_pack_str (s_pack_t *self, const char *str, size_t len)
{
    msgpack_pack_str (&self->pk, len);
    msgpack_pack_str_body (&self->pk, str, len);
}

//  Record a failure whose text says where, since a loop over offsets would otherwise only
//  report the line.
static void
s_fail_at (const char *what, size_t offset, unsigned int line)
{
    char text [160];
    snprintf (text, sizeof text, "%s (at %zu)", what, offset);
    CU_assertImplementation (CU_FALSE, line, text, __FILE__, "", CU_FALSE);
}

//  Bytes the heap holds now, mapped blocks included: a reader that allocated what a header
//  declares would show here (under valgrind or ASan this reads 0 and the check is vacuous,
//  but they report any allocation of gigabytes themselves).
static size_t
s_heap_in_use (void)
{
    struct mallinfo2 mi = mallinfo2 ();
    return mi.uordblks + mi.hblkhd;
}

static void
test_ints (void)
{
    static const int64_t values [] = {
        0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL, INT64_MAX,
        -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN, (int64_t) INT32_MIN - 1, INT64_MIN
    };
    size_t n = sizeof values / sizeof values [0];
    s_pack_t p;
    s_pack_init (&p);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_int64 (&p.pk, values [i]);
    //  The fixed-width forms, so every header byte is read at least once
    msgpack_pack_fix_uint8 (&p.pk, 200);
    msgpack_pack_fix_uint16 (&p.pk, 7);
    msgpack_pack_fix_uint32 (&p.pk, 7);
    msgpack_pack_fix_uint64 (&p.pk, 7);
    msgpack_pack_fix_int8 (&p.pk, -7);
    msgpack_pack_fix_int16 (&p.pk, -7);
    msgpack_pack_fix_int32 (&p.pk, -7);
    msgpack_pack_fix_int64 (&p.pk, -7);
    msgpack_pack_fix_int16 (&p.pk, 300);

    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    for (size_t i = 0; i < n; i++) {
        int64_t v = 12345;
        if (tm_mp_read_int (&r, &v) != 0 || v != values [i]) {
            s_fail_at ("read_int of packed value", i, __LINE__);
            break;
        }
    }
    int64_t v;
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 200);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 7);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 7);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 7);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == -7);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == -7);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == -7);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == -7);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 300);
    CU_ASSERT (tm_mp_finish (&r) == 0);

    //  A uint64 above INT64_MAX does not fit int64
    msgpack_sbuffer_clear (&p.buf);
    msgpack_pack_uint64 (&p.pk, UINT64_MAX);
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_int (&r, &v) == TM_MALFORMED);

    //  Not an integer at all
    msgpack_sbuffer_clear (&p.buf);
    s_pack_str (&p, "7", 1);
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_int (&r, &v) == TM_MALFORMED);
    msgpack_sbuffer_clear (&p.buf);
    msgpack_pack_double (&p.pk, 7.0);
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_int (&r, &v) == TM_MALFORMED);
    msgpack_sbuffer_destroy (&p.buf);
}

static void
test_uints (void)
{
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_uint64 (&p.pk, 0);
    msgpack_pack_uint64 (&p.pk, 1);
    msgpack_pack_uint64 (&p.pk, 255);
    msgpack_pack_uint64 (&p.pk, 65536);
    msgpack_pack_uint64 (&p.pk, (uint64_t) INT64_MAX + 1);
    msgpack_pack_uint64 (&p.pk, UINT64_MAX);
    msgpack_pack_fix_int32 (&p.pk, 5);       //  A signed header holding a positive value
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    uint64_t u;
    CU_ASSERT (tm_mp_read_uint (&r, &u) == 0 && u == 0);
    CU_ASSERT (tm_mp_read_uint (&r, &u) == 0 && u == 1);
    CU_ASSERT (tm_mp_read_uint (&r, &u) == 0 && u == 255);
    CU_ASSERT (tm_mp_read_uint (&r, &u) == 0 && u == 65536);
    CU_ASSERT (tm_mp_read_uint (&r, &u) == 0 && u == (uint64_t) INT64_MAX + 1);
    CU_ASSERT (tm_mp_read_uint (&r, &u) == 0 && u == UINT64_MAX);
    CU_ASSERT (tm_mp_read_uint (&r, &u) == 0 && u == 5);
    CU_ASSERT (tm_mp_finish (&r) == 0);

    static const int64_t negatives [] = { -1, -32, -33, -200, -70000, INT64_MIN };
    for (size_t i = 0; i < sizeof negatives / sizeof negatives [0]; i++) {
        msgpack_sbuffer_clear (&p.buf);
        msgpack_pack_int64 (&p.pk, negatives [i]);
        tm_mp_reader_init (&r, p.buf.data, p.buf.size);
        if (tm_mp_read_uint (&r, &u) != TM_MALFORMED)
            s_fail_at ("read_uint accepted a negative", i, __LINE__);
    }
    msgpack_sbuffer_destroy (&p.buf);
}

static void
test_doubles (void)
{
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_double (&p.pk, 24312.45);
    msgpack_pack_double (&p.pk, 0.0025);
    msgpack_pack_double (&p.pk, -1.5);
    msgpack_pack_double (&p.pk, 0.0);
    msgpack_pack_float (&p.pk, 1.5f);
    msgpack_pack_int64 (&p.pk, 42);
    msgpack_pack_int64 (&p.pk, -70000);
    msgpack_pack_uint64 (&p.pk, 4294967296ULL);
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    double d;
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == 24312.45);
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == 0.0025);
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == -1.5);
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == 0.0);
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == 1.5);
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == 42.0);
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == -70000.0);
    CU_ASSERT (tm_mp_read_double (&r, &d) == 0 && d == 4294967296.0);
    CU_ASSERT (tm_mp_finish (&r) == 0);

    //  Non-finite values, in both widths, are refused
    const double bad [] = { NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < 3; i++) {
        msgpack_sbuffer_clear (&p.buf);
        msgpack_pack_double (&p.pk, bad [i]);
        tm_mp_reader_init (&r, p.buf.data, p.buf.size);
        if (tm_mp_read_double (&r, &d) != TM_MALFORMED)
            s_fail_at ("read_double accepted a non-finite float64", i, __LINE__);
        msgpack_sbuffer_clear (&p.buf);
        msgpack_pack_float (&p.pk, (float) bad [i]);
        tm_mp_reader_init (&r, p.buf.data, p.buf.size);
        if (tm_mp_read_double (&r, &d) != TM_MALFORMED)
            s_fail_at ("read_double accepted a non-finite float32", i, __LINE__);
    }
    //  A string is not a number
    msgpack_sbuffer_clear (&p.buf);
    s_pack_str (&p, "1.5", 3);
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_double (&r, &d) == TM_MALFORMED);
    msgpack_sbuffer_clear (&p.buf);
    msgpack_pack_nil (&p.pk);
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_double (&r, &d) == TM_MALFORMED);
    msgpack_sbuffer_destroy (&p.buf);
}

static void
test_strings (void)
{
    //  One string of each header width: fixstr, str8, str16, str32
    static const size_t lengths [] = { 0, 5, 31, 32, 40, 255, 256, 300, 65535, 65536, 70000 };
    size_t n = sizeof lengths / sizeof lengths [0];
    char *text = malloc (70001);
    assert (text);
    for (size_t i = 0; i < 70000; i++)
        text [i] = 'a' + (char) (i % 26);
    s_pack_t p;
    s_pack_init (&p);
    for (size_t i = 0; i < n; i++)
        s_pack_str (&p, text, lengths [i]);
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    for (size_t i = 0; i < n; i++) {
        const char *str = NULL;
        uint32_t len = 12345;
        if (tm_mp_read_str (&r, &str, &len) != 0 || len != lengths [i]
        ||  memcmp (str, text, len) != 0) {
            s_fail_at ("read_str of packed string", lengths [i], __LINE__);
            break;
        }
        //  The string is borrowed from the buffer, not copied
        if (!(str >= p.buf.data && str + len <= p.buf.data + p.buf.size))
            s_fail_at ("read_str returned a pointer outside the buffer", i, __LINE__);
    }
    CU_ASSERT (tm_mp_finish (&r) == 0);

    //  cstr: exactly size - 1 characters fit, size do not
    msgpack_sbuffer_clear (&p.buf);
    s_pack_str (&p, "NIFTY-I", 7);
    s_pack_str (&p, "NIFTY-I", 7);
    s_pack_str (&p, "", 0);
    char buf [8];
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    memset (buf, 'x', sizeof buf);
    CU_ASSERT (tm_mp_read_cstr (&r, buf, 8) == 0);
    CU_ASSERT_STRING_EQUAL (buf, "NIFTY-I");
    CU_ASSERT (tm_mp_read_cstr (&r, buf, 7) == TM_MALFORMED);
    //  ... and the failure is sticky, so the empty string after it is not read
    CU_ASSERT (tm_mp_read_cstr (&r, buf, 8) == TM_MALFORMED);

    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_cstr (&r, buf, 8) == 0);
    CU_ASSERT (tm_mp_read_cstr (&r, buf, 8) == 0);
    CU_ASSERT (tm_mp_read_cstr (&r, buf, 8) == 0);
    CU_ASSERT_STRING_EQUAL (buf, "");
    CU_ASSERT (tm_mp_finish (&r) == 0);

    //  Other types are not strings
    msgpack_sbuffer_clear (&p.buf);
    msgpack_pack_int64 (&p.pk, 1);
    msgpack_pack_bin (&p.pk, 3);
    msgpack_pack_bin_body (&p.pk, "abc", 3);
    const char *str;
    uint32_t len;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_str (&r, &str, &len) == TM_MALFORMED);
    tm_mp_reader_init (&r, p.buf.data + 1, p.buf.size - 1);
    CU_ASSERT (tm_mp_read_str (&r, &str, &len) == TM_MALFORMED);
    msgpack_sbuffer_destroy (&p.buf);
    free (text);
}

static void
test_containers (void)
{
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_map (&p.pk, 2);
    s_pack_str (&p, "a", 1);
    msgpack_pack_int64 (&p.pk, 1);
    s_pack_str (&p, "b", 1);
    msgpack_pack_nil (&p.pk);
    msgpack_pack_array (&p.pk, 3);
    for (int i = 0; i < 3; i++)
        msgpack_pack_int64 (&p.pk, i);
    msgpack_pack_map (&p.pk, 20);             //  map16
    for (int i = 0; i < 20; i++) {
        msgpack_pack_int64 (&p.pk, i);
        msgpack_pack_int64 (&p.pk, -i);
    }
    msgpack_pack_array (&p.pk, 70000);        //  array32
    for (int i = 0; i < 70000; i++)
        msgpack_pack_nil (&p.pk);
    msgpack_pack_array (&p.pk, 0);

    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    uint32_t count = 0;
    const char *str;
    uint32_t len;
    int64_t v;
    CU_ASSERT (!tm_mp_next_is_array (&r));
    CU_ASSERT (tm_mp_read_map (&r, &count) == 0 && count == 2);
    CU_ASSERT (tm_mp_read_str (&r, &str, &len) == 0 && len == 1 && *str == 'a');
    CU_ASSERT (!tm_mp_next_is_nil (&r));      //  Not nil, and not consumed
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 1);
    CU_ASSERT (tm_mp_read_str (&r, &str, &len) == 0 && len == 1 && *str == 'b');
    CU_ASSERT (tm_mp_next_is_nil (&r));       //  Nil, consumed
    CU_ASSERT (tm_mp_next_is_array (&r));     //  Not consumed: read_array still sees it
    CU_ASSERT (tm_mp_next_is_array (&r));
    CU_ASSERT (tm_mp_read_array (&r, &count) == 0 && count == 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == i);
    CU_ASSERT (tm_mp_read_map (&r, &count) == 0 && count == 20);
    for (int i = 0; i < 20; i++) {
        CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == i);
        CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == -i);
    }
    CU_ASSERT (tm_mp_next_is_array (&r));
    CU_ASSERT (tm_mp_read_array (&r, &count) == 0 && count == 70000);
    for (int i = 0; i < 70000; i++)
        if (!tm_mp_next_is_nil (&r)) {
            s_fail_at ("nil element of array32", (size_t) i, __LINE__);
            break;
        }
    CU_ASSERT (tm_mp_read_array (&r, &count) == 0 && count == 0);
    CU_ASSERT (tm_mp_finish (&r) == 0);

    //  A map is not an array and an array is not a map
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_array (&r, &count) == TM_MALFORMED);
    static const uint8_t array [] = { 0x91, 0x01 };
    tm_mp_reader_init (&r, array, sizeof array);
    CU_ASSERT (tm_mp_read_map (&r, &count) == TM_MALFORMED);
    msgpack_sbuffer_destroy (&p.buf);
}

//  A count that needs one byte more than is left fails; the exact fit passes.
static void
test_count_bounds (void)
{
    uint32_t count;
    tm_mp_reader_t r;
    static const uint8_t fits [] = { 0x93, 0x01, 0x02, 0x03 };
    tm_mp_reader_init (&r, fits, sizeof fits);
    CU_ASSERT (tm_mp_read_array (&r, &count) == 0 && count == 3);
    tm_mp_reader_init (&r, fits, sizeof fits - 1);
    CU_ASSERT (tm_mp_read_array (&r, &count) == TM_MALFORMED);

    //  A map of two pairs needs four elements
    static const uint8_t map_fits [] = { 0x82, 0x01, 0x02, 0x03, 0x04 };
    tm_mp_reader_init (&r, map_fits, sizeof map_fits);
    CU_ASSERT (tm_mp_read_map (&r, &count) == 0 && count == 2);
    tm_mp_reader_init (&r, map_fits, sizeof map_fits - 2);
    CU_ASSERT (tm_mp_read_map (&r, &count) == TM_MALFORMED);

    //  A string longer than the buffer by one byte
    static const uint8_t str [] = { 0xa3, 'a', 'b' };
    const char *s;
    uint32_t len;
    tm_mp_reader_init (&r, str, sizeof str);
    CU_ASSERT (tm_mp_read_str (&r, &s, &len) == TM_MALFORMED);
    static const uint8_t str16 [] = { 0xda, 0x00, 0x02, 'a' };
    tm_mp_reader_init (&r, str16, sizeof str16);
    CU_ASSERT (tm_mp_read_str (&r, &s, &len) == TM_MALFORMED);
}

//  Headers that declare gigabytes: each must fail at once and allocate nothing.
static void
test_huge_headers (void)
{
    static const struct {
        uint8_t bytes [9];
        size_t size;
        const char *what;
    } cases [] = {
        { { 0xdd, 0xff, 0xff, 0xff, 0xff }, 5, "array32 of 4G" },
        { { 0xdc, 0xff, 0xff }, 3, "array16 of 64K" },
        { { 0xdf, 0xff, 0xff, 0xff, 0xff }, 5, "map32 of 4G" },
        { { 0xde, 0xff, 0xff }, 3, "map16 of 64K" },
        { { 0xdb, 0xff, 0xff, 0xff, 0xff }, 5, "str32 of 4G" },
        { { 0xda, 0xff, 0xff }, 3, "str16 of 64K" },
        { { 0xd9, 0xff }, 2, "str8 of 255" },
        { { 0xc6, 0xff, 0xff, 0xff, 0xff }, 5, "bin32 of 4G" },
        { { 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 }, 6, "ext32 of 4G" },
        { { 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02 }, 7, "array32 of 2G" },
        { { 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff }, 6, "nested array32 of 4G" },
        { { 0x81, 0xa1, 'k', 0xdf, 0xff, 0xff, 0xff, 0xff }, 8, "map value map32 of 4G" },
    };
    size_t n = sizeof cases / sizeof cases [0];
    size_t heap_before = s_heap_in_use ();
    int64_t start = zclock_mono ();
    for (size_t i = 0; i < n; i++) {
        tm_mp_reader_t r;
        uint32_t count;
        const char *s;
        uint32_t len;
        uint8_t b = cases [i].bytes [0];
        int rc = 0;
        tm_mp_reader_init (&r, cases [i].bytes, cases [i].size);
        if (b == 0xdd || b == 0xdc)
            rc = tm_mp_read_array (&r, &count);
        else
        if (b == 0xdf || b == 0xde)
            rc = tm_mp_read_map (&r, &count);
        else
        if (b >= 0xd9 && b <= 0xdb)
            rc = tm_mp_read_str (&r, &s, &len);
        if (b != 0xc6 && b != 0xc9 && b != 0x91 && b != 0x81 && rc != TM_MALFORMED)
            s_fail_at (cases [i].what, i, __LINE__);
        //  Skipping must refuse it too
        tm_mp_reader_init (&r, cases [i].bytes, cases [i].size);
        if (tm_mp_skip (&r) != TM_MALFORMED)
            s_fail_at (cases [i].what, i, __LINE__);
    }
    //  Generous: a reader that walked 4G elements would take seconds
    CU_ASSERT (zclock_mono () - start < 500);
    CU_ASSERT (s_heap_in_use () == heap_before);
}

//  The reads a decoder of this buffer would make, in order; returns tm_mp_finish.
static int
s_read_script (tm_mp_reader_t *r)
{
    uint32_t count;
    const char *s;
    uint32_t len;
    int64_t v;
    uint64_t u;
    double d;
    char buf [64];
    tm_mp_read_map (r, &count);
    tm_mp_read_cstr (r, buf, sizeof buf);
    tm_mp_read_int (r, &v);
    tm_mp_read_str (r, &s, &len);
    tm_mp_read_uint (r, &u);
    tm_mp_read_cstr (r, buf, sizeof buf);
    tm_mp_read_double (r, &d);
    tm_mp_read_cstr (r, buf, sizeof buf);
    tm_mp_read_array (r, &count);
    tm_mp_read_double (r, &d);
    tm_mp_read_int (r, &v);
    tm_mp_read_cstr (r, buf, sizeof buf);
    if (!tm_mp_next_is_nil (r))
        return TM_MALFORMED;
    return tm_mp_finish (r);
}

static void
s_pack_script (s_pack_t *p)
{
    msgpack_pack_map (&p->pk, 5);
    s_pack_str (p, "v", 1);
    msgpack_pack_int64 (&p->pk, -70000);
    s_pack_str (p, "seq", 3);
    msgpack_pack_uint64 (&p->pk, UINT64_MAX);
    s_pack_str (p, "price", 5);
    msgpack_pack_double (&p->pk, 24312.45);
    s_pack_str (p, "level", 5);
    msgpack_pack_array (&p->pk, 2);
    msgpack_pack_float (&p->pk, 0.5f);
    msgpack_pack_int64 (&p->pk, 300);
    s_pack_str (p, "nothing", 7);
    msgpack_pack_nil (&p->pk);
}

//  Every prefix of a valid buffer fails, for the typed reads and for skip.
static void
test_truncated (void)
{
    s_pack_t p;
    s_pack_init (&p);
    s_pack_script (&p);
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT_FATAL (s_read_script (&r) == 0);
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_skip (&r) == 0 && tm_mp_finish (&r) == 0);

    for (size_t size = 0; size < p.buf.size; size++) {
        //  A copy of exactly size bytes, so valgrind and ASan see any read past the end
        uint8_t *copy = malloc (size ? size : 1);
        assert (copy);
        memcpy (copy, p.buf.data, size);
        tm_mp_reader_init (&r, copy, size);
        if (s_read_script (&r) != TM_MALFORMED)
            s_fail_at ("typed reads of a truncated buffer passed", size, __LINE__);
        tm_mp_reader_init (&r, copy, size);
        if (tm_mp_skip (&r) == 0 && tm_mp_finish (&r) == 0)
            s_fail_at ("skip of a truncated buffer passed", size, __LINE__);
        free (copy);
    }
    msgpack_sbuffer_destroy (&p.buf);
}

//  After the first failure every call fails, even on bytes that are valid.
static void
test_sticky (void)
{
    s_pack_t p;
    s_pack_init (&p);
    s_pack_str (&p, "x", 1);
    msgpack_pack_int64 (&p.pk, 5);
    msgpack_pack_nil (&p.pk);
    msgpack_pack_array (&p.pk, 1);
    msgpack_pack_int64 (&p.pk, 5);
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    int64_t v;
    uint64_t u;
    double d;
    uint32_t count;
    const char *s;
    uint32_t len;
    char buf [8];
    CU_ASSERT (tm_mp_read_int (&r, &v) == TM_MALFORMED);       //  A string is not an int
    CU_ASSERT (r.failed);
    CU_ASSERT (tm_mp_read_str (&r, &s, &len) == TM_MALFORMED);
    CU_ASSERT (tm_mp_read_cstr (&r, buf, sizeof buf) == TM_MALFORMED);
    CU_ASSERT (tm_mp_read_int (&r, &v) == TM_MALFORMED);
    CU_ASSERT (tm_mp_read_uint (&r, &u) == TM_MALFORMED);
    CU_ASSERT (tm_mp_read_double (&r, &d) == TM_MALFORMED);
    CU_ASSERT (tm_mp_read_map (&r, &count) == TM_MALFORMED);
    CU_ASSERT (tm_mp_read_array (&r, &count) == TM_MALFORMED);
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);
    CU_ASSERT (!tm_mp_next_is_nil (&r));
    CU_ASSERT (!tm_mp_next_is_array (&r));
    CU_ASSERT (tm_mp_finish (&r) == TM_MALFORMED);

    //  The same bytes read correctly by a fresh reader
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    CU_ASSERT (tm_mp_read_str (&r, &s, &len) == 0);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 5);
    CU_ASSERT (tm_mp_next_is_nil (&r));
    CU_ASSERT (tm_mp_next_is_array (&r));
    CU_ASSERT (tm_mp_skip (&r) == 0);
    CU_ASSERT (tm_mp_finish (&r) == 0);
    msgpack_sbuffer_destroy (&p.buf);
}

static void
test_skip (void)
{
    //  One value of every type, skipped in a row
    s_pack_t p;
    s_pack_init (&p);
    msgpack_pack_nil (&p.pk);
    msgpack_pack_true (&p.pk);
    msgpack_pack_false (&p.pk);
    msgpack_pack_int64 (&p.pk, 5);
    msgpack_pack_int64 (&p.pk, -5);
    msgpack_pack_int64 (&p.pk, INT64_MIN);
    msgpack_pack_uint64 (&p.pk, UINT64_MAX);
    msgpack_pack_float (&p.pk, 1.0f);
    msgpack_pack_double (&p.pk, 2.0);
    s_pack_str (&p, "hello", 5);
    msgpack_pack_bin (&p.pk, 3);
    msgpack_pack_bin_body (&p.pk, "abc", 3);
    msgpack_pack_ext (&p.pk, 4, 7);           //  fixext 4
    msgpack_pack_ext_body (&p.pk, "abcd", 4);
    msgpack_pack_ext (&p.pk, 3, 7);           //  ext 8
    msgpack_pack_ext_body (&p.pk, "abc", 3);
    msgpack_pack_map (&p.pk, 2);
    s_pack_str (&p, "k", 1);
    msgpack_pack_array (&p.pk, 2);
    msgpack_pack_int64 (&p.pk, 1);
    msgpack_pack_map (&p.pk, 0);
    s_pack_str (&p, "j", 1);
    msgpack_pack_nil (&p.pk);
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, p.buf.data, p.buf.size);
    for (int i = 0; i < 14; i++)             //  The 14 top-level values above
        if (tm_mp_skip (&r) != 0) {
            s_fail_at ("skip of a valid value", (size_t) i, __LINE__);
            break;
        }
    CU_ASSERT (tm_mp_finish (&r) == 0);
    msgpack_sbuffer_destroy (&p.buf);

    //  0xc1 is never used
    static const uint8_t never [] = { 0xc1 };
    tm_mp_reader_init (&r, never, sizeof never);
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);
    tm_mp_reader_init (&r, never, 0);
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);
}

//  TM_MP_DEPTH_MAX nested containers are skipped; one more is refused; a buffer of
//  nothing but array headers is refused without running out of stack.
static void
test_skip_depth (void)
{
    uint8_t nested [TM_MP_DEPTH_MAX + 2];
    for (int i = 0; i < TM_MP_DEPTH_MAX; i++)
        nested [i] = 0x91;
    nested [TM_MP_DEPTH_MAX] = 0x01;
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, nested, TM_MP_DEPTH_MAX + 1);
    CU_ASSERT (tm_mp_skip (&r) == 0);
    CU_ASSERT (tm_mp_finish (&r) == 0);

    for (int i = 0; i <= TM_MP_DEPTH_MAX; i++)
        nested [i] = 0x91;
    nested [TM_MP_DEPTH_MAX + 1] = 0x01;
    tm_mp_reader_init (&r, nested, sizeof nested);
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);

    //  Maps nest too: {k: {k: ... 1}}
    uint8_t maps [3 * (TM_MP_DEPTH_MAX + 1) + 1];
    size_t n = 0;
    for (int i = 0; i <= TM_MP_DEPTH_MAX; i++) {
        maps [n++] = 0x81;
        maps [n++] = 0xa1;
        maps [n++] = 'k';
    }
    maps [n++] = 0x01;
    tm_mp_reader_init (&r, maps, n);
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);
    tm_mp_reader_init (&r, maps + 3, n - 3);
    CU_ASSERT (tm_mp_skip (&r) == 0);
    CU_ASSERT (tm_mp_finish (&r) == 0);

    size_t deep_size = 100000;
    uint8_t *deep = malloc (deep_size);
    assert (deep);
    memset (deep, 0x91, deep_size);
    tm_mp_reader_init (&r, deep, deep_size);
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);
    //  The same with array16 headers that each declare one element
    for (size_t i = 0; i + 3 <= deep_size; i += 3) {
        deep [i] = 0xdc;
        deep [i + 1] = 0x00;
        deep [i + 2] = 0x01;
    }
    tm_mp_reader_init (&r, deep, deep_size - deep_size % 3);
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);
    free (deep);
}

static void
test_finish (void)
{
    static const uint8_t two [] = { 0x01, 0x02 };
    tm_mp_reader_t r;
    int64_t v;
    tm_mp_reader_init (&r, two, sizeof two);
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 1);
    CU_ASSERT (tm_mp_finish (&r) == TM_MALFORMED);       //  One byte left over
    CU_ASSERT (tm_mp_read_int (&r, &v) == 0 && v == 2);
    CU_ASSERT (tm_mp_finish (&r) == 0);

    //  An empty buffer is complete, and reading from it fails
    tm_mp_reader_init (&r, two, 0);
    CU_ASSERT (tm_mp_finish (&r) == 0);
    CU_ASSERT (tm_mp_read_int (&r, &v) == TM_MALFORMED);
    CU_ASSERT (tm_mp_finish (&r) == TM_MALFORMED);
    tm_mp_reader_init (&r, NULL, 0);
    CU_ASSERT (!tm_mp_next_is_nil (&r));
    CU_ASSERT (!tm_mp_next_is_array (&r));
    CU_ASSERT (tm_mp_skip (&r) == TM_MALFORMED);
}

int
tm_mp_tests (void)
{
    CU_pSuite suite = CU_add_suite ("mp", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "integers of every width", test_ints)
    ||  !CU_add_test (suite, "unsigned integers, negatives refused", test_uints)
    ||  !CU_add_test (suite, "doubles, NaN and infinities refused", test_doubles)
    ||  !CU_add_test (suite, "strings of every width, cstr bounds", test_strings)
    ||  !CU_add_test (suite, "maps, arrays, nil", test_containers)
    ||  !CU_add_test (suite, "counts bounded by bytes left", test_count_bounds)
    ||  !CU_add_test (suite, "huge headers fail fast without allocating", test_huge_headers)
    ||  !CU_add_test (suite, "truncated at every length", test_truncated)
    ||  !CU_add_test (suite, "failure is sticky", test_sticky)
    ||  !CU_add_test (suite, "skip of every type", test_skip)
    ||  !CU_add_test (suite, "skip nesting limit", test_skip_depth)
    ||  !CU_add_test (suite, "finish wants every byte read", test_finish))
        return -1;
    return 0;
}
