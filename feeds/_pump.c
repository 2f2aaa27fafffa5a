/* A feed's read loop for usual traffic, compiled (issue 12): wait, receive, split, scan, stage, push, again.

   At a few thousand frames a second a feed pays a wakeup per read, and the interpreter's path through one
   (Feed._serve, Session.read, Connection.read, Session.text, TickWriter.add_one, the pusher: ~150 bytecodes, run
   cold after other processes ran) cost 2-3x the bare recv loop it rides on. ``Pump.run`` stays in C across reads:

     recv (blocking, the socket's SO_RCVTIMEO; the GIL released)          -> TIMEOUT when it expires
     every whole frame of the read: an unmasked text frame under the size limit, read by the venue's compiled
       scanner (feeds/_scan.c)                           -> anything else (control, binary, fragment, a frame
                                                            the scanner doubts): DECLINE, the read untouched
     the read's trades staged by feeds/_stage.c           -> a frame needing a decision: PARTIAL
     the staged records pushed into the tick ring (shm/plain.py's protocol, the doorbell)
                                                          -> the ring's damage check due: CHECK (Python pushes)
     optionally the batching wait (feeds/batching.py), the next read not blocking and stamped with its start
     the housekeeping time passed                         -> HOUSEKEEPING
   and returns to Python (feeds/pumped.py) for each of those, for EOF and for errors. What Python gets on each
   return is the state the Python loop would have at that point: a DECLINE'd read's bytes at the buffer's start
   (``filled`` before it, ``received``), dispatched by Connection.dispatch as if just read; a PARTIAL read's frames
   and the index of the first not staged; the counters of every read handled in C (``counters``). So outcomes
   never depend on which loop read a frame (tests/unit/test_pump.py compares ring bytes and counters).

   Signals: Python's handlers run only at the top of the loop (nothing staged, nothing half-read) and when a wait
   is interrupted; a stop signal's ``Stopped`` (feeds/stop.py) propagates from there.

   Memory ordering (shm/plain.py, shm/doorbell.py): tail loaded with acquire, records copied, head stored with
   release; then a full fence before the ``asleep`` load, which closes the window shm/doorbell.py describes for
   Python producers (a push landing as the consumer arms its flag). Header words are never trusted: positions are
   checked as plain.push does, the capacity is the one validated at attach. Optional (setup.py); loaded by
   feeds/compiled.py. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "structmember.h"
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HEADER_BYTES 4096
#define RECORD_BYTES 64
#define W_HEAD 8
#define W_DROPPED 16
#define W_PRODUCER_HB 18
#define W_PRODUCER_RESYNCS 19
#define W_BELL 20
#define W_TAIL 24
#define W_ASLEEP 25

enum { TIMEOUT, HOUSEKEEPING, DECLINE, PARTIAL, CHECK, END, FAILED };
enum { C_BYTES, C_READS, C_FRAMES, C_TRADES, C_TICKS, C_RING_DROPPED, C_BATCH_WAITS, N_COUNTERS };

typedef struct {
    PyObject_HEAD
    int fd;
    Py_ssize_t max_frame, staging_capacity, slots;
    PyObject *buffer, *scanner, *stage, *staging, *symbols, *ring_memory;
    PyObject *exchange_id, *ids_from_seq, *capacity;  /* stage's arguments, as Python ints */
    PyObject *behind, *ahead, *min_price, *max_price, *min_size, *max_size;  /* Limits.bounds' parts */
    long long filled, staged, tick_seq, recv_ns, last_rx_ns, stamp_ns, received, filled_before;
    int error;
    PyObject *frames;  /* PARTIAL: the read's frames; ``index``: the first not staged */
    Py_ssize_t index;
    long long counters[N_COUNTERS];
} Pump;

static long long clock_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void pump_dealloc(Pump *self) {
    Py_XDECREF(self->buffer); Py_XDECREF(self->scanner); Py_XDECREF(self->stage); Py_XDECREF(self->staging);
    Py_XDECREF(self->symbols); Py_XDECREF(self->ring_memory); Py_XDECREF(self->exchange_id);
    Py_XDECREF(self->ids_from_seq); Py_XDECREF(self->capacity); Py_XDECREF(self->behind); Py_XDECREF(self->ahead);
    Py_XDECREF(self->min_price); Py_XDECREF(self->max_price); Py_XDECREF(self->min_size);
    Py_XDECREF(self->max_size); Py_XDECREF(self->frames);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Pump(fd, buffer, max_frame, scanner, stage, staging, staging_capacity, symbols, exchange_id, ids_from_seq,
        bounds_parts, ring_memory, slots) */
static int pump_init(Pump *self, PyObject *args, PyObject *kwds) {
    PyObject *buffer, *scanner, *stage, *staging, *symbols, *exchange_id, *ids_from_seq, *parts, *memory;
    int fd;
    Py_ssize_t max_frame, capacity, slots;
    if (!PyArg_ParseTuple(args, "iO!nOOO!nO!OOO!On", &fd, &PyByteArray_Type, &buffer, &max_frame, &scanner, &stage,
                          &PyByteArray_Type, &staging, &capacity, &PyDict_Type, &symbols, &exchange_id, &ids_from_seq,
                          &PyTuple_Type, &parts, &memory, &slots))
        return -1;
    if (PyTuple_GET_SIZE(parts) != 6 || max_frame < 0 || max_frame >= PyByteArray_GET_SIZE(buffer) / 2 + 1
            || capacity <= 0 || capacity * RECORD_BYTES > PyByteArray_GET_SIZE(staging) || slots <= 0
            || (slots & (slots - 1)) || !PyCallable_Check(scanner) || !PyCallable_Check(stage)) {
        PyErr_SetString(PyExc_ValueError, "Pump: bad arguments");
        return -1;
    }
    self->fd = fd;
    self->max_frame = max_frame;
    self->staging_capacity = capacity;
    self->slots = slots;
#define KEEP(field, value) do { Py_INCREF(value); Py_XSETREF(self->field, value); } while (0)
    KEEP(buffer, buffer); KEEP(scanner, scanner); KEEP(stage, stage); KEEP(staging, staging);
    KEEP(symbols, symbols); KEEP(ring_memory, memory); KEEP(exchange_id, exchange_id);
    KEEP(ids_from_seq, ids_from_seq);
    PyObject *cap = PyLong_FromSsize_t(capacity);
    if (cap == NULL) return -1;
    Py_XSETREF(self->capacity, cap);
    KEEP(behind, PyTuple_GET_ITEM(parts, 0)); KEEP(ahead, PyTuple_GET_ITEM(parts, 1));
    KEEP(min_price, PyTuple_GET_ITEM(parts, 2)); KEEP(max_price, PyTuple_GET_ITEM(parts, 3));
    KEEP(min_size, PyTuple_GET_ITEM(parts, 4)); KEEP(max_size, PyTuple_GET_ITEM(parts, 5));
#undef KEEP
    return 0;
}

/* Copy ``count`` staged records into the ring and publish them (shm/plain.py bytes_pusher). */
static void push(Pump *self, const char *staging, long long count, char *memory, long long now_ns) {
    int64_t *words = (int64_t *)memory;
    long long slots = self->slots;
    int64_t head = words[W_HEAD];  /* only this producer writes head */
    int64_t tail = __atomic_load_n(&words[W_TAIL], __ATOMIC_ACQUIRE);
    if (tail > head) {  /* impossible: a damaged header; go on from the tail */
        words[W_PRODUCER_RESYNCS] += 1;
        head = tail;
    }
    long long room = slots - (head - tail);
    long long accepted = count < room ? count : (room > 0 ? room : 0);
    if (accepted) {
        long long start = head & (slots - 1);
        long long first = accepted < slots - start ? accepted : slots - start;
        memcpy(memory + HEADER_BYTES + start * RECORD_BYTES, staging, first * RECORD_BYTES);
        if (accepted > first)
            memcpy(memory + HEADER_BYTES, staging + first * RECORD_BYTES, (accepted - first) * RECORD_BYTES);
    }
    __atomic_store_n(&words[W_HEAD], head + accepted, __ATOMIC_RELEASE);
    if (accepted < count) {
        words[W_DROPPED] += count - accepted;
        self->counters[C_RING_DROPPED] += count - accepted;
    }
    words[W_PRODUCER_HB] = now_ns;
    if (accepted) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);  /* the head store before the asleep load (shm/doorbell.py) */
        if (__atomic_load_n(&words[W_ASLEEP], __ATOMIC_RELAXED)) {
            uint32_t *bell = (uint32_t *)&words[W_BELL];  /* the low 32 bits: the futex word (little-endian) */
            words[W_BELL] = (int64_t)(((uint64_t)words[W_BELL] + 1) & 0xFFFFFFFFu);
            syscall(SYS_futex, bell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
        }
    }
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

/* Scan every whole frame of the buffer up to ``end``: a new list of their trade lists (frames without trades
   left out), or None when Python must read this read (a frame not usual, or one the scanner doubts). ``*stop``:
   where the unread rest starts; ``*frames``: how many frames. */
static PyObject *scan_read(Pump *self, unsigned char *data, long long end, long long *stop, long long *frames,
                           long long *trades) {
    PyObject *found = PyList_New(0);
    if (found == NULL) return NULL;
    long long at = 0, header, length;
    *frames = *trades = 0;
    for (;;) {
        int kind = usual_frame(data + at, end - at, self->max_frame, &header, &length);
        if (kind == 0) break;
        if (kind < 0) goto python;
        PyObject *view = PyMemoryView_FromMemory((char *)data + at + header, length, PyBUF_READ);
        if (view == NULL) goto fail;
        PyObject *got = PyObject_CallOneArg(self->scanner, view);
        int kept = Py_REFCNT(view) != 1;  /* a scanner must not keep a view of the buffer */
        Py_DECREF(view);
        if (got == NULL) {  /* a scanner bug: Python reads the frame (and counts what is wrong) */
            PyErr_Clear();
            goto python;
        }
        if (kept || got == Py_None || !PyList_CheckExact(got)) {
            Py_DECREF(got);
            goto python;
        }
        if (PyList_GET_SIZE(got)) {
            *trades += PyList_GET_SIZE(got);
            if (PyList_Append(found, got) < 0) { Py_DECREF(got); goto fail; }
        }
        Py_DECREF(got);
        *frames += 1;
        at += header + length;
    }
    *stop = at;
    return found;
python:
    Py_DECREF(found);
    Py_RETURN_NONE;
fail:
    Py_DECREF(found);
    return NULL;
}

/* Stage ``frames`` (feeds/_stage.c): 1 when all of them are, 0 when one needs Python (``self->index``), -1 error. */
static int stage_read(Pump *self, PyObject *frames) {
    PyObject *recv = PyLong_FromLongLong(self->recv_ns);
    if (recv == NULL) return -1;
    PyObject *oldest = PyNumber_Subtract(recv, self->behind), *newest = PyNumber_Add(recv, self->ahead);
    PyObject *bounds = NULL, *zero = NULL, *count = NULL, *seq = NULL, *result = NULL;
    int outcome = -1;
    if (oldest == NULL || newest == NULL) goto done;
    bounds = PyTuple_Pack(6, oldest, newest, self->min_price, self->max_price, self->min_size, self->max_size);
    zero = PyLong_FromLong(0);
    count = PyLong_FromLongLong(self->staged);
    seq = PyLong_FromLongLong(self->tick_seq);
    if (bounds == NULL || zero == NULL || count == NULL || seq == NULL) goto done;
    PyObject *args[11] = {frames, zero, self->staging, count, seq, recv, self->exchange_id, bounds, self->symbols,
                          self->ids_from_seq, self->capacity};
    result = PyObject_Vectorcall(self->stage, args, 11, NULL);
    if (result == NULL) goto done;
    if (!PyTuple_CheckExact(result) || PyTuple_GET_SIZE(result) != 3) {
        PyErr_SetString(PyExc_TypeError, "stage returned something else than (index, count, tick_seq)");
        goto done;
    }
    Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(result, 0));
    long long staged = PyLong_AsLongLong(PyTuple_GET_ITEM(result, 1));
    long long tick_seq = PyLong_AsLongLong(PyTuple_GET_ITEM(result, 2));
    if (PyErr_Occurred()) goto done;
    self->counters[C_TICKS] += staged - self->staged;
    self->staged = staged;
    self->tick_seq = tick_seq;
    if (index < PyList_GET_SIZE(frames)) {
        Py_INCREF(frames);
        Py_XSETREF(self->frames, frames);
        self->index = index;
        outcome = 0;
    } else {
        outcome = 1;
    }
done:
    Py_XDECREF(recv); Py_XDECREF(oldest); Py_XDECREF(newest); Py_XDECREF(bounds); Py_XDECREF(zero);
    Py_XDECREF(count); Py_XDECREF(seq); Py_XDECREF(result);
    return outcome;
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
            || self->staged < 0 || self->staged > self->staging_capacity) {
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
        self->recv_ns = stamp ? stamp : clock_ns(CLOCK_REALTIME);
        self->stamp_ns = stamp;
        stamp = 0;
        self->last_rx_ns = clock_ns(CLOCK_MONOTONIC);
        long long stop = 0, frames = 0, trades = 0;
        PyObject *found = scan_read(self, data, filled + n, &stop, &frames, &trades);
        if (found == NULL) goto out;
        if (found == Py_None) {
            Py_DECREF(found);
            self->filled_before = filled;
            self->received = n;
            why = DECLINE;
            goto out;
        }
        long long *c = self->counters;
        c[C_BYTES] += n; c[C_READS] += 1; c[C_FRAMES] += frames; c[C_TRADES] += trades;
        long long rest = filled + n - stop;
        if (rest && stop) memmove(data, data + stop, rest);
        self->filled = rest;
        int staged_all = PyList_GET_SIZE(found) ? stage_read(self, found) : 1;
        Py_DECREF(found);
        if (staged_all < 0) goto out;
        if (staged_all == 0) { why = PARTIAL; goto out; }
        if (self->staged) {
            long long now = self->stamp_ns ? clock_ns(CLOCK_REALTIME) : self->recv_ns;  /* a few µs old at most */
            if (!(check_from <= now && now < check_until)) { why = CHECK; goto out; }
            push(self, staging.buf, self->staged, ring.buf, now);
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

/* counters() -> the counts of the reads handled in C since the last call, then zeroed:
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
    {"stamp_ns", T_LONGLONG, offsetof(Pump, stamp_ns), READONLY, "the last read's batching stamp (0: none)"},
    {"received", T_LONGLONG, offsetof(Pump, received), READONLY, "DECLINE: the bytes the read brought"},
    {"filled_before", T_LONGLONG, offsetof(Pump, filled_before), READONLY, "DECLINE: the bytes before them"},
    {"error", T_INT, offsetof(Pump, error), READONLY, "FAILED: the errno"},
    {"frames", T_OBJECT, offsetof(Pump, frames), READONLY, "PARTIAL: the read's trade lists"},
    {"index", T_PYSSIZET, offsetof(Pump, index), READONLY, "PARTIAL: the first frame not staged"},
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
    const char *names[] = {"TIMEOUT", "HOUSEKEEPING", "DECLINE", "PARTIAL", "CHECK", "END", "FAILED"};
    for (int i = 0; i < 7; i++)
        if (PyModule_AddIntConstant(module, names[i], i) < 0) goto fail;
    struct { const char *name; long value; } words[] = {
        {"HEADER_BYTES", HEADER_BYTES}, {"W_HEAD", W_HEAD}, {"W_DROPPED", W_DROPPED},
        {"W_PRODUCER_HB", W_PRODUCER_HB}, {"W_PRODUCER_RESYNCS", W_PRODUCER_RESYNCS}, {"W_BELL", W_BELL},
        {"W_TAIL", W_TAIL}, {"W_ASLEEP", W_ASLEEP}, {"RECORD_BYTES", RECORD_BYTES}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (PyModule_AddIntConstant(module, words[i].name, words[i].value) < 0) goto fail;
    return module;
fail:
    Py_DECREF(module);
    return NULL;
}
