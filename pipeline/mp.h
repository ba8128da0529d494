//  mp - a bounded, allocation-free msgpack reader
//
//  msgpack-c's unpacker allocates what a header declares before it has read the elements,
//  so a few outside bytes can ask it for gigabytes. This reader walks a buffer in place:
//  it never allocates, never reads past the end, and rejects every count or length that
//  does not fit in what is left of the buffer. Encoding uses msgpack-c's packer.
//
//  Every function returns 0 on success or TM_MALFORMED, and after the first failure the
//  reader stays failed (every later call fails too), so a decoder can check once at the end.

#ifndef TM_MP_H_INCLUDED
#define TM_MP_H_INCLUDED

typedef struct {
    const uint8_t *data;    //  Start of the buffer (borrowed)
    size_t size;            //  Bytes in the buffer
    size_t pos;             //  Next byte to read
    bool failed;            //  Sticky: set by the first error
    int depth;              //  Nesting reached by tm_mp_skip, bounded by TM_MP_DEPTH_MAX
} tm_mp_reader_t;

#define TM_MP_DEPTH_MAX     16

void
    tm_mp_reader_init (tm_mp_reader_t *self, const void *data, size_t size);

//  Headers. The count is checked against the bytes left (each element needs at least one).
int
    tm_mp_read_map (tm_mp_reader_t *self, uint32_t *count);
int
    tm_mp_read_array (tm_mp_reader_t *self, uint32_t *count);

//  A string, returned as a pointer into the buffer (not NUL-terminated) and its length.
int
    tm_mp_read_str (tm_mp_reader_t *self, const char **str, uint32_t *len);

//  A string copied into buf with a NUL; fails if it needs more than size - 1 bytes, holds a
//  NUL, or is not well-formed UTF-8.
int
    tm_mp_read_cstr (tm_mp_reader_t *self, char *buf, size_t size);

//  True if s [0..len) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool
    tm_utf8_valid (const unsigned char *s, size_t len);

//  Any integer that fits int64 (positive fixint, uint8..64, negative ints).
int
    tm_mp_read_int (tm_mp_reader_t *self, int64_t *value);

//  Any integer >= 0 that fits uint64.
int
    tm_mp_read_uint (tm_mp_reader_t *self, uint64_t *value);

//  A float32/float64 or an integer, as a double. Rejects NaN and infinities.
int
    tm_mp_read_double (tm_mp_reader_t *self, double *value);

//  True if the next value is nil; consumes it if so.
bool
    tm_mp_next_is_nil (tm_mp_reader_t *self);

//  True if the next value is an array header (not consumed).
bool
    tm_mp_next_is_array (tm_mp_reader_t *self);

//  Skip one value of any type, nested up to TM_MP_DEPTH_MAX.
int
    tm_mp_skip (tm_mp_reader_t *self);

//  0 when the reader has not failed and has read the whole buffer, else TM_MALFORMED.
int
    tm_mp_finish (tm_mp_reader_t *self);

//  Open a record body (status, event, stats, heartbeat): 1..TM_BODY_MAX bytes holding a map.
//  Returns 0 and sets *pairs, or TM_MALFORMED.
int
    tm_mp_record_open (tm_mp_reader_t *self, const void *data, size_t size, uint32_t *pairs);

//  The keys every record carries, read after its key: "v", which must be 1 (sets bit 1 of
//  *seen), and "kind", which must equal kind (bit 2; kind NULL leaves "kind" to the caller).
//  Returns 1 when the key was one of them and right, 0 when it is another key (nothing read),
//  TM_MALFORMED when its value is wrong.
int
    tm_mp_record_key (tm_mp_reader_t *self, const char *key, uint32_t len, const char *kind,
                      uint32_t *seen);

//  ------------------------------------------------------------------------------------------
//  The records' shared pieces: a key of a literal, a C string, and the decoder's key test
//  (inside a loop that read the key into key / len)

#define TM_MP_PACK_KEY(pk, k)   (msgpack_pack_str ((pk), sizeof (k) - 1), \
                                 msgpack_pack_str_body ((pk), (k), sizeof (k) - 1))
#define TM_MP_KEY_IS(k)         (len == sizeof (k) - 1 && memcmp (key, (k), sizeof (k) - 1) == 0)

static inline void
tm_mp_pack_str (msgpack_packer *pk, const char *s)
{
    size_t len = strlen (s);
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

//  ------------------------------------------------------------------------------------------
//  Writer for hot paths: msgpack-c's packer calls its write callback once per value, which
//  made a tick cost 0.7 us to encode; these inline writers store straight into a buffer the
//  caller has reserved (tm_mp_reserve), in the same smallest-form encodings msgpack-c uses.

//  Make room for size more bytes at the end of buf. Returns a pointer to the first free byte.
uint8_t *
    tm_mp_reserve (msgpack_sbuffer *buf, size_t size);

static inline uint8_t *
tm_mp_put_be (uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (uint8_t) (v >> (i * 8));
    return p;
}

static inline uint8_t *
tm_mp_put_map (uint8_t *p, uint32_t n)
{
    if (n < 16)
        *p++ = (uint8_t) (0x80 | n);
    else
    if (n < 65536) {
        *p++ = 0xde;
        p = tm_mp_put_be (p, n, 2);
    }
    else {
        *p++ = 0xdf;
        p = tm_mp_put_be (p, n, 4);
    }
    return p;
}

static inline uint8_t *
tm_mp_put_array (uint8_t *p, uint32_t n)
{
    if (n < 16)
        *p++ = (uint8_t) (0x90 | n);
    else
    if (n < 65536) {
        *p++ = 0xdc;
        p = tm_mp_put_be (p, n, 2);
    }
    else {
        *p++ = 0xdd;
        p = tm_mp_put_be (p, n, 4);
    }
    return p;
}

static inline uint8_t *
tm_mp_put_str (uint8_t *p, const char *s, size_t len)
{
    if (len < 32)
        *p++ = (uint8_t) (0xa0 | len);
    else
    if (len < 256) {
        *p++ = 0xd9;
        *p++ = (uint8_t) len;
    }
    else {
        *p++ = 0xda;
        p = tm_mp_put_be (p, len, 2);
    }
    memcpy (p, s, len);
    return p + len;
}

static inline uint8_t *
tm_mp_put_uint (uint8_t *p, uint64_t v)
{
    if (v < 128)
        *p++ = (uint8_t) v;
    else
    if (v < 256) {
        *p++ = 0xcc;
        *p++ = (uint8_t) v;
    }
    else
    if (v < 65536) {
        *p++ = 0xcd;
        p = tm_mp_put_be (p, v, 2);
    }
    else
    if (v <= UINT32_MAX) {
        *p++ = 0xce;
        p = tm_mp_put_be (p, v, 4);
    }
    else {
        *p++ = 0xcf;
        p = tm_mp_put_be (p, v, 8);
    }
    return p;
}

static inline uint8_t *
tm_mp_put_int (uint8_t *p, int64_t v)
{
    if (v >= 0)
        return tm_mp_put_uint (p, (uint64_t) v);
    if (v >= -32)
        *p++ = (uint8_t) (int8_t) v;
    else
    if (v >= INT8_MIN) {
        *p++ = 0xd0;
        *p++ = (uint8_t) (int8_t) v;
    }
    else
    if (v >= INT16_MIN) {
        *p++ = 0xd1;
        p = tm_mp_put_be (p, (uint16_t) (int16_t) v, 2);
    }
    else
    if (v >= INT32_MIN) {
        *p++ = 0xd2;
        p = tm_mp_put_be (p, (uint32_t) (int32_t) v, 4);
    }
    else {
        *p++ = 0xd3;
        p = tm_mp_put_be (p, (uint64_t) v, 8);
    }
    return p;
}

static inline uint8_t *
tm_mp_put_double (uint8_t *p, double d)
{
    uint64_t u;
    memcpy (&u, &d, sizeof u);
    *p++ = 0xcb;
    return tm_mp_put_be (p, u, 8);
}

#endif
