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

//  A string copied into buf with a NUL; fails if it needs more than size - 1 bytes.
int
    tm_mp_read_cstr (tm_mp_reader_t *self, char *buf, size_t size);

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

#endif
