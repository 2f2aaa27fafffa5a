/* The TickWriter's per-tick loop for frames in which nothing needs a decision, compiled (issue 12).

   stage(frames, start, staging, count, tick_seq, recv_ns, exchange_id, bounds, symbols, ids_from_seq, capacity)
     -> (index reached, count, tick_seq)

   Packs the ticks of ``frames[start:]`` (lists of trade tuples) in order as TICK records ("<qqddQQIHbBQ", 64 bytes:
   shm/record_forms.py) into ``staging`` from record ``count`` on, numbering them from ``tick_seq``, exactly as
   feeds/ticks.py's ``_stage_each`` would with no extra flags and no overlap, and updates each symbol's
   [id, last venue seq, last exchange time] in ``symbols`` the same way. It stops before the first frame that needs
   a decision: a symbol not in ``symbols`` (registration), a trade outside ``bounds`` (Limits.bounds), a sequence
   that repeats or skips (duplicates, gaps), a trade id that is neither a decimal number nor a UUID (hashed), a field of
   another type or out of its record field's range, a frame of more than 64 trades, or a staging area that would
   fill. That frame's own updates are undone, so the Python loop takes it from a clean state and decides (counts,
   logs, callbacks). A frame is never split. tests/unit/test_compiled_stage.py compares ring bytes, counters and
   symbol state with the Python loop. Loaded by feeds/compiled.py; optional (setup.py). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
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

/* A bound as Limits.bounds gives it: an int, or a float: +-inf for no bound on times, any float for prices. */
static int time_bound(PyObject *o, long long no_bound, long long *out) {
    if (PyLong_CheckExact(o)) {
        int overflow;
        *out = PyLong_AsLongLongAndOverflow(o, &overflow);
        return !overflow && !PyErr_Occurred();
    }
    if (PyFloat_CheckExact(o) && Py_IS_INFINITY(PyFloat_AS_DOUBLE(o))
            && (PyFloat_AS_DOUBLE(o) < 0) == (no_bound == LLONG_MIN)) {
        *out = no_bound;
        return 1;
    }
    return 0;
}

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

static int read_limits(PyObject *bounds, limits *l) {
    if (!PyTuple_CheckExact(bounds) || PyTuple_GET_SIZE(bounds) != 6) return 0;
    return time_bound(PyTuple_GET_ITEM(bounds, 0), LLONG_MIN, &l->oldest)
        && time_bound(PyTuple_GET_ITEM(bounds, 1), LLONG_MAX, &l->newest)
        && value_bound(PyTuple_GET_ITEM(bounds, 2), &l->min_price) && value_bound(PyTuple_GET_ITEM(bounds, 3), &l->max_price)
        && value_bound(PyTuple_GET_ITEM(bounds, 4), &l->min_size) && value_bound(PyTuple_GET_ITEM(bounds, 5), &l->max_size);
}

static int int64_of(PyObject *o, long long *out) {
    int overflow;
    if (!PyLong_CheckExact(o)) return 0;
    *out = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    return 1;
}

/* ``trade_id`` text of 1 to 20 ASCII digits whose value fits u64 (TickWriter's inlined common case). */
static int decimal_id(PyObject *text, unsigned long long *out) {
    if (!PyUnicode_CheckExact(text) || !PyUnicode_IS_ASCII(text)) return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
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
static int uuid_id(PyObject *text, unsigned long long *ident, unsigned long long *low) {
    if (!PyUnicode_CheckExact(text) || !PyUnicode_IS_ASCII(text) || PyUnicode_GET_LENGTH(text) != 36) return 0;
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    unsigned long long words[2] = {0, 0};
    int digits = 0;
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

/* One trade into its record at ``out``; 0 (nothing changed, nothing logged) when it needs a decision. */
static int stage_trade(PyObject *trade, PyObject *symbols, const limits *l, long long recv_ns, long long tick_seq,
                       int exchange_id, int ids_from_seq, unsigned char *out, undo *entry) {
    long long ts, side, flags, seq, span, last, known_id;
    unsigned long long ident, ident_lo = 0;
    if (!PyTuple_Check(trade) || PyTuple_GET_SIZE(trade) != 9) return 0;  /* a tuple, or a Trade (a NamedTuple) */
    PyObject **f = &PyTuple_GET_ITEM(trade, 0);
    if (!PyUnicode_CheckExact(f[0]) || !PyFloat_CheckExact(f[1]) || !PyFloat_CheckExact(f[2])) return 0;
    PyObject *known = PyDict_GetItemWithError(symbols, f[0]);  /* borrowed */
    if (!known) { PyErr_Clear(); return 0; }
    if (!PyList_CheckExact(known) || PyList_GET_SIZE(known) < 3) return 0;
    double price = PyFloat_AS_DOUBLE(f[1]), size = PyFloat_AS_DOUBLE(f[2]);
    if (!int64_of(f[3], &side) || !int64_of(f[4], &ts) || !int64_of(f[6], &flags) || !int64_of(f[7], &seq)
            || !int64_of(f[8], &span) || !int64_of(PyList_GET_ITEM(known, 0), &known_id)) return 0;
    if (!(l->oldest <= ts && ts <= l->newest && l->min_price <= price && price <= l->max_price
          && l->min_size <= size && size <= l->max_size)) return 0;  /* implausible: counted and logged in Python */
    if (seq >= 0 && (!int64_of(PyList_GET_ITEM(known, 1), &last) || (last >= 0 && (seq <= last || seq - last > span))))
        return 0;  /* a repeat or a gap (or a last seq the Python loop must compare) */
    if (ids_from_seq && seq >= 0) ident = (unsigned long long)seq;
    else if (!decimal_id(f[5], &ident)) {
        if (!uuid_id(f[5], &ident, &ident_lo)) return 0;  /* other text: hashed in Python */
        flags |= FLAG_TRADE_UUID;
    }
    if (known_id < 0 || known_id > UINT32_MAX || side < -128 || side > 127 || flags < 0 || flags > 255
            || exchange_id < 0 || exchange_id > 65535) return 0;  /* struct.error in Python: the frame is dropped */
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

static PyObject *stage(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    long long count, tick_seq, recv_ns, exchange_id, capacity;
    limits l;
    Py_buffer view;
    undo log[MAX_FRAME_TRADES];
    if (nargs != 11) { PyErr_SetString(PyExc_TypeError, "stage takes 11 arguments"); return NULL; }
    PyObject *frames = args[0], *symbols = args[8];
    Py_ssize_t done = PyLong_AsSsize_t(args[1]);
    count = PyLong_AsLongLong(args[3]);
    tick_seq = PyLong_AsLongLong(args[4]);
    recv_ns = PyLong_AsLongLong(args[5]);
    exchange_id = PyLong_AsLongLong(args[6]);
    int ids_from_seq = PyObject_IsTrue(args[9]);
    capacity = PyLong_AsLongLong(args[10]);
    if (PyErr_Occurred()) return NULL;
    if (!(PyList_CheckExact(frames) || PyTuple_CheckExact(frames)) || !PyDict_CheckExact(symbols)
            || !read_limits(args[7], &l) || count < 0 || capacity < count || done < 0)
        return Py_BuildValue("(nLL)", done, count, tick_seq);  /* the Python loop decides it all */
    if (PyObject_GetBuffer(args[2], &view, PyBUF_WRITABLE) < 0) return NULL;
    if (view.len < capacity * RECORD_BYTES) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "stage: the staging area is smaller than its capacity");
        return NULL;
    }
    unsigned char *staging = view.buf;
    Py_ssize_t total = PySequence_Fast_GET_SIZE(frames);
    for (; done < total; done++) {
        PyObject *trades = PySequence_Fast_GET_ITEM(frames, done);
        if (!(PyList_CheckExact(trades) || PyTuple_CheckExact(trades))) break;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(trades);
        if (n > MAX_FRAME_TRADES || count + n > capacity) break;
        int k = 0;
        for (; k < n; k++)
            if (!stage_trade(PySequence_Fast_GET_ITEM(trades, k), symbols, &l, recv_ns, tick_seq + k, (int)exchange_id,
                             ids_from_seq, staging + (count + k) * RECORD_BYTES, &log[k])) break;
        if (k < n) { roll_back(log, k); break; }
        commit(log, k);
        count += n;
        tick_seq += n;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nLL)", done, count, tick_seq);
}

static PyMethodDef methods[] = {
    {"stage", (PyCFunction)(void (*)(void))stage, METH_FASTCALL,
     "stage(frames, start, staging, count, tick_seq, recv_ns, exchange_id, bounds, symbols, ids_from_seq, capacity)"
     " -> (index reached, count, tick_seq): TickWriter._stage_each's usual case, compiled (feeds/_stage.c)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "feeds._stage", "The compiled tick staging loop.", -1,
                                        methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__stage(void) { return PyModule_Create(&module_def); }
