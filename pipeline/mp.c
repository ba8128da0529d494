//  mp - bounded, allocation-free msgpack reader (see mp.h)

#include "tickmux.h"

static int
s_fail (tm_mp_reader_t *self)
{
    self->failed = true;
    return TM_MALFORMED;
}

static size_t
s_left (tm_mp_reader_t *self)
{
    return self->size - self->pos;
}

//  Read an n-byte big-endian unsigned integer, n in {1, 2, 4, 8}.
static int
s_be (tm_mp_reader_t *self, size_t n, uint64_t *value)
{
    if (self->failed || s_left (self) < n)
        return s_fail (self);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | self->data [self->pos + i];
    self->pos += n;
    *value = v;
    return 0;
}

static int
s_byte (tm_mp_reader_t *self, uint8_t *byte)
{
    if (self->failed || s_left (self) < 1)
        return s_fail (self);
    *byte = self->data [self->pos++];
    return 0;
}

void
tm_mp_reader_init (tm_mp_reader_t *self, const void *data, size_t size)
{
    assert (self);
    self->data = (const uint8_t *) data;
    self->size = data ? size : 0;
    self->pos = 0;
    self->failed = false;
    self->depth = 0;
}

//  A container of count elements, each taking at least min_bytes, must fit in what is left.
static int
s_container (tm_mp_reader_t *self, uint64_t count, size_t min_bytes, uint32_t *out)
{
    if (count > s_left (self) / min_bytes)
        return s_fail (self);
    *out = (uint32_t) count;
    return 0;
}

int
tm_mp_read_map (tm_mp_reader_t *self, uint32_t *count)
{
    uint8_t b;
    uint64_t n;
    if (s_byte (self, &b))
        return TM_MALFORMED;
    if ((b & 0xf0) == 0x80)
        n = b & 0x0f;
    else
    if (b == 0xde) {
        if (s_be (self, 2, &n))
            return TM_MALFORMED;
    }
    else
    if (b == 0xdf) {
        if (s_be (self, 4, &n))
            return TM_MALFORMED;
    }
    else
        return s_fail (self);
    return s_container (self, n, 2, count);
}

int
tm_mp_read_array (tm_mp_reader_t *self, uint32_t *count)
{
    uint8_t b;
    uint64_t n;
    if (s_byte (self, &b))
        return TM_MALFORMED;
    if ((b & 0xf0) == 0x90)
        n = b & 0x0f;
    else
    if (b == 0xdc) {
        if (s_be (self, 2, &n))
            return TM_MALFORMED;
    }
    else
    if (b == 0xdd) {
        if (s_be (self, 4, &n))
            return TM_MALFORMED;
    }
    else
        return s_fail (self);
    return s_container (self, n, 1, count);
}

int
tm_mp_read_str (tm_mp_reader_t *self, const char **str, uint32_t *len)
{
    uint8_t b;
    uint64_t n;
    if (s_byte (self, &b))
        return TM_MALFORMED;
    if ((b & 0xe0) == 0xa0)
        n = b & 0x1f;
    else
    if (b >= 0xd9 && b <= 0xdb) {
        if (s_be (self, (size_t) 1 << (b - 0xd9), &n))
            return TM_MALFORMED;
    }
    else
        return s_fail (self);
    if (n > s_left (self))
        return s_fail (self);
    *str = (const char *) self->data + self->pos;
    *len = (uint32_t) n;
    self->pos += n;
    return 0;
}

//  True if s [0..len) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool
tm_utf8_valid (const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s [i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        else
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        }
        else
        if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        }
        else
        if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        }
        else
            return false;
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s [i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s [i + k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
        ||  cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

int
tm_mp_read_cstr (tm_mp_reader_t *self, char *buf, size_t size)
{
    const char *str;
    uint32_t len;
    if (tm_mp_read_str (self, &str, &len))
        return TM_MALFORMED;
    //  Strings become JSON text for WebSocket clients, which must be valid UTF-8.
    if (len >= size || memchr (str, '\0', len) || !tm_utf8_valid ((const unsigned char *) str, len))
        return s_fail (self);
    memcpy (buf, str, len);
    buf [len] = '\0';
    return 0;
}

int
tm_mp_read_int (tm_mp_reader_t *self, int64_t *value)
{
    uint8_t b;
    uint64_t u;
    if (s_byte (self, &b))
        return TM_MALFORMED;
    if (b <= 0x7f)
        *value = b;
    else
    if (b >= 0xe0)
        *value = (int8_t) b;
    else
    if (b >= 0xcc && b <= 0xcf) {
        if (s_be (self, (size_t) 1 << (b - 0xcc), &u))
            return TM_MALFORMED;
        if (u > INT64_MAX)
            return s_fail (self);
        *value = (int64_t) u;
    }
    else
    if (b >= 0xd0 && b <= 0xd3) {
        size_t n = (size_t) 1 << (b - 0xd0);
        if (s_be (self, n, &u))
            return TM_MALFORMED;
        //  Sign-extend from n bytes
        if (n < 8 && (u & ((uint64_t) 1 << (n * 8 - 1))))
            u |= ~(uint64_t) 0 << (n * 8);
        *value = (int64_t) u;
    }
    else
        return s_fail (self);
    return 0;
}

int
tm_mp_read_uint (tm_mp_reader_t *self, uint64_t *value)
{
    if (self->failed || s_left (self) < 1)
        return s_fail (self);
    uint8_t b = self->data [self->pos];
    if (b >= 0xcc && b <= 0xcf) {
        self->pos++;
        return s_be (self, (size_t) 1 << (b - 0xcc), value);
    }
    int64_t v;
    if (tm_mp_read_int (self, &v))
        return TM_MALFORMED;
    if (v < 0)
        return s_fail (self);
    *value = (uint64_t) v;
    return 0;
}

int
tm_mp_read_double (tm_mp_reader_t *self, double *value)
{
    if (self->failed || s_left (self) < 1)
        return s_fail (self);
    uint8_t b = self->data [self->pos];
    uint64_t u;
    double d;
    if (b == 0xca) {
        self->pos++;
        if (s_be (self, 4, &u))
            return TM_MALFORMED;
        uint32_t u32 = (uint32_t) u;
        float f;
        memcpy (&f, &u32, sizeof f);
        d = f;
    }
    else
    if (b == 0xcb) {
        self->pos++;
        if (s_be (self, 8, &u))
            return TM_MALFORMED;
        memcpy (&d, &u, sizeof d);
    }
    else {
        int64_t v;
        if (tm_mp_read_int (self, &v))
            return TM_MALFORMED;
        d = (double) v;
    }
    if (!isfinite (d))
        return s_fail (self);
    *value = d;
    return 0;
}

bool
tm_mp_next_is_nil (tm_mp_reader_t *self)
{
    if (!self->failed && s_left (self) >= 1 && self->data [self->pos] == 0xc0) {
        self->pos++;
        return true;
    }
    return false;
}

bool
tm_mp_next_is_array (tm_mp_reader_t *self)
{
    if (self->failed || s_left (self) < 1)
        return false;
    uint8_t b = self->data [self->pos];
    return (b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd;
}

//  Skip n raw bytes.
static int
s_skip_bytes (tm_mp_reader_t *self, uint64_t n)
{
    if (self->failed || n > s_left (self))
        return s_fail (self);
    self->pos += n;
    return 0;
}

int
tm_mp_skip (tm_mp_reader_t *self)
{
    uint8_t b;
    uint64_t n;
    if (self->failed || s_left (self) < 1)
        return s_fail (self);
    b = self->data [self->pos];
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        self->pos++;
        return 0;
    }
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)) {
        const char *s;
        uint32_t len;
        return tm_mp_read_str (self, &s, &len);
    }
    if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90 || (b >= 0xdc && b <= 0xdf)) {
        bool is_map = (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
        uint32_t count;
        if (is_map ? tm_mp_read_map (self, &count) : tm_mp_read_array (self, &count))
            return TM_MALFORMED;
        if (++self->depth > TM_MP_DEPTH_MAX)
            return s_fail (self);
        uint64_t items = is_map ? (uint64_t) count * 2 : count;
        for (uint64_t i = 0; i < items; i++)
            if (tm_mp_skip (self))
                return TM_MALFORMED;
        self->depth--;
        return 0;
    }
    self->pos++;
    switch (b) {
        case 0xc4: case 0xc5: case 0xc6:        //  bin 8/16/32
            if (s_be (self, (size_t) 1 << (b - 0xc4), &n))
                return TM_MALFORMED;
            return s_skip_bytes (self, n);
        case 0xc7: case 0xc8: case 0xc9:        //  ext 8/16/32: length, type, data
            if (s_be (self, (size_t) 1 << (b - 0xc7), &n))
                return TM_MALFORMED;
            return s_skip_bytes (self, n + 1);
        case 0xca: return s_skip_bytes (self, 4);
        case 0xcb: return s_skip_bytes (self, 8);
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
            return s_skip_bytes (self, (size_t) 1 << (b - 0xcc));
        case 0xd0: case 0xd1: case 0xd2: case 0xd3:
            return s_skip_bytes (self, (size_t) 1 << (b - 0xd0));
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:     //  fixext: type + data
            return s_skip_bytes (self, 1 + ((size_t) 1 << (b - 0xd4)));
        default:                                //  0xc1 is never used
            return s_fail (self);
    }
}

int
tm_mp_finish (tm_mp_reader_t *self)
{
    return (!self->failed && self->pos == self->size) ? 0 : TM_MALFORMED;
}

uint8_t *
tm_mp_reserve (msgpack_sbuffer *buf, size_t size)
{
    if (buf->alloc - buf->size < size) {
        size_t alloc = buf->alloc ? buf->alloc : 4096;
        while (alloc - buf->size < size)
            alloc *= 2;
        char *data = (char *) realloc (buf->data, alloc);
        assert (data);
        buf->data = data;
        buf->alloc = alloc;
    }
    return (uint8_t *) buf->data + buf->size;
}

int
tm_mp_record_open (tm_mp_reader_t *self, const void *data, size_t size, uint32_t *pairs)
{
    assert (self && pairs);
    if (!data || size == 0 || size > TM_BODY_MAX)
        return TM_MALFORMED;
    tm_mp_reader_init (self, data, size);
    return tm_mp_read_map (self, pairs) ? TM_MALFORMED : 0;
}

int
tm_mp_record_key (tm_mp_reader_t *self, const char *key, uint32_t len, const char *kind,
                  uint32_t *seen)
{
    assert (self && key && seen);
    if (TM_MP_KEY_IS ("v")) {
        uint64_t v;
        if (tm_mp_read_uint (self, &v) || v != 1)
            return TM_MALFORMED;
        *seen |= 1;
        return 1;
    }
    if (kind && TM_MP_KEY_IS ("kind")) {
        char text [16];
        if (tm_mp_read_cstr (self, text, sizeof text) || strcmp (text, kind) != 0)
            return TM_MALFORMED;
        *seen |= 2;
        return 1;
    }
    return 0;
}
