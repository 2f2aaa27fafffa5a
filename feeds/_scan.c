/* Compiled scanners for the feeds' most frequent frames (issue 12): the trades straight from the frame's bytes,
   without building the decoded JSON's dicts and strings first.

   binance, okx, bybit, coinbase, kraken (v2), bitstamp, gemini, bitmex, deribit (frame), bitfinex (symbols, frame)
   -> [trade, ..] | None: a usual trade frame of the venue (read by feeds/scan_venues.h) gives the same list of
   trade tuples that the venue module's hot path builds (feeds/<venue>.py). On any doubt a scanner says None and
   the Python parser decides (and names what is wrong): escapes or bytes outside printable ASCII in a string,
   exponents, nested values other than the venue's, a key given twice, missing fields, other events, values out of
   range, more than 64 rows, trailing bytes (the JSON subset: feeds/scan_json.h). What a scanner accepts it reads
   as orjson and the Python hot path do (tests/unit/test_compiled_scan.py compares them on samples, simulator
   frames, edge cases and mutations). Loaded by feeds/compiled.py; optional (setup.py). */
#include "scan_venues.h"

/* A venue's scan of a str, bytes, bytearray or memoryview frame: a list of trade tuples; None on any doubt. */
static PyObject *rows_list(int venue, PyObject *symbols, const char *s, Py_ssize_t n) {
    scanned work;
    trade t[MAX_ROWS];
    int count = scan_rows(venue, symbols, s, n, &work, t);
    return count < 0 ? Py_NewRef(Py_None) : trade_list(t, count);
}

static PyObject *scan(PyObject *frame, int venue, PyObject *symbols) {
    const char *s;
    Py_ssize_t n;
    Py_buffer view;
    PyObject *result;
    if (PyUnicode_Check(frame)) {
        if (!(s = PyUnicode_AsUTF8AndSize(frame, &n))) { PyErr_Clear(); Py_RETURN_NONE; }  /* lone surrogates */
        return rows_list(venue, symbols, s, n);
    }
    if (PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE) < 0) { PyErr_Clear(); Py_RETURN_NONE; }
    result = rows_list(venue, symbols, view.buf, view.len);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *binance(PyObject *module, PyObject *frame) { return scan(frame, V_BINANCE, NULL); }
static PyObject *okx(PyObject *module, PyObject *frame) { return scan(frame, V_OKX, NULL); }
static PyObject *bybit(PyObject *module, PyObject *frame) { return scan(frame, V_BYBIT, NULL); }
static PyObject *coinbase(PyObject *module, PyObject *frame) { return scan(frame, V_COINBASE, NULL); }
static PyObject *kraken(PyObject *module, PyObject *frame) { return scan(frame, V_KRAKEN, NULL); }
static PyObject *bitstamp(PyObject *module, PyObject *frame) { return scan(frame, V_BITSTAMP, NULL); }
static PyObject *gemini(PyObject *module, PyObject *frame) { return scan(frame, V_GEMINI, NULL); }
static PyObject *bitmex(PyObject *module, PyObject *frame) { return scan(frame, V_BITMEX, NULL); }
static PyObject *deribit(PyObject *module, PyObject *frame) { return scan(frame, V_DERIBIT, NULL); }

static PyObject *bitfinex(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "bitfinex(symbols, frame): the parser's chanId -> symbol dict, a frame");
        return NULL;
    }
    return scan(args[1], V_BITFINEX, args[0]);
}

static PyMethodDef methods[] = {
    {"binance", binance, METH_O, "binance(frame) -> [trade] or None: feeds/binance.py's hot path, compiled."},
    {"okx", okx, METH_O, "okx(frame) -> [trade, ..] or None: feeds/okx.py's hot path, compiled."},
    {"bybit", bybit, METH_O, "bybit(frame) -> [trade, ..] or None: feeds/bybit.py's hot path, compiled."},
    {"coinbase", coinbase, METH_O, "coinbase(frame) -> [trade] or None: feeds/coinbase.py's hot path, compiled."},
    {"kraken", kraken, METH_O, "kraken(frame) -> [trade, ..] or None: feeds/kraken.py's hot path (v2), compiled."},
    {"bitstamp", bitstamp, METH_O, "bitstamp(frame) -> [trade] or None: feeds/bitstamp.py's hot path, compiled."},
    {"gemini", gemini, METH_O, "gemini(frame) -> [trade] or None: feeds/gemini.py's hot path (new API), compiled."},
    {"bitmex", bitmex, METH_O, "bitmex(frame) -> [trade, ..] or None: feeds/bitmex.py's hot path, compiled."},
    {"deribit", deribit, METH_O, "deribit(frame) -> [trade, ..] or None: feeds/deribit.py's hot path, compiled."},
    {"bitfinex", (PyCFunction)(void (*)(void))bitfinex, METH_FASTCALL,
     "bitfinex(symbols, frame) -> [trade] or None: feeds/bitfinex.py's hot path, compiled (symbols: its chanIds)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "feeds._scan", "Compiled frame scanners.", -1, methods};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
