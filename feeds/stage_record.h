/* One tick record from a trade's fields, as TickWriter._stage_each packs it when nothing needs a decision
   (feeds/ticks.py): the symbol's [id, last seq, last time] list moved on (and an undo log to put it back), the
   TICK record ("<qqddQQIHbBQ", 64 bytes: shm/record_forms.py) written. Shared by the staging loop over trade tuples
   (feeds/_stage.c) and the read loop that stages what it scans (feeds/_pump.c). */
#include <stdint.h>
#include <string.h>

#define RECORD_BYTES 64
#define MAX_FRAME_TRADES 64
#define FLAG_TRADE_UUID 8  /* shm/flags.py */

typedef struct {
    PyObject *known;   /* the symbol's [id, last seq, last time] list */
    PyObject *old[2];  /* its items 1 and 2 before this trade: the list's references, now owned here */
} undo;

typedef struct {
    long long oldest, newest;
    double min_price, max_price, min_size, max_size;
} limits;

static int value_bound(PyObject *o, double *out) {
    if (PyFloat_CheckExact(o)) { *out = PyFloat_AS_DOUBLE(o); return 1; }
    if (PyLong_CheckExact(o)) {  /* exact as a double only up to 2^53 */
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || PyErr_Occurred() || v > (1LL << 53) || v < -(1LL << 53)) return 0;
        *out = (double)v;
        return 1;
    }
    return 0;
}

static int int64_of(PyObject *o, long long *out) {
    int overflow;
    if (!PyLong_CheckExact(o)) return 0;
    *out = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    return 1;
}

/* ``trade_id`` text of 1 to 20 ASCII digits whose value fits u64 (TickWriter's inlined common case). */
static int decimal_bytes(const unsigned char *s, Py_ssize_t n, unsigned long long *out) {
    unsigned long long x = 0;
    if (n < 1 || n > 20) return 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        unsigned d = (unsigned)(s[k] - '0');
        if (d > 9 || x > (UINT64_MAX - d) / 10) return 0;
        x = x * 10 + d;
    }
    *out = x;
    return 1;
}

/* A UUID's text (``[0-9a-fA-F]{8}-{4}-{4}-{4}-{12}``) as a tick's (trade_id, trade_id_lo): shm/records.py uuid_words,
   high ^ mix64(low) and low (splitmix64's finaliser). */
static int uuid_bytes(const unsigned char *s, Py_ssize_t n, unsigned long long *ident, unsigned long long *low) {
    unsigned long long words[2] = {0, 0};
    int digits = 0;
    if (n != 36) return 0;
    for (int k = 0; k < 36; k++) {
        unsigned c = s[k], d;
        if (k == 8 || k == 13 || k == 18 || k == 23) {
            if (c != '-') return 0;
            continue;
        }
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        words[digits / 16] = words[digits / 16] << 4 | d;
        digits++;
    }
    uint64_t w = words[1];
    w = (w ^ (w >> 30)) * 0xBF58476D1CE4E5B9ULL;
    w = (w ^ (w >> 27)) * 0x94D049BB133111EBULL;
    *ident = words[0] ^ (w ^ (w >> 31));
    *low = words[1];
    return 1;
}

/* A trade id's text as (trade_id, trade_id_lo, flag): a decimal number, or a UUID; 0 for other text (hashed in
   Python). */
static int id_words(const unsigned char *s, Py_ssize_t n, unsigned long long *ident, unsigned long long *low,
                    long long *flag) {
    *low = 0;
    *flag = 0;
    if (decimal_bytes(s, n, ident)) return 1;
    if (!uuid_bytes(s, n, ident, low)) return 0;
    *flag = FLAG_TRADE_UUID;
    return 1;
}

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }  /* x86-64 and aarch64: little-endian */

/* Undo a frame's symbol updates, newest first (a symbol may trade twice in one frame). */
static void roll_back(undo *log, int n) {
    for (int k = n - 1; k >= 0; k--) {
        PyObject *old1 = PyList_GET_ITEM(log[k].known, 1), *old2 = PyList_GET_ITEM(log[k].known, 2);
        PyList_SET_ITEM(log[k].known, 1, log[k].old[0]);
        PyList_SET_ITEM(log[k].known, 2, log[k].old[1]);
        Py_DECREF(old1);
        Py_DECREF(old2);
    }
}

static void commit(undo *log, int n) {
    for (int k = 0; k < n; k++) { Py_DECREF(log[k].old[0]); Py_DECREF(log[k].old[1]); }
}

/* The record of one trade at ``out`` and its symbol's state moved on; 0 (nothing changed, nothing logged) when it
   needs a decision: outside ``l`` (implausible), a sequence that repeats or skips, a field out of its record
   field's range (struct.error in Python: the frame is dropped), a symbol state the Python loop must read. */
static int stage_fields(PyObject *known, const limits *l, long long ts, double price, double size, long long side,
                        long long flags, long long seq, long long span, unsigned long long ident,
                        unsigned long long ident_lo, long long recv_ns, long long tick_seq, int exchange_id,
                        unsigned char *out, undo *entry) {
    long long last, known_id;
    if (!PyList_CheckExact(known) || PyList_GET_SIZE(known) < 3 || !int64_of(PyList_GET_ITEM(known, 0), &known_id))
        return 0;
    if (!(l->oldest <= ts && ts <= l->newest && l->min_price <= price && price <= l->max_price
          && l->min_size <= size && size <= l->max_size)) return 0;  /* implausible: counted and logged in Python */
    if (seq >= 0 && (!int64_of(PyList_GET_ITEM(known, 1), &last) || (last >= 0 && (seq <= last || seq - last > span))))
        return 0;  /* a repeat or a gap (or a last seq the Python loop must compare) */
    if (known_id < 0 || known_id > UINT32_MAX || side < -128 || side > 127 || flags < 0 || flags > 255
            || exchange_id < 0 || exchange_id > 65535) return 0;
    PyObject *new_ts = PyLong_FromLongLong(ts);
    PyObject *new_seq = seq >= 0 ? PyLong_FromLongLong(seq) : Py_NewRef(PyList_GET_ITEM(known, 1));
    if (!new_ts || !new_seq) { Py_XDECREF(new_ts); Py_XDECREF(new_seq); PyErr_Clear(); return 0; }
    entry->known = known;
    entry->old[0] = PyList_GET_ITEM(known, 1);  /* the list's references, from here the undo log's */
    entry->old[1] = PyList_GET_ITEM(known, 2);
    PyList_SET_ITEM(known, 1, new_seq);
    PyList_SET_ITEM(known, 2, new_ts);
    put64(out, (uint64_t)ts);
    put64(out + 8, (uint64_t)recv_ns);
    memcpy(out + 16, &price, 8);
    memcpy(out + 24, &size, 8);
    put64(out + 32, ident);
    put64(out + 40, (uint64_t)tick_seq);
    uint32_t symbol_id = (uint32_t)known_id;
    uint16_t exchange = (uint16_t)exchange_id;
    memcpy(out + 48, &symbol_id, 4);
    memcpy(out + 52, &exchange, 2);
    out[54] = (unsigned char)(int8_t)side;
    out[55] = (unsigned char)flags;
    put64(out + 56, ident_lo);
    return 1;
}
