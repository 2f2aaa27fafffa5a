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
#include "stage_record.h"

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

static int read_limits(PyObject *bounds, limits *l) {
    if (!PyTuple_CheckExact(bounds) || PyTuple_GET_SIZE(bounds) != 6) return 0;
    return time_bound(PyTuple_GET_ITEM(bounds, 0), LLONG_MIN, &l->oldest)
        && time_bound(PyTuple_GET_ITEM(bounds, 1), LLONG_MAX, &l->newest)
        && value_bound(PyTuple_GET_ITEM(bounds, 2), &l->min_price) && value_bound(PyTuple_GET_ITEM(bounds, 3), &l->max_price)
        && value_bound(PyTuple_GET_ITEM(bounds, 4), &l->min_size) && value_bound(PyTuple_GET_ITEM(bounds, 5), &l->max_size);
}

/* A trade id as (trade_id, trade_id_lo, flag): a str of ASCII digits or a UUID (id_words); 0 otherwise. */
static int id_of(PyObject *text, unsigned long long *ident, unsigned long long *low, long long *flag) {
    if (!PyUnicode_CheckExact(text) || !PyUnicode_IS_ASCII(text)) return 0;
    return id_words(PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text), ident, low, flag);
}

/* One trade tuple into its record at ``out``; 0 (nothing changed, nothing logged) when it needs a decision. */
static int stage_trade(PyObject *trade, PyObject *symbols, const limits *l, long long recv_ns, long long tick_seq,
                       int exchange_id, int ids_from_seq, unsigned char *out, undo *entry) {
    long long ts, side, flags, seq, span, id_flag = 0;
    unsigned long long ident, ident_lo = 0;
    if (!PyTuple_Check(trade) || PyTuple_GET_SIZE(trade) != 9) return 0;  /* a tuple, or a Trade (a NamedTuple) */
    PyObject **f = &PyTuple_GET_ITEM(trade, 0);
    if (!PyUnicode_CheckExact(f[0]) || !PyFloat_CheckExact(f[1]) || !PyFloat_CheckExact(f[2])) return 0;
    PyObject *known = PyDict_GetItemWithError(symbols, f[0]);  /* borrowed */
    if (!known) { PyErr_Clear(); return 0; }
    if (!int64_of(f[3], &side) || !int64_of(f[4], &ts) || !int64_of(f[6], &flags) || !int64_of(f[7], &seq)
            || !int64_of(f[8], &span)) return 0;
    if (ids_from_seq && seq >= 0) ident = (unsigned long long)seq;
    else if (!id_of(f[5], &ident, &ident_lo, &id_flag)) return 0;  /* other text: hashed in Python */
    return stage_fields(known, l, ts, PyFloat_AS_DOUBLE(f[1]), PyFloat_AS_DOUBLE(f[2]), side, flags | id_flag, seq,
                        span, ident, ident_lo, recv_ns, tick_seq, exchange_id, out, entry);
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
