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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "scan_venues.h"
#include "stage_record.h"
#include "ring_push.h"
#include "symbol_cache.h"

#include "pump_reads.h"

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

/* The batching wait (feeds/batching.py) after reads that brought data: ``*stamp`` its start, the receive time of what
   the reads after it find; counted on ``counted``'s counters. -1 when a signal handler raised meanwhile. */
static int wait_for_batch(Pump *counted, long long ns, long long *stamp) {
    *stamp = clock_ns(CLOCK_REALTIME);
    counted->counters[C_BATCH_WAITS] += 1;
    return sleep_ns(ns);
}

/* The buffers a run works in, held for its length. */
typedef struct {
    Py_buffer buffer, staging, ring;
    int held;
} views;

static void release_views(views *v) {
    if (v->held > 2) PyBuffer_Release(&v->ring);
    if (v->held > 1) PyBuffer_Release(&v->staging);
    if (v->held > 0) PyBuffer_Release(&v->buffer);
    v->held = 0;
}

static int hold_views(Pump *self, views *v) {
    v->held = 0;
    if (PyObject_GetBuffer(self->buffer, &v->buffer, PyBUF_WRITABLE) < 0) return -1;
    v->held = 1;
    if (PyObject_GetBuffer(self->staging, &v->staging, PyBUF_WRITABLE) < 0) goto fail;
    v->held = 2;
    if (PyObject_GetBuffer(self->ring_memory, &v->ring, PyBUF_WRITABLE) < 0) goto fail;
    v->held = 3;
    if (v->ring.len < HEADER_BYTES + self->slots * RECORD_BYTES || self->filled < 0 || self->filled >= v->buffer.len
            || self->staged < 0 || self->staged > self->staging_capacity
            || v->staging.len < self->staging_capacity * RECORD_BYTES) {
        PyErr_SetString(PyExc_ValueError, "Pump.run: the ring, buffer or staging area does not match");
        goto fail;
    }
    return 0;
fail:
    release_views(v);
    return -1;
}

enum { HANDLED = 100, INTERRUPTED, NOTHING };  /* read_once's other outcomes */

/* One recv (the GIL released; ``flags``: MSG_DONTWAIT or 0) and its frames handled, its records pushed: HANDLED,
   NOTHING (nothing to read), INTERRUPTED (a signal: its handler runs at the caller's next check), END, FAILED,
   REST, CHECK, or -1 (an error set). ``stamp``: the receive time after a batching wait (0: the clock's). */
static int read_once(Pump *self, views *v, int flags, long long stamp, long long check_from, long long check_until) {
    unsigned char *data = v->buffer.buf;
    long long filled = self->filled, n;
    int error = 0;
    Py_BEGIN_ALLOW_THREADS
    n = recv(self->fd, data + filled, v->buffer.len - filled, flags);
    if (n < 0) error = errno;
    Py_END_ALLOW_THREADS
    if (n < 0) {
        if (error == EINTR) return INTERRUPTED;
        if (error == EAGAIN || error == EWOULDBLOCK) return NOTHING;
        self->error = error;
        return FAILED;
    }
    if (n == 0) return END;
    self->recv_ns = stamp ? stamp : clock_ns(CLOCK_REALTIME);
    self->last_rx_ns = clock_ns(CLOCK_MONOTONIC);
    self->counters[C_BYTES] += n;
    self->counters[C_READS] += 1;
    int python;
    PyObject *stage_first;
    long long end = filled + n;
    long long at = handle_frames(self, data, end, v->staging.buf, &python, &stage_first);
    if (at < 0) return -1;
    if (at && at < end) memmove(data, data + at, end - at);
    if (python) {  /* the rest of this read is Python's: as if it had read it (counted) */
        Py_XSETREF(self->frames, stage_first ? stage_first : Py_NewRef(Py_None));
        self->filled = 0;
        self->received = end - at;
        return REST;
    }
    self->filled = end - at;
    if (self->staged) {
        long long now = stamp ? clock_ns(CLOCK_REALTIME) : self->recv_ns;  /* the heartbeat: µs old at most */
        if (!(check_from <= now && now < check_until)) return CHECK;
        long long accepted = ring_push(self->slots, v->staging.buf, self->staged, v->ring.buf, now);
        self->counters[C_RING_DROPPED] += self->staged - accepted;
        self->staged = 0;
    }
    return HANDLED;
}

/* run(until_ns, batch_wait_ns, stamp_ns, check_from_ns, check_until_ns) -> why it returned (the enum above): a
   connection read alone, by blocking reads (its socket's SO_RCVTIMEO bounds each wait) */
static PyObject *pump_run(Pump *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) { PyErr_SetString(PyExc_TypeError, "run takes 5 arguments"); return NULL; }
    long long until = PyLong_AsLongLong(args[0]), batch_wait = PyLong_AsLongLong(args[1]);
    long long stamp = PyLong_AsLongLong(args[2]), check_from = PyLong_AsLongLong(args[3]);
    long long check_until = PyLong_AsLongLong(args[4]);
    if (PyErr_Occurred()) return NULL;
    Py_CLEAR(self->frames);
    views v;
    if (hold_views(self, &v) < 0) return NULL;
    int why = -1;
    for (;;) {
        if (PyErr_CheckSignals() < 0) break;
        int got = read_once(self, &v, stamp ? MSG_DONTWAIT : 0, stamp, check_from, check_until);
        if (got == INTERRUPTED) continue;  /* its handler runs at the top */
        if (got == NOTHING) {
            if (stamp) { stamp = 0; continue; }  /* nothing came during the batching wait: the next read blocks */
            why = TIMEOUT;
            break;
        }
        if (got != HANDLED) { why = got; break; }
        stamp = 0;
        if (self->last_rx_ns >= until) { why = HOUSEKEEPING; break; }
        if (batch_wait > 0 && wait_for_batch(self, batch_wait, &stamp) < 0) break;
    }
    release_views(&v);
    if (why < 0) return NULL;
    return PyLong_FromLong(why);
}

#define MAX_EVENTS 32

/* serve(epoll_fd, pumps, wake_at_ns, until_ns, read_timeout_ns, stamp_ns, check_from_ns, check_until_ns, staged,
         tick_seq, batch_wait_ns) -> (why, fd or -1, staged, tick_seq): a feed's several connections
   (feeds/connections.py), ``pumps`` their Pumps by socket fd, sharing the writer's staging area (``staged`` records
   in it, the next tick ``tick_seq``). Waits for readable sockets until ``wake_at`` (time.monotonic_ns(); TIMEOUT),
   reads each ready one once, and goes on while reads come before ``until`` (then HOUSEKEEPING); after a read the
   wait is at most ``read_timeout`` long. ``batch_wait_ns`` > 0: after a round that read, the batching wait
   (feeds/batching.py), then the ready sockets without blocking, what they bring stamped with the wait's start, as
   ``run`` does. A read Python must finish returns with its socket's fd (REST, CHECK, END, FAILED), as does a ready
   socket without a pump (None: READY, Python reads it). */
static PyObject *serve(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 11 || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "serve takes 11 arguments (epoll_fd, pumps: dict, ...)");
        return NULL;
    }
    int epfd = PyLong_AsLong(args[0]);
    PyObject *pumps = args[1];
    long long wake_at = PyLong_AsLongLong(args[2]), until = PyLong_AsLongLong(args[3]);
    long long read_timeout = PyLong_AsLongLong(args[4]), stamp = PyLong_AsLongLong(args[5]);
    long long check_from = PyLong_AsLongLong(args[6]), check_until = PyLong_AsLongLong(args[7]);
    long long staged = PyLong_AsLongLong(args[8]), tick_seq = PyLong_AsLongLong(args[9]);
    long long batch_wait = PyLong_AsLongLong(args[10]);
    if (PyErr_Occurred()) return NULL;
    struct epoll_event events[MAX_EVENTS];
    int why = -1, which = -1;
    for (;;) {
        if (PyErr_CheckSignals() < 0) goto out;
        long long now = clock_ns(CLOCK_MONOTONIC);
        long long wait_ms = stamp ? 0 : (wake_at > now ? (wake_at - now + 999999) / 1000000 : 0);
        int ready;
        Py_BEGIN_ALLOW_THREADS
        ready = epoll_wait(epfd, events, MAX_EVENTS, wait_ms > INT_MAX ? INT_MAX : (int)wait_ms);
        Py_END_ALLOW_THREADS
        if (ready < 0) {
            if (errno == EINTR) continue;
            PyErr_SetFromErrno(PyExc_OSError);
            goto out;
        }
        if (ready == 0) {
            if (stamp) { stamp = 0; continue; }  /* nothing came during the batching wait */
            if (clock_ns(CLOCK_MONOTONIC) < wake_at) continue;  /* woke a moment early (ms rounding) */
            why = TIMEOUT;
            goto out;
        }
        Pump *read_any = NULL;  /* the last pump whose read was handled here */
        for (int e = 0; e < ready; e++) {
            PyObject *fd = PyLong_FromLong(events[e].data.fd);
            if (fd == NULL) goto out;
            PyObject *found = PyDict_GetItemWithError(pumps, fd);  /* borrowed */
            Py_DECREF(fd);
            if (found == NULL) {
                if (PyErr_Occurred()) goto out;
                continue;  /* not ours (any more) */
            }
            if (!PyObject_TypeCheck(found, &PumpType)) {  /* a connection Python reads */
                which = events[e].data.fd;
                why = READY;
                goto out;
            }
            Pump *pump = (Pump *)found;
            views v;
            pump->staged = staged;
            pump->tick_seq = tick_seq;
            Py_CLEAR(pump->frames);
            if (hold_views(pump, &v) < 0) goto out;
            int got = read_once(pump, &v, MSG_DONTWAIT, stamp, check_from, check_until);
            release_views(&v);
            staged = pump->staged;
            tick_seq = pump->tick_seq;
            if (got < 0) goto out;
            if (got == HANDLED) { read_any = pump; continue; }
            if (got == NOTHING || got == INTERRUPTED) continue;
            which = events[e].data.fd;
            why = got;
            goto out;
        }
        stamp = 0;
        if (read_any) {
            now = clock_ns(CLOCK_MONOTONIC);
            if (now >= until) { why = HOUSEKEEPING; goto out; }
            if (wake_at > now + read_timeout) wake_at = now + read_timeout;
            /* the next round takes what came meanwhile, without blocking */
            if (batch_wait > 0 && wait_for_batch(read_any, batch_wait, &stamp) < 0) goto out;
        }
    }
out:
    if (why < 0) return NULL;
    return Py_BuildValue("(iiLL)", why, which, staged, tick_seq);
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

static PyMethodDef module_methods[] = {
    {"serve", (PyCFunction)(void (*)(void))serve, METH_FASTCALL, "a feed's several connections' reads (see _pump.c)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef pump_module = {PyModuleDef_HEAD_INIT, "_pump", "A feed's compiled read loop.", -1,
                                         module_methods};

PyMODINIT_FUNC PyInit__pump(void) {
    if (PyType_Ready(&PumpType) < 0) return NULL;
    PyObject *module = PyModule_Create(&pump_module);
    if (module == NULL) return NULL;
    Py_INCREF(&PumpType);
    if (PyModule_AddObject(module, "Pump", (PyObject *)&PumpType) < 0) goto fail;
    const char *names[] = {"TIMEOUT", "HOUSEKEEPING", "REST", "CHECK", "END", "FAILED", "READY"};
    for (int i = 0; i < 7; i++)
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
