/* The compiled scanners' venue readers (issue 12): a usual trade frame of each venue read straight from its bytes
   into ``trade`` structs, the fields the venue's Python hot path puts in its trade tuples; -1 on any doubt (the
   Python parser then reads the frame). Shared by feeds/_scan.c (the scanners: tuples for the Python parsers) and
   feeds/_pump.c (the read loop, which stages the structs without building tuples). The JSON subset:
   feeds/scan_json.h. */
#include "scan_json.h"

/* One trade tuple, as the venue parsers build it: (symbol, price, size, side, ts_ns, trade_id, 0, seq, 1). */
typedef struct {
    value symbol;  /* its text (a copy: Bitstamp's is part of the channel's) */
    const value *id_text;  /* id_text NULL: the id's text is ``id`` in decimal; else in the scanned frame */
    PyObject *symbol_object;  /* where the symbol is already a str (Bitfinex's channel map), else NULL */
    double price, size;
    int side;
    long long ns, seq, id;
} trade;

static PyObject *trade_tuple(const trade *t) {
    char digits[24];
    const char *id = digits;
    Py_ssize_t id_n;
    if (t->id_text) {
        id = t->id_text->s;
        id_n = t->id_text->n;
    } else {
        unsigned long long x = (unsigned long long)t->id;
        char *w = digits + sizeof digits;
        do { *--w = (char)('0' + x % 10); x /= 10; } while (x);
        id = w;
        id_n = digits + sizeof digits - w;
    }
    PyObject *items[9] = {
        t->symbol_object ? Py_NewRef(t->symbol_object) : PyUnicode_FromStringAndSize(t->symbol.s, t->symbol.n),
        PyFloat_FromDouble(t->price),
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

static int binance_rows(const scanned *f, trade *out) {
    const value *v;
    trade t = {0};
    if (f->top.v[B_STREAM].kind != NONE && f->has_nested) v = f->nested.v;
    else if (!f->has_nested) v = f->top.v;
    else return -1;  /* "data" without "stream": the Python parser reads the frame itself */
    const value *id;
    if (is_text(&v[B_E], "trade")) id = &v[B_T];
    else if (is_text(&v[B_E], "aggTrade")) id = &v[B_A];
    else return -1;
    if (id->kind != INT || v[B_TIME].kind != INT || v[B_TIME].i > MAX_MS || v[B_S].kind != STR) return -1;
    if (!positive_decimal(&v[B_P], &t.price) || !positive_decimal(&v[B_Q], &t.size)) return -1;
    if (v[B_M].kind != TRUE_ && v[B_M].kind != FALSE_) return -1;
    t.symbol = v[B_S];
    t.id_text = NULL;
    t.side = v[B_M].kind == TRUE_ ? -1 : 1;  /* the buyer was the maker: the taker sold */
    t.ns = v[B_TIME].i * 1000000LL;
    t.seq = t.id = id->i;
    *out = t;
    return 1;
}

/* --- OKX: {"arg":{"channel":"trades",..},"data":[{"instId":..,"tradeId":"..","px":"..","sz":"..","side":"buy",
   "ts":"..","count":"1"}, ..]} */
enum { O_INST, O_ID, O_PX, O_SZ, O_SIDE, O_TS, O_COUNT };
static const keys okx_top = {0, {NULL}, {0}}, okx_arg = {1, {"channel"}, {7}};
static const keys okx_row = {7, {"instId", "tradeId", "px", "sz", "side", "ts", "count"}, {6, 7, 2, 2, 4, 2, 5}};
static const shape okx_shape = {&okx_top, &okx_arg, &okx_row, "arg"};

static int okx_rows(const scanned *f, trade *t) {
    if (!f->has_nested || !is_text(&f->nested.v[0], "trades") || f->rows < 0) return -1;
    for (int k = 0; k < f->rows; k++) {
        const value *v = f->row[k].v;
        const value *count = &v[O_COUNT];
        long long ms;
        if (v[O_INST].kind != STR || !positive_decimal(&v[O_PX], &t[k].price) || !positive_decimal(&v[O_SZ], &t[k].size)
                || !digit_text(&v[O_TS], &ms) || ms > MAX_MS || !digit_text(&v[O_ID], &t[k].seq)) return -1;
        if (!(count->kind == NONE || is_text(count, "1") || (count->kind == INT && count->i == 1))) return -1;
        if (is_text(&v[O_SIDE], "buy")) t[k].side = 1;
        else if (is_text(&v[O_SIDE], "sell")) t[k].side = -1;
        else return -1;
        t[k].symbol = v[O_INST];
        t[k].symbol_object = NULL;
        t[k].id_text = &v[O_ID];
        t[k].ns = ms * 1000000LL;
    }
    return f->rows;
}

/* --- Bybit: {"topic":"publicTrade.BTCUSDT",..,"data":[{"i":"..","T":..,"p":"..","v":"..","S":"Buy","s":..}, ..]} */
enum { Y_ID, Y_TIME, Y_P, Y_V, Y_SIDE, Y_SYMBOL };
static const keys bybit_top = {1, {"topic"}, {5}};
static const keys bybit_row = {6, {"i", "T", "p", "v", "S", "s"}, {1, 1, 1, 1, 1, 1}};
static const shape bybit_shape = {&bybit_top, NULL, &bybit_row, NULL};

static int bybit_rows(const scanned *f, trade *t) {
    const value *topic = &f->top.v[0];
    if (topic->kind != STR || topic->n < 12 || memcmp(topic->s, "publicTrade.", 12) != 0 || f->rows < 0) return -1;
    for (int k = 0; k < f->rows; k++) {
        const value *v = f->row[k].v;
        if (v[Y_ID].kind != STR || v[Y_ID].n == 0 || v[Y_TIME].kind != INT || v[Y_TIME].i > MAX_MS
                || v[Y_SYMBOL].kind != STR || !positive_decimal(&v[Y_P], &t[k].price)
                || !positive_decimal(&v[Y_V], &t[k].size)) return -1;
        if (is_text(&v[Y_SIDE], "Buy")) t[k].side = 1;
        else if (is_text(&v[Y_SIDE], "Sell")) t[k].side = -1;
        else return -1;
        t[k].symbol = v[Y_SYMBOL];
        t[k].symbol_object = NULL;
        t[k].id_text = &v[Y_ID];
        t[k].ns = v[Y_TIME].i * 1000000LL;
        t[k].seq = -1;
    }
    return f->rows;
}

/* --- Coinbase Exchange: {"type":"match","trade_id":..,"side":"sell","size":"..","price":"..","product_id":..,
   "time":"2021-04-17T16:43:37.089723Z",..}; ``side`` is the maker's, so the taker's is the other one */
enum { C_TYPE, C_ID, C_SIDE, C_SIZE, C_PRICE, C_PRODUCT, C_TIME };
static const keys coinbase_keys = {7, {"type", "trade_id", "side", "size", "price", "product_id", "time"},
                                   {4, 8, 4, 4, 5, 10, 4}};
static const shape coinbase_shape = {&coinbase_keys, NULL, NULL, NULL};

static int coinbase_rows(const scanned *f, trade *out) {
    const value *v = f->top.v;
    trade t = {0};
    if (!is_text(&v[C_TYPE], "match") || v[C_ID].kind != INT || v[C_PRODUCT].kind != STR
            || !positive_decimal(&v[C_PRICE], &t.price) || !positive_decimal(&v[C_SIZE], &t.size)
            || !iso_ns(&v[C_TIME], &t.ns)) return -1;
    if (is_text(&v[C_SIDE], "buy")) t.side = -1;
    else if (is_text(&v[C_SIDE], "sell")) t.side = 1;
    else return -1;
    t.symbol = v[C_PRODUCT];
    t.id_text = NULL;
    t.seq = t.id = v[C_ID].i;
    *out = t;
    return 1;
}

/* --- Kraken v2: {"channel":"trade","type":"update","data":[{"symbol":..,"side":"buy","price":0.5117,"qty":40.0,
   "trade_id":..,"timestamp":"2023-09-25T07:49:37.708706Z",..}, ..]} */
enum { K_SYMBOL, K_SIDE, K_PRICE, K_QTY, K_ID, K_TIME };
static const keys kraken_top = {2, {"channel", "type"}, {7, 4}};
static const keys kraken_row = {6, {"symbol", "side", "price", "qty", "trade_id", "timestamp"}, {6, 4, 5, 3, 8, 9}};
static const shape kraken_shape = {&kraken_top, NULL, &kraken_row, NULL};

static int kraken_rows(const scanned *f, trade *t) {
    if (!is_text(&f->top.v[0], "trade") || !is_text(&f->top.v[1], "update") || f->rows < 0) return -1;
    for (int k = 0; k < f->rows; k++) {
        const value *v = f->row[k].v;
        if (v[K_SYMBOL].kind != STR || v[K_ID].kind != INT || !positive_float(&v[K_PRICE], &t[k].price)
                || !positive_float(&v[K_QTY], &t[k].size) || !iso_ns(&v[K_TIME], &t[k].ns)) return -1;
        if (is_text(&v[K_SIDE], "buy")) t[k].side = 1;
        else if (is_text(&v[K_SIDE], "sell")) t[k].side = -1;
        else return -1;
        t[k].symbol = v[K_SYMBOL];
        t[k].symbol_object = NULL;
        t[k].id_text = NULL;
        t[k].seq = t[k].id = v[K_ID].i;
    }
    return f->rows;
}

/* --- Bitstamp: {"event":"trade","channel":"live_trades_btcusd","data":{"id":..,"price_str":"..","amount_str":"..",
   "type":0,"microtimestamp":"..",..}}; the symbol is the channel's suffix, ``type`` the taker's side (0: buy) */
enum { S_EVENT, S_CHANNEL };
enum { S_PRICE, S_AMOUNT, S_MICROS, S_ID_STR, S_ID, S_TYPE };
static const keys bitstamp_top = {2, {"event", "channel"}, {5, 7}};
static const keys bitstamp_data = {6, {"price_str", "amount_str", "microtimestamp", "id_str", "id", "type"},
                                   {9, 10, 14, 6, 2, 4}};
static const shape bitstamp_shape = {&bitstamp_top, &bitstamp_data, NULL, "data"};
#define CHANNEL_PREFIX "live_trades_"

static int bitstamp_rows(const scanned *f, trade *out) {
    const value *top = f->top.v, *v = f->nested.v;
    trade t = {0};
    value symbol;
    long long us;
    Py_ssize_t prefix = sizeof(CHANNEL_PREFIX) - 1;
    if (!is_text(&top[S_EVENT], "trade") || top[S_CHANNEL].kind != STR || top[S_CHANNEL].n < prefix
            || memcmp(top[S_CHANNEL].s, CHANNEL_PREFIX, prefix) != 0 || !f->has_nested) return -1;
    if (!positive_decimal(&v[S_PRICE], &t.price) || !positive_decimal(&v[S_AMOUNT], &t.size)
            || !digit_text(&v[S_MICROS], &us) || us > MAX_NS / 1000 || v[S_TYPE].kind != INT || v[S_TYPE].i > 1)
        return -1;
    if (v[S_ID_STR].kind != NONE) {  /* the id's exact text, where the venue gives it */
        if (v[S_ID_STR].kind != STR || v[S_ID_STR].n == 0) return -1;
        t.id_text = &v[S_ID_STR];
    } else if (v[S_ID].kind == INT) {
        t.id_text = NULL;
        t.id = v[S_ID].i;
    } else if (v[S_ID].kind == STR && v[S_ID].n) {
        t.id_text = &v[S_ID];
    } else {
        return -1;
    }
    symbol = top[S_CHANNEL];
    symbol.s += prefix;
    symbol.n -= prefix;
    t.symbol = symbol;
    t.side = v[S_TYPE].i == 0 ? 1 : -1;
    t.ns = us * 1000LL;
    t.seq = -1;
    *out = t;
    return 1;
}

/* --- Gemini (the current API): {"E":1783981140085684200,"s":"btcusd","t":2840141014190422,"p":"62145.38",
   "q":"0.01625222","m":true}; ``E`` in ns, ``m``: the buyer was the maker */
enum { G_E, G_S, G_T, G_P, G_Q, G_M };
static const keys gemini_keys = {6, {"E", "s", "t", "p", "q", "m"}, {1, 1, 1, 1, 1, 1}};
static const shape gemini_shape = {&gemini_keys, NULL, NULL, NULL};

static int gemini_rows(const scanned *f, trade *out) {
    const value *v = f->top.v;
    trade t = {0};
    if (v[G_T].kind != INT || v[G_E].kind != INT || v[G_S].kind != STR || !positive_decimal(&v[G_P], &t.price)
            || !positive_decimal(&v[G_Q], &t.size) || (v[G_M].kind != TRUE_ && v[G_M].kind != FALSE_)) return -1;
    t.symbol = v[G_S];
    t.id_text = NULL;
    t.id = v[G_T].i;
    t.side = v[G_M].kind == TRUE_ ? -1 : 1;
    t.ns = v[G_E].i;
    t.seq = -1;
    *out = t;
    return 1;
}

/* --- BitMEX: {"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:19.764Z","symbol":..,
   "side":"Sell","size":1199,"price":0.8795,"trdMatchID":"3b2d6d74-..",..}, ..]}; prices and sizes are JSON numbers */
enum { X_TABLE, X_ACTION };
enum { X_TIME, X_SYMBOL, X_SIDE, X_SIZE, X_PRICE, X_ID };
static const keys bitmex_top = {2, {"table", "action"}, {5, 6}};
static const keys bitmex_row = {6, {"timestamp", "symbol", "side", "size", "price", "trdMatchID"}, {9, 6, 4, 4, 5, 10}};
static const shape bitmex_shape = {&bitmex_top, NULL, &bitmex_row, NULL};

/* A JSON number as float() of what orjson gives (an int or a float), when positive and read exactly here. */
static int positive_number(const value *v, double *out) {
    if (v->kind == INT) {
        *out = (double)v->i;  /* correctly rounded, as float(int) */
        return v->i > 0;
    }
    return positive_float(v, out);
}

static int bitmex_rows(const scanned *f, trade *t) {
    if (!is_text(&f->top.v[X_TABLE], "trade") || !is_text(&f->top.v[X_ACTION], "insert") || f->rows < 0)
        return -1;
    for (int k = 0; k < f->rows; k++) {
        const value *v = f->row[k].v;
        if (v[X_SYMBOL].kind != STR || v[X_ID].kind != STR || v[X_ID].n == 0
                || !positive_number(&v[X_PRICE], &t[k].price)
                || !positive_number(&v[X_SIZE], &t[k].size) || !iso_ns(&v[X_TIME], &t[k].ns)) return -1;
        if (is_text(&v[X_SIDE], "Buy")) t[k].side = 1;
        else if (is_text(&v[X_SIDE], "Sell")) t[k].side = -1;
        else return -1;
        t[k].symbol = v[X_SYMBOL];
        t[k].symbol_object = NULL;
        t[k].id_text = &v[X_ID];
        t[k].seq = -1;
    }
    return f->rows;
}

/* --- Deribit: {"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms",
   "data":[{"trade_seq":..,"trade_id":"..","timestamp":..,"price":4469.5,"instrument_name":..,"direction":"sell",
   "amount":1120,..}, ..]}}; ``trade_seq`` numbers each instrument's trades */
enum { D_SEQ, D_ID, D_TIME, D_PRICE, D_NAME, D_DIRECTION, D_AMOUNT };
static const keys deribit_top = {1, {"method"}, {6}}, deribit_params = {1, {"channel"}, {7}};
static const keys deribit_row = {7, {"trade_seq", "trade_id", "timestamp", "price", "instrument_name", "direction",
                                     "amount"}, {9, 8, 9, 5, 15, 9, 6}};
static const shape deribit_shape = {&deribit_top, &deribit_params, &deribit_row, "params", 1};

static int deribit_rows(const scanned *f, trade *t) {
    const value *channel = &f->nested.v[0];
    if (!is_text(&f->top.v[0], "subscription") || !f->has_nested || channel->kind != STR || channel->n < 7
            || memcmp(channel->s, "trades.", 7) != 0 || f->rows < 0) return -1;
    for (int k = 0; k < f->rows; k++) {
        const value *v = f->row[k].v;
        if (v[D_NAME].kind != STR || v[D_ID].kind != STR || v[D_ID].n == 0 || v[D_SEQ].kind != INT
                || v[D_TIME].kind != INT || v[D_TIME].i > MAX_MS || !positive_number(&v[D_PRICE], &t[k].price)
                || !positive_number(&v[D_AMOUNT], &t[k].size)) return -1;
        if (is_text(&v[D_DIRECTION], "buy")) t[k].side = 1;
        else if (is_text(&v[D_DIRECTION], "sell")) t[k].side = -1;
        else return -1;
        t[k].symbol = v[D_NAME];
        t[k].symbol_object = NULL;
        t[k].id_text = &v[D_ID];
        t[k].ns = v[D_TIME].i * 1000000LL;
        t[k].seq = v[D_SEQ].i;
    }
    return f->rows;
}

/* --- Bitfinex: [chanId,"te",[ID,MTS,AMOUNT,PRICE],..] on a channel the parser mapped to its symbol ("subscribed"
   frames: feeds/bitfinex.py); AMOUNT > 0: the taker bought; [chanId,"tu",..] and [chanId,"hb"] repeat a trade or beat
   the heart: no trades. The scanner takes the parser's map: bitfinex(symbols, frame). */
static const char *skip_value(const char *p, const char *end) {  /* a scalar or an array of scalars */
    value v;
    if (p < end && *p == '[') {
        p = ws(p + 1, end);
        if (p < end && *p == ']') return p + 1;
        for (;;) {
            int more;
            if (!(p = scalar(p, end, &v))) return NULL;
            if ((more = next_member(&p, end, ']')) < 0) return NULL;
            if (!more) return p;
        }
    }
    return scalar(p, end, &v);
}

/* A JSON number of either sign, as float() of orjson's value, when read exactly here. */
static const char *signed_number(const char *p, const char *end, double *out) {
    int negative = p < end && *p == '-';
    value v;
    if (!(p = number(p + negative, end, &v))) return NULL;
    if (v.kind == INT) *out = (double)v.i;
    else if (v.kind != FLOAT || exact_decimal(v.s, v.n, out) != 1) return NULL;
    if (negative) *out = -*out;
    return p;
}

/* -1: a doubt; 0: a repeat or a heartbeat (no trades); 1: a trade in ``out`` (its symbol borrowed from
   ``symbols``). */
static int bitfinex_rows(PyObject *symbols, const char *p, Py_ssize_t len, trade *out) {
    const char *end = p + len, *body;
    Py_ssize_t body_n;
    value channel, id, ms;
    double amount, price;
    trade t = {0};
    p = ws(p, end);
    if (p >= end || *p != '[') return -1;
    p = ws(p + 1, end);
    if (!(p = number(p, end, &channel)) || channel.kind != INT || next_member(&p, end, ']') != 1
            || !(p = text(p, end, &body, &body_n))) return -1;
    int live = (body_n == 2 && memcmp(body, "te", 2) == 0) || (body_n == 3 && memcmp(body, "fte", 3) == 0);
    int repeat = (body_n == 2 && (memcmp(body, "tu", 2) == 0 || memcmp(body, "hb", 2) == 0))
                 || (body_n == 3 && memcmp(body, "ftu", 3) == 0);
    if (!live && !repeat) return -1;
    int more = next_member(&p, end, ']');
    if (more < 0 || (live && !more)) return -1;
    if (live) {  /* [ID,MTS,AMOUNT,PRICE,..] */
        if (p >= end || *p != '[') return -1;
        p = ws(p + 1, end);
        if (!(p = number(p, end, &id)) || id.kind != INT || next_member(&p, end, ']') != 1
                || !(p = number(p, end, &ms)) || ms.kind != INT || ms.i > MAX_MS || next_member(&p, end, ']') != 1
                || !(p = signed_number(p, end, &amount)) || next_member(&p, end, ']') != 1
                || !(p = signed_number(p, end, &price)) || !(price > 0.0) || amount == 0.0) return -1;
        value extra;
        while ((more = next_member(&p, end, ']')) == 1)  /* the row's other members */
            if (!(p = scalar(p, end, &extra))) return -1;
        if (more < 0) return -1;
        more = next_member(&p, end, ']');
        if (more < 0) return -1;
    }
    while (more) {  /* the rest: scalars and arrays of scalars */
        if (!(p = skip_value(p, end)) || (more = next_member(&p, end, ']')) < 0) return -1;
    }
    if (ws(p, end) != end) return -1;
    if (repeat) return 0;
    PyObject *key = PyLong_FromLongLong(channel.i);
    if (key == NULL) { PyErr_Clear(); return -1; }
    PyObject *symbol = PyDict_GetItemWithError(symbols, key);  /* borrowed */
    Py_DECREF(key);
    if (symbol == NULL) {
        if (PyErr_Occurred()) PyErr_Clear();
        return -1;  /* a channel never subscribed: the Python parser names it */
    }
    t.symbol_object = symbol;
    t.price = price;
    t.size = amount > 0 ? amount : -amount;
    t.side = amount > 0 ? 1 : -1;
    t.ns = ms.i * 1000000LL;
    t.id = id.i;
    t.seq = -1;
    *out = t;
    return 1;
}

/* The venues, by the index the scanners (feeds/_scan.c) and the read loop (feeds/_pump.c) use. */
enum {
    V_BINANCE, V_OKX, V_BYBIT, V_COINBASE, V_KRAKEN, V_BITSTAMP, V_GEMINI, V_BITMEX, V_DERIBIT, V_BITFINEX, N_VENUES
};
static const char *const VENUE_NAMES[N_VENUES] = {"binance", "okx", "bybit", "coinbase", "kraken", "bitstamp", "gemini",
                                                  "bitmex", "deribit", "bitfinex"};
static const shape *const VENUE_SHAPES[V_BITFINEX] = {&binance_shape, &okx_shape, &bybit_shape, &coinbase_shape,
    &kraken_shape, &bitstamp_shape, &gemini_shape, &bitmex_shape, &deribit_shape};
static int (*const VENUE_ROWS[V_BITFINEX])(const scanned *, trade *) = {binance_rows, okx_rows, bybit_rows,
    coinbase_rows, kraken_rows, bitstamp_rows, gemini_rows, bitmex_rows, deribit_rows};

/* The trades of a usual trade frame of ``venue`` into ``t`` (room for MAX_ROWS): how many, or -1 on any doubt.
   ``work``: scratch space; ``symbols``: Bitfinex's chanId -> symbol map (other venues: unused). */
static int scan_rows(int venue, PyObject *symbols, const char *p, Py_ssize_t n, scanned *work, trade *t) {
    if (venue == V_BITFINEX) return bitfinex_rows(symbols, p, n, t);
    if (venue < 0 || venue > V_BITFINEX || !scan_frame(p, n, VENUE_SHAPES[venue], work)) return -1;
    return VENUE_ROWS[venue](work, t);
}
