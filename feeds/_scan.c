/* Compiled scanners for the feeds' most frequent frames (issue 12): the trades straight from the frame's bytes,
   without building the decoded JSON's dicts and strings first.

   binance(frame) -> [Trade] | None: a Binance trade or aggTrade event, raw or in the combined stream's envelope,
   gives the same list of one trade tuple that feeds/binance.py's hot path builds. On any doubt it says None and
   the Python parser decides (and names what is wrong): escapes or bytes outside printable ASCII in a string,
   numbers with a fraction or exponent outside the price and size texts, nested values other than the envelope's
   "data", a key given twice, missing fields, other events, values out of range, trailing bytes. What it accepts is
   a subset of JSON on which it agrees with orjson + the Python hot path (tests/unit/test_compiled_scan.py compares
   them on samples, simulator frames and mutations). Python floats come from PyOS_string_to_double, as float() does.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_NS 9223372036854775807LL
#define MAX_MS (MAX_NS / 1000000LL)

enum kind { NONE = 0, STR, INT, TRUE_, FALSE_, OTHER };

typedef struct {
    int kind;
    const char *s;  /* STR: the text between the quotes */
    Py_ssize_t n;
    long long i;    /* INT: a non-negative value (negative ones are OTHER) */
} value;

static const char *ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A string of printable ASCII without escapes: its text; NULL otherwise (the Python path decides). */
static const char *text(const char *p, const char *end, const char **s, Py_ssize_t *n) {
    if (p >= end || *p != '"') return NULL;
    const char *start = ++p;
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e || c == '\\') return NULL;
        p++;
    }
    if (p >= end) return NULL;
    *s = start;
    *n = p - start;
    return p + 1;
}

/* A JSON integer (no fraction or exponent); its value when it is non-negative and fits int64. */
static const char *integer(const char *p, const char *end, value *v) {
    int negative = 0;
    if (p < end && *p == '-') { negative = 1; p++; }
    const char *digits = p;
    unsigned long long x = 0;
    int overflow = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (x > (9223372036854775807ULL - d) / 10) overflow = 1;
        else x = x * 10 + d;
        p++;
    }
    if (p == digits || (*digits == '0' && p - digits > 1)) return NULL;  /* no digits, or a leading zero */
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return NULL;
    v->kind = (negative || overflow) ? OTHER : INT;
    v->i = (long long)x;
    return p;
}

static const char *literal(const char *p, const char *end, const char *word, size_t n) {
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) return NULL;
    return p + n;
}

static const char *scalar(const char *p, const char *end, value *v) {
    const char *q;
    v->kind = OTHER;
    if (p >= end) return NULL;
    switch (*p) {
    case '"':
        v->kind = STR;
        return text(p, end, &v->s, &v->n);
    case 't':
        v->kind = TRUE_;
        return literal(p, end, "true", 4);
    case 'f':
        v->kind = FALSE_;
        return literal(p, end, "false", 5);
    case 'n':
        return literal(p, end, "null", 4);
    default:
        q = integer(p, end, v);
        return q;
    }
}

/* The keys a scan captures at one level of a frame; ``value`` slots follow the same order. */
#define MAX_KEYS 9
#define MAX_ROWS 64  /* rows of one "data" array; a longer frame is read in Python */

typedef struct {
    int count;
    const char *names[MAX_KEYS];
    unsigned char lengths[MAX_KEYS];  /* strlen of each name */
} keys;

typedef struct {
    value v[MAX_KEYS];
} captured;

/* Where a venue's trades sit: captured keys at the top level, in one nested object (``nested_key``), and in the
   rows of a top-level "data" array (``row``, or NULL: no array). Any other nested value is a doubt. */
typedef struct {
    const keys *top, *nested, *row;
    const char *nested_key;
} shape;

typedef struct {
    captured top, nested;
    int has_nested;
    int rows;  /* -1: no "data" array */
    captured row[MAX_ROWS];
} scanned;

static void clear(captured *c, const keys *k) {
    for (int i = 0; i < k->count; i++) c->v[i].kind = NONE;
}

static value *slot(captured *c, const keys *k, const char *key, Py_ssize_t n) {
    for (int i = 0; i < k->count; i++)
        if (k->lengths[i] == n && k->names[i][0] == key[0] && memcmp(k->names[i], key, n) == 0) return &c->v[i];
    return NULL;
}

/* A member's key and the colon after it; NULL if it is not a plain key. */
static const char *member_key(const char *p, const char *end, const char **key, Py_ssize_t *n) {
    if (!(p = text(p, end, key, n))) return NULL;
    p = ws(p, end);
    if (p >= end || *p != ':') return NULL;
    return ws(p + 1, end);
}

/* After a member: "," (1, more follow), "}" or "]" (0, the end), or a doubt (-1). */
static int next_member(const char **pp, const char *end, char close) {
    const char *p = ws(*pp, end);
    if (p < end && *p == ',') { *pp = ws(p + 1, end); return 1; }
    if (p < end && *p == close) { *pp = p + 1; return 0; }
    return -1;
}

static int capture(captured *c, const keys *k, const char *key, Py_ssize_t n, const value *v) {
    value *into = slot(c, k, key, n);
    if (into == NULL) return 1;
    if (into->kind != NONE) return 0;  /* a key given twice */
    *into = *v;
    return 1;
}

/* An object of scalar members; those named in ``k`` are captured. */
static const char *flat_object(const char *p, const char *end, const keys *k, captured *c) {
    clear(c, k);
    if (p >= end || *p != '{') return NULL;
    p = ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        const char *key;
        Py_ssize_t n;
        value v;
        int more;
        if (!(p = member_key(p, end, &key, &n)) || !(p = scalar(p, end, &v)) || !capture(c, k, key, n, &v)) return NULL;
        if ((more = next_member(&p, end, '}')) < 0) return NULL;
        if (!more) return p;
    }
}

static const char *rows(const char *p, const char *end, const keys *k, scanned *out) {
    p = ws(p + 1, end);  /* past "[" */
    out->rows = 0;
    if (p < end && *p == ']') return p + 1;
    for (;;) {
        int more;
        if (out->rows == MAX_ROWS || !(p = flat_object(p, end, k, &out->row[out->rows]))) return NULL;
        out->rows++;
        if ((more = next_member(&p, end, ']')) < 0) return NULL;
        if (!more) return p;
    }
}

/* The whole frame: one top-level object, then only whitespace. */
static int scan_frame(const char *p, Py_ssize_t len, const shape *sh, scanned *out) {
    const char *end = p + len;
    out->has_nested = 0;
    out->rows = -1;
    clear(&out->top, sh->top);
    p = ws(p, end);
    if (p >= end || *p != '{') return 0;
    p = ws(p + 1, end);
    if (p < end && *p == '}') return ws(p + 1, end) == end;
    for (;;) {
        const char *key;
        Py_ssize_t n;
        value v;
        int more;
        if (!(p = member_key(p, end, &key, &n)) || p >= end) return 0;
        if (*p == '{') {
            if (!sh->nested_key || out->has_nested || (Py_ssize_t)strlen(sh->nested_key) != n
                    || memcmp(key, sh->nested_key, n) != 0 || !(p = flat_object(p, end, sh->nested, &out->nested)))
                return 0;
            out->has_nested = 1;
        } else if (*p == '[') {
            if (!sh->row || out->rows >= 0 || n != 4 || memcmp(key, "data", 4) != 0
                    || !(p = rows(p, end, sh->row, out)))
                return 0;
        } else if (!(p = scalar(p, end, &v)) || !capture(&out->top, sh->top, key, n, &v)) {
            return 0;
        }
        if ((more = next_member(&p, end, '}')) < 0) return 0;
        if (!more) return ws(p, end) == end;
    }
}

/* A price or size text as float() reads it: digits with at most one point, strictly positive and finite.
   Up to 15 significant digits and 22 decimals (nearly every price and size): the digits as an integer divided by
   a power of ten, both exact in a double, so the one rounding of the division gives the correctly rounded value,
   as float() does (Clinger's fast path); longer texts go through PyOS_string_to_double, float()'s own routine. */
static const double POWERS_OF_TEN[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int positive_decimal(const value *v, double *out) {
    char buffer[64];
    int digits = 0, points = 0, decimals = 0, significant = 0;
    unsigned long long mantissa = 0;
    if (v->kind != STR || v->n == 0 || v->n >= (Py_ssize_t)sizeof buffer) return 0;
    for (Py_ssize_t k = 0; k < v->n; k++) {
        char c = v->s[k];
        if (c >= '0' && c <= '9') {
            digits++;
            decimals += points;
            if (mantissa || c != '0') significant++;
            if (significant <= 15) mantissa = mantissa * 10 + (unsigned)(c - '0');
        } else if (c == '.') {
            points++;
        } else {
            return 0;
        }
    }
    if (!digits || points > 1) return 0;
    if (significant <= 15 && decimals <= 22) {
        if (!mantissa) return 0;
        *out = (double)mantissa / POWERS_OF_TEN[decimals];
        return 1;
    }
    memcpy(buffer, v->s, v->n);
    buffer[v->n] = 0;
    char *stop;
    double x = PyOS_string_to_double(buffer, &stop, NULL);
    if (x == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
    if (stop != buffer + v->n || !(x > 0.0) || x > 1.7976931348623157e308) return 0;
    *out = x;
    return 1;
}

/* Text of 1 to 20 ASCII digits (``len <= 20 and isdigit()``) whose value fits int64. */
static int digit_text(const value *v, long long *out) {
    unsigned long long x = 0;
    if (v->kind != STR || v->n == 0 || v->n > 20) return 0;
    for (Py_ssize_t k = 0; k < v->n; k++) {
        unsigned d = (unsigned)(v->s[k] - '0');
        if (d > 9 || x > (9223372036854775807ULL - d) / 10) return 0;
        x = x * 10 + d;
    }
    *out = (long long)x;
    return 1;
}

static int is_text(const value *v, const char *word) {
    return v->kind == STR && (Py_ssize_t)strlen(word) == v->n && memcmp(v->s, word, v->n) == 0;
}

/* One trade tuple, as the venue parsers build it: (symbol, price, size, side, ts_ns, trade_id, 0, seq, 1). */
typedef struct {
    const value *symbol, *id_text;  /* id_text NULL: the id's text is ``seq`` in decimal */
    double price, size;
    int side;
    long long ns, seq;
} trade;

static PyObject *trade_tuple(const trade *t) {
    char digits[24];
    const char *id = digits;
    Py_ssize_t id_n;
    if (t->id_text) {
        id = t->id_text->s;
        id_n = t->id_text->n;
    } else {
        unsigned long long x = (unsigned long long)t->seq;
        char *w = digits + sizeof digits;
        do { *--w = (char)('0' + x % 10); x /= 10; } while (x);
        id = w;
        id_n = digits + sizeof digits - w;
    }
    PyObject *items[9] = {
        PyUnicode_FromStringAndSize(t->symbol->s, t->symbol->n), PyFloat_FromDouble(t->price),
        PyFloat_FromDouble(t->size), PyLong_FromLong(t->side), PyLong_FromLongLong(t->ns),
        PyUnicode_FromStringAndSize(id, id_n), PyLong_FromLong(0), PyLong_FromLongLong(t->seq), PyLong_FromLong(1)};
    PyObject *tuple = NULL;
    for (int k = 0; k < 9; k++) if (!items[k]) goto fail;
    if (!(tuple = PyTuple_New(9))) goto fail;
    for (int k = 0; k < 9; k++) PyTuple_SET_ITEM(tuple, k, items[k]);
    return tuple;
fail:
    for (int k = 0; k < 9; k++) Py_XDECREF(items[k]);
    return NULL;
}

static PyObject *trade_list(const trade *trades, int count) {
    PyObject *list = PyList_New(count);
    if (!list) return NULL;
    for (int k = 0; k < count; k++) {
        PyObject *tuple = trade_tuple(&trades[k]);
        if (!tuple) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, k, tuple);
    }
    return list;
}

/* --- Binance: {"stream":..,"data":{"e":"trade","s":..,"t":..,"p":..,"q":..,"T":..,"m":..}} or the event alone */
enum { B_STREAM, B_E, B_S, B_T, B_A, B_P, B_Q, B_TIME, B_M };
static const keys binance_keys = {9, {"stream", "e", "s", "t", "a", "p", "q", "T", "m"}, {6, 1, 1, 1, 1, 1, 1, 1, 1}};
static const shape binance_shape = {&binance_keys, &binance_keys, NULL, "data"};

static PyObject *binance_trades(const scanned *f) {
    const value *v;
    trade t;
    if (f->top.v[B_STREAM].kind != NONE && f->has_nested) v = f->nested.v;
    else if (!f->has_nested) v = f->top.v;
    else Py_RETURN_NONE;  /* "data" without "stream": the Python parser reads the frame itself */
    const value *id;
    if (is_text(&v[B_E], "trade")) id = &v[B_T];
    else if (is_text(&v[B_E], "aggTrade")) id = &v[B_A];
    else Py_RETURN_NONE;
    if (id->kind != INT || v[B_TIME].kind != INT || v[B_TIME].i > MAX_MS || v[B_S].kind != STR) Py_RETURN_NONE;
    if (!positive_decimal(&v[B_P], &t.price) || !positive_decimal(&v[B_Q], &t.size)) Py_RETURN_NONE;
    if (v[B_M].kind != TRUE_ && v[B_M].kind != FALSE_) Py_RETURN_NONE;
    t.symbol = &v[B_S];
    t.id_text = NULL;
    t.side = v[B_M].kind == TRUE_ ? -1 : 1;  /* the buyer was the maker: the taker sold */
    t.ns = v[B_TIME].i * 1000000LL;
    t.seq = id->i;
    return trade_list(&t, 1);
}

/* --- OKX: {"arg":{"channel":"trades",..},"data":[{"instId":..,"tradeId":"..","px":"..","sz":"..","side":"buy",
   "ts":"..","count":"1"}, ..]} */
enum { O_INST, O_ID, O_PX, O_SZ, O_SIDE, O_TS, O_COUNT };
static const keys okx_top = {0, {NULL}, {0}}, okx_arg = {1, {"channel"}, {7}};
static const keys okx_row = {7, {"instId", "tradeId", "px", "sz", "side", "ts", "count"}, {6, 7, 2, 2, 4, 2, 5}};
static const shape okx_shape = {&okx_top, &okx_arg, &okx_row, "arg"};

static PyObject *okx_trades(const scanned *f) {
    trade t[MAX_ROWS];
    if (!f->has_nested || !is_text(&f->nested.v[0], "trades") || f->rows < 0) Py_RETURN_NONE;
    for (int k = 0; k < f->rows; k++) {
        const value *v = f->row[k].v;
        const value *count = &v[O_COUNT];
        long long ms;
        if (v[O_INST].kind != STR || !positive_decimal(&v[O_PX], &t[k].price) || !positive_decimal(&v[O_SZ], &t[k].size)
                || !digit_text(&v[O_TS], &ms) || ms > MAX_MS || !digit_text(&v[O_ID], &t[k].seq)) Py_RETURN_NONE;
        if (!(count->kind == NONE || is_text(count, "1") || (count->kind == INT && count->i == 1))) Py_RETURN_NONE;
        if (is_text(&v[O_SIDE], "buy")) t[k].side = 1;
        else if (is_text(&v[O_SIDE], "sell")) t[k].side = -1;
        else Py_RETURN_NONE;
        t[k].symbol = &v[O_INST];
        t[k].id_text = &v[O_ID];
        t[k].ns = ms * 1000000LL;
    }
    return trade_list(t, f->rows);
}

/* --- Bybit: {"topic":"publicTrade.BTCUSDT",..,"data":[{"i":"..","T":..,"p":"..","v":"..","S":"Buy","s":..}, ..]} */
enum { Y_ID, Y_TIME, Y_P, Y_V, Y_SIDE, Y_SYMBOL };
static const keys bybit_top = {1, {"topic"}, {5}};
static const keys bybit_row = {6, {"i", "T", "p", "v", "S", "s"}, {1, 1, 1, 1, 1, 1}};
static const shape bybit_shape = {&bybit_top, NULL, &bybit_row, NULL};

static PyObject *bybit_trades(const scanned *f) {
    trade t[MAX_ROWS];
    const value *topic = &f->top.v[0];
    if (topic->kind != STR || topic->n < 12 || memcmp(topic->s, "publicTrade.", 12) != 0 || f->rows < 0) Py_RETURN_NONE;
    for (int k = 0; k < f->rows; k++) {
        const value *v = f->row[k].v;
        if (v[Y_ID].kind != STR || v[Y_ID].n == 0 || v[Y_TIME].kind != INT || v[Y_TIME].i > MAX_MS
                || v[Y_SYMBOL].kind != STR || !positive_decimal(&v[Y_P], &t[k].price)
                || !positive_decimal(&v[Y_V], &t[k].size)) Py_RETURN_NONE;
        if (is_text(&v[Y_SIDE], "Buy")) t[k].side = 1;
        else if (is_text(&v[Y_SIDE], "Sell")) t[k].side = -1;
        else Py_RETURN_NONE;
        t[k].symbol = &v[Y_SYMBOL];
        t[k].id_text = &v[Y_ID];
        t[k].ns = v[Y_TIME].i * 1000000LL;
        t[k].seq = -1;
    }
    return trade_list(t, f->rows);
}

/* A venue's scan of a str, bytes, bytearray or memoryview frame; None on any doubt. */
static PyObject *scan(PyObject *frame, const shape *sh, PyObject *(*trades)(const scanned *)) {
    scanned out;
    const char *s;
    Py_ssize_t n;
    Py_buffer view;
    PyObject *result;
    if (PyUnicode_Check(frame)) {
        if (!(s = PyUnicode_AsUTF8AndSize(frame, &n))) { PyErr_Clear(); Py_RETURN_NONE; }  /* lone surrogates */
        return scan_frame(s, n, sh, &out) ? trades(&out) : Py_NewRef(Py_None);
    }
    if (PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE) < 0) { PyErr_Clear(); Py_RETURN_NONE; }
    result = scan_frame(view.buf, view.len, sh, &out) ? trades(&out) : Py_NewRef(Py_None);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *binance(PyObject *module, PyObject *frame) { return scan(frame, &binance_shape, binance_trades); }
static PyObject *okx(PyObject *module, PyObject *frame) { return scan(frame, &okx_shape, okx_trades); }
static PyObject *bybit(PyObject *module, PyObject *frame) { return scan(frame, &bybit_shape, bybit_trades); }

static PyMethodDef methods[] = {
    {"binance", binance, METH_O, "binance(frame) -> [trade] or None: feeds/binance.py's hot path, compiled."},
    {"okx", okx, METH_O, "okx(frame) -> [trade, ..] or None: feeds/okx.py's hot path, compiled."},
    {"bybit", bybit, METH_O, "bybit(frame) -> [trade, ..] or None: feeds/bybit.py's hot path, compiled."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "feeds._scan", "Compiled frame scanners.", -1, methods};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
