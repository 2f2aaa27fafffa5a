/* A feed's read loop for usual traffic, compiled (issue 12): wait, receive, split, scan, stage, push, again.

   At a few thousand frames a second a feed pays a wakeup per read, and the interpreter's path through one
   (Feed._serve, Session.read, Connection.read, Session.text, TickWriter.add_one, the pusher: ~150 bytecodes, run
   cold after other processes ran) cost 2-3x the bare recv loop it rides on; and building each trade's tuple,
   strings and floats for the staging loop to take apart again cost as much as the reading. ``Pump.run`` stays in
   C across reads and builds no Python object for a usual trade:

     recv (blocking, the socket's SO_RCVTIMEO; the GIL released)         -> TIMEOUT when it expires
     each whole frame: an unmasked text frame under the size limit, its trades read by the venue's compiled reader
       (feeds/scan_venues.h) into structs, their records packed (feeds/stage_record.h: the symbol's list found
       through feeds/symbol_cache.h)      -> a frame it doubts (control, binary, fragment, oversized, not a usual
                                             trade frame): REST; a frame whose trades need a decision (a new symbol,
                                             a gap, a repeat, an implausible or hashed-id trade): REST, that frame's
                                             trades handed over as tuples (``frames``) to be staged first
     the staged records pushed into the tick ring (feeds/ring_push.h)    -> the ring's damage check due: CHECK
     optionally the batching wait (feeds/batching.py), the next read not blocking and stamped with its start
     the housekeeping time passed                                        -> HOUSEKEEPING
   and returns to Python (feeds/pumped.py) for each of those, for EOF and for errors. On REST the frames of the read
   it did not handle are moved to the buffer's start (``received`` bytes), for Connection.dispatch to hand on as
   the Python reader would; every read's bytes and every frame handled here are counted here (``counters``). So
   outcomes never depend on which loop read a frame (tests/unit/test_pump.py compares ring bytes and counters).

   Signals: Python's handlers run only at the top of the loop (nothing staged, nothing half-read) and when a wait
   is interrupted; a stop signal's ``Stopped`` (feeds/stop.py) propagates from there. Optional (setup.py); loaded
   by feeds/compiled.py. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "structmember.h"
#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include "scan_venues.h"
#include "stage_record.h"
#include "ring_push.h"
#include "symbol_cache.h"

enum { TIMEOUT, HOUSEKEEPING, REST, CHECK, END, FAILED };
enum { C_BYTES, C_READS, C_FRAMES, C_TRADES, C_TICKS, C_RING_DROPPED, C_BATCH_WAITS, N_COUNTERS };

typedef struct {
    PyObject_HEAD
    int fd, venue, exchange_id, ids_from_seq;
    Py_ssize_t max_frame, staging_capacity, slots;
    PyObject *buffer, *channels, *staging, *symbols, *ring_memory;
    long long behind, ahead;  /* Limits: receive time minus / plus these bound exchange times (LLONG_MAX: none) */
    double min_price, max_price, min_size, max_size;
    symbol_cache cache;
    long long filled, staged, tick_seq, recv_ns, last_rx_ns, received;
    int error;
    PyObject *frames;  /* REST: the trade list of the frame to stage before the rest, or None */
    long long counters[N_COUNTERS];
} Pump;

static long long clock_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void pump_dealloc(Pump *self) {
    Py_XDECREF(self->buffer); Py_XDECREF(self->channels); Py_XDECREF(self->staging); Py_XDECREF(self->symbols);
    Py_XDECREF(self->ring_memory); Py_XDECREF(self->frames);
    cache_clear(&self->cache);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A Limits offset (``_behind_ns``, ``_ahead_ns``): an int, or inf for no bound (LLONG_MAX). */
static int offset_of(PyObject *o, long long *out) {
    if (PyFloat_CheckExact(o) && Py_IS_INFINITY(PyFloat_AS_DOUBLE(o)) && PyFloat_AS_DOUBLE(o) > 0) {
        *out = LLONG_MAX;
        return 1;
    }
    return int64_of(o, out) && *out >= 0 && *out < LLONG_MAX;
}

/* Pump(fd, buffer, max_frame, venue, channels, staging, staging_capacity, symbols, exchange_id, ids_from_seq,
        (behind_ns, ahead_ns, min_price, max_price, min_size, max_size), ring_memory, slots) */
static int pump_init(Pump *self, PyObject *args, PyObject *kwds) {
    PyObject *buffer, *channels, *staging, *symbols, *parts, *memory;
    const char *venue;
    int fd, exchange_id, ids_from_seq;
    Py_ssize_t max_frame, capacity, slots;
    if (!PyArg_ParseTuple(args, "iO!nsOO!nO!ipO!On", &fd, &PyByteArray_Type, &buffer, &max_frame, &venue, &channels,
                          &PyByteArray_Type, &staging, &capacity, &PyDict_Type, &symbols, &exchange_id, &ids_from_seq,
                          &PyTuple_Type, &parts, &memory, &slots))
        return -1;
    self->venue = -1;
    for (int v = 0; v < N_VENUES; v++)
        if (strcmp(venue, VENUE_NAMES[v]) == 0) self->venue = v;
    if (self->venue < 0 || (self->venue == V_BITFINEX && !PyDict_Check(channels)) || PyTuple_GET_SIZE(parts) != 6
            || !offset_of(PyTuple_GET_ITEM(parts, 0), &self->behind) || !offset_of(PyTuple_GET_ITEM(parts, 1), &self->ahead)
            || !value_bound(PyTuple_GET_ITEM(parts, 2), &self->min_price)
            || !value_bound(PyTuple_GET_ITEM(parts, 3), &self->max_price)
            || !value_bound(PyTuple_GET_ITEM(parts, 4), &self->min_size)
            || !value_bound(PyTuple_GET_ITEM(parts, 5), &self->max_size)
            || max_frame < 0 || max_frame > PyByteArray_GET_SIZE(buffer) / 2 || capacity <= 0
            || capacity * RECORD_BYTES > PyByteArray_GET_SIZE(staging) || slots <= 0 || (slots & (slots - 1))
            || exchange_id < 0 || exchange_id > 65535) {
        PyErr_SetString(PyExc_ValueError, "Pump: a venue without a compiled reader, limits it cannot check, or bad sizes");
        return -1;
    }
    self->fd = fd;
    self->max_frame = max_frame;
    self->staging_capacity = capacity;
    self->slots = slots;
    self->exchange_id = exchange_id;
    self->ids_from_seq = ids_from_seq;
    cache_clear(&self->cache);
#define KEEP(field, value) do { Py_INCREF(value); Py_XSETREF(self->field, value); } while (0)
    KEEP(buffer, buffer); KEEP(channels, channels); KEEP(staging, staging); KEEP(symbols, symbols);
    KEEP(ring_memory, memory);
#undef KEEP
    return 0;
}

/* The length of the usual frame at ``data`` (an unmasked, final text frame): 1 and its header size and payload
   size; 0 while its header or payload is not all there; -1 for any other frame (Python reads it). */
static int usual_frame(const unsigned char *data, long long available, long long max_frame,
                       long long *header, long long *length) {
    if (available < 2) return 0;
    if (data[0] != 0x81 || (data[1] & 0x80)) return -1;
    long long size = data[1], at = 2;
    if (size == 126) {
        if (available < 4) return 0;
        size = (long long)data[2] << 8 | data[3];
        at = 4;
    } else if (size == 127) {
        if (available < 10) return 0;
        uint64_t big = 0;
        for (int i = 2; i < 10; i++) big = big << 8 | data[i];
        if (big > (uint64_t)max_frame) return -1;
        size = (long long)big;
        at = 10;
    }
    if (size > max_frame) return -1;
    if (available < at + size) return 0;
    *header = at;
    *length = size;
    return 1;
}

/* The writer's [id, last seq, last time] list of a trade's symbol (borrowed), or NULL: not known yet. */
static PyObject *known_of(Pump *self, const trade *t) {
    PyObject *known;
    if (t->symbol_object) {  /* Bitfinex: the channel's symbol, a str */
        if (!(known = PyDict_GetItemWithError(self->symbols, t->symbol_object))) PyErr_Clear();
        return known;
    }
    uint64_t h = text_hash(t->symbol.s, t->symbol.n);
    if ((known = cache_find(&self->cache, t->symbol.s, t->symbol.n, h))) return known;
    PyObject *key = PyUnicode_FromStringAndSize(t->symbol.s, t->symbol.n);  /* printable ASCII: the scanner's */
    if (key == NULL) { PyErr_Clear(); return NULL; }
    known = PyDict_GetItemWithError(self->symbols, key);
    Py_DECREF(key);
    if (known == NULL) { PyErr_Clear(); return NULL; }
    cache_put(&self->cache, t->symbol.s, t->symbol.n, h, known);
    return known;
}

/* A frame's ``n`` trades packed after the staged ones: 1, or 0 with nothing changed when one needs a decision. */
static int stage_frame(Pump *self, const trade *t, int n, const limits *l, unsigned char *staging) {
    undo log[MAX_ROWS];
    if (n > MAX_FRAME_TRADES || self->staged + n > self->staging_capacity) return 0;
    int k = 0;
    for (; k < n; k++) {
        unsigned long long ident, ident_lo = 0;
        long long id_flag = 0;
        PyObject *known = known_of(self, &t[k]);
        if (known == NULL) break;
        if (self->ids_from_seq && t[k].seq >= 0) ident = (unsigned long long)t[k].seq;
        else if (t[k].id_text == NULL) ident = (unsigned long long)t[k].id;  /* a JSON integer: its decimal text */
        else if (!id_words((const unsigned char *)t[k].id_text->s, t[k].id_text->n, &ident, &ident_lo, &id_flag)) break;
        if (!stage_fields(known, l, t[k].ns, t[k].price, t[k].size, t[k].side, id_flag, t[k].seq, 1, ident, ident_lo,
                          self->recv_ns, self->tick_seq + k, self->exchange_id,
                          staging + (self->staged + k) * RECORD_BYTES, &log[k])) break;
    }
    if (k < n) {
        roll_back(log, k);
        return 0;
    }
    commit(log, n);
    self->staged += n;
    self->tick_seq += n;
    self->counters[C_TICKS] += n;
    return 1;
}

/* Every whole frame of the buffer's first ``end`` bytes: the offset of the first byte not handled, -1 on an error.
   ``*python``: 1 when the bytes from there hold frames for Python to read (REST; ``*stage_first``: the trades of
   the frame before them, which need a decision, as a new list of tuples, or NULL), 0 when they are at most the
   start of a frame (kept for the next read). */
static long long handle_frames(Pump *self, unsigned char *data, long long end, unsigned char *staging, int *python,
                               PyObject **stage_first) {
    scanned work;
    trade t[MAX_ROWS];
    limits l = {self->behind == LLONG_MAX || self->recv_ns < LLONG_MIN + self->behind ? LLONG_MIN
                                                                                      : self->recv_ns - self->behind,
                self->ahead == LLONG_MAX || self->recv_ns > LLONG_MAX - self->ahead ? LLONG_MAX
                                                                                    : self->recv_ns + self->ahead,
                self->min_price, self->max_price, self->min_size, self->max_size};
    long long at = 0, header, length;
    *stage_first = NULL;
    *python = 1;
    for (;;) {
        int kind = usual_frame(data + at, end - at, self->max_frame, &header, &length);
        if (kind < 0) return at;
        if (kind == 0) {
            *python = 0;
            return at;
        }
        int n = scan_rows(self->venue, self->channels, (const char *)data + at + header, length, &work, t);
        if (n < 0) return at;
        self->counters[C_FRAMES] += 1;
        self->counters[C_TRADES] += n;
        at += header + length;
        if (n && !stage_frame(self, t, n, &l, staging)) {
            if (!(*stage_first = trade_list(t, n))) return -1;
            return at;
        }
    }
}

/* A wait, the GIL released; 0 when it ran its course or a signal handler ran without raising, -1 when one
   raised (``Stopped``). */
static int sleep_ns(long long ns) {
    struct timespec t = {ns / 1000000000LL, ns % 1000000000LL};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL);
    Py_END_ALLOW_THREADS
    if (rc == EINTR && PyErr_CheckSignals() < 0) return -1;
    return 0;
}

/* run(until_ns, batch_wait_ns, stamp_ns, check_from_ns, check_until_ns) -> why it returned (the enum above) */
static PyObject *pump_run(Pump *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) { PyErr_SetString(PyExc_TypeError, "run takes 5 arguments"); return NULL; }
    long long until = PyLong_AsLongLong(args[0]), batch_wait = PyLong_AsLongLong(args[1]);
    long long stamp = PyLong_AsLongLong(args[2]), check_from = PyLong_AsLongLong(args[3]);
    long long check_until = PyLong_AsLongLong(args[4]);
    if (PyErr_Occurred()) return NULL;
    Py_CLEAR(self->frames);
    Py_buffer buffer, staging, ring;
    if (PyObject_GetBuffer(self->buffer, &buffer, PyBUF_WRITABLE) < 0) return NULL;
    if (PyObject_GetBuffer(self->staging, &staging, PyBUF_WRITABLE) < 0) { PyBuffer_Release(&buffer); return NULL; }
    if (PyObject_GetBuffer(self->ring_memory, &ring, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&staging); PyBuffer_Release(&buffer); return NULL;
    }
    int why = -1;
    if (ring.len < HEADER_BYTES + self->slots * RECORD_BYTES || self->filled < 0 || self->filled >= buffer.len
            || self->staged < 0 || self->staged > self->staging_capacity
            || staging.len < self->staging_capacity * RECORD_BYTES) {
        PyErr_SetString(PyExc_ValueError, "Pump.run: the ring, buffer or staging area does not match");
        goto out;
    }
    unsigned char *data = buffer.buf;
    for (;;) {
        if (PyErr_CheckSignals() < 0) goto out;
        long long filled = self->filled, n;
        int error = 0;
        Py_BEGIN_ALLOW_THREADS
        n = recv(self->fd, data + filled, buffer.len - filled, stamp ? MSG_DONTWAIT : 0);
        if (n < 0) error = errno;
        Py_END_ALLOW_THREADS
        if (n < 0) {
            if (error == EINTR) continue;  /* its handler runs at the top */
            if (error == EAGAIN || error == EWOULDBLOCK) {
                if (stamp) { stamp = 0; continue; }  /* nothing came during the batching wait: the next read blocks */
                why = TIMEOUT;
                goto out;
            }
            self->error = error;
            why = FAILED;
            goto out;
        }
        if (n == 0) { why = END; goto out; }
        int stamped = stamp != 0;
        self->recv_ns = stamped ? stamp : clock_ns(CLOCK_REALTIME);
        stamp = 0;
        self->last_rx_ns = clock_ns(CLOCK_MONOTONIC);
        self->counters[C_BYTES] += n;
        self->counters[C_READS] += 1;
        int python;
        PyObject *stage_first;
        long long end = filled + n;
        long long at = handle_frames(self, data, end, staging.buf, &python, &stage_first);
        if (at < 0) goto out;
        if (at && at < end) memmove(data, data + at, end - at);
        if (python) {  /* the rest of this read is Python's: as if it had read it (counted) */
            self->frames = stage_first ? stage_first : Py_NewRef(Py_None);
            self->filled = 0;
            self->received = end - at;
            why = REST;
            goto out;
        }
        self->filled = end - at;
        if (self->staged) {
            long long now = stamped ? clock_ns(CLOCK_REALTIME) : self->recv_ns;  /* the heartbeat: µs old at most */
            if (!(check_from <= now && now < check_until)) { why = CHECK; goto out; }
            long long accepted = ring_push(self->slots, staging.buf, self->staged, ring.buf, now);
            self->counters[C_RING_DROPPED] += self->staged - accepted;
            self->staged = 0;
        }
        if (self->last_rx_ns >= until) { why = HOUSEKEEPING; goto out; }
        if (batch_wait > 0) {
            stamp = clock_ns(CLOCK_REALTIME);
            self->counters[C_BATCH_WAITS] += 1;
            if (sleep_ns(batch_wait) < 0) goto out;
        }
    }
out:
    PyBuffer_Release(&ring);
    PyBuffer_Release(&staging);
    PyBuffer_Release(&buffer);
    if (why < 0) return NULL;
    return PyLong_FromLong(why);
}

/* counters() -> the counts of the reads and frames handled in C since the last call, then zeroed:
   (bytes, reads, frames, trades, ticks, ring_dropped, batch_waits) */
static PyObject *pump_counters(Pump *self, PyObject *unused) {
    long long *c = self->counters;
    PyObject *out = Py_BuildValue("(LLLLLLL)", c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
    if (out != NULL) memset(c, 0, sizeof(self->counters));
    return out;
}

static PyMethodDef pump_methods[] = {
    {"run", (PyCFunction)(void (*)(void))pump_run, METH_FASTCALL, "wait, read and write ticks until Python must act"},
    {"counters", (PyCFunction)pump_counters, METH_NOARGS, "the counts since the last call (then zeroed)"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef pump_members[] = {
    {"filled", T_LONGLONG, offsetof(Pump, filled), 0, "bytes of an unread frame at the buffer's start"},
    {"staged", T_LONGLONG, offsetof(Pump, staged), 0, "records in the staging area, not yet in the ring"},
    {"tick_seq", T_LONGLONG, offsetof(Pump, tick_seq), 0, "the next tick's number"},
    {"recv_ns", T_LONGLONG, offsetof(Pump, recv_ns), READONLY, "the last read's receive time"},
    {"last_rx_ns", T_LONGLONG, offsetof(Pump, last_rx_ns), READONLY, "the last read's time.monotonic_ns()"},
    {"received", T_LONGLONG, offsetof(Pump, received), READONLY, "REST: the bytes at the buffer's start for Python"},
    {"error", T_INT, offsetof(Pump, error), READONLY, "FAILED: the errno"},
    {"frames", T_OBJECT, offsetof(Pump, frames), READONLY, "REST: the trades to stage before those bytes, or None"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject PumpType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "feeds._pump.Pump",
    .tp_basicsize = sizeof(Pump),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A feed connection's compiled read loop (feeds/pumped.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)pump_init,
    .tp_dealloc = (destructor)pump_dealloc,
    .tp_methods = pump_methods,
    .tp_members = pump_members,
};

static struct PyModuleDef pump_module = {PyModuleDef_HEAD_INIT, "_pump", "A feed's compiled read loop.", -1, NULL};

PyMODINIT_FUNC PyInit__pump(void) {
    if (PyType_Ready(&PumpType) < 0) return NULL;
    PyObject *module = PyModule_Create(&pump_module);
    if (module == NULL) return NULL;
    Py_INCREF(&PumpType);
    if (PyModule_AddObject(module, "Pump", (PyObject *)&PumpType) < 0) goto fail;
    const char *names[] = {"TIMEOUT", "HOUSEKEEPING", "REST", "CHECK", "END", "FAILED"};
    for (int i = 0; i < 6; i++)
        if (PyModule_AddIntConstant(module, names[i], i) < 0) goto fail;
    struct { const char *name; long value; } words[] = {
        {"HEADER_BYTES", HEADER_BYTES}, {"W_HEAD", W_HEAD}, {"W_DROPPED", W_DROPPED},
        {"W_PRODUCER_HB", W_PRODUCER_HB}, {"W_PRODUCER_RESYNCS", W_PRODUCER_RESYNCS}, {"W_BELL", W_BELL},
        {"W_TAIL", W_TAIL}, {"W_ASLEEP", W_ASLEEP}, {"RECORD_BYTES", RECORD_BYTES}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (PyModule_AddIntConstant(module, words[i].name, words[i].value) < 0) goto fail;
    PyObject *venues = PyTuple_New(N_VENUES);
    if (venues == NULL) goto fail;
    for (int v = 0; v < N_VENUES; v++) {
        PyObject *name = PyUnicode_FromString(VENUE_NAMES[v]);
        if (name == NULL) { Py_DECREF(venues); goto fail; }
        PyTuple_SET_ITEM(venues, v, name);
    }
    if (PyModule_AddObject(module, "VENUES", venues) < 0) { Py_DECREF(venues); goto fail; }
    return module;
fail:
    Py_DECREF(module);
    return NULL;
}
