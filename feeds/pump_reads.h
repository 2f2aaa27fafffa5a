/* The read loop's state and what it does with a read's frames (feeds/_pump.c): a Pump (one connection: its socket,
   its buffer, the writer's staging area, symbols and limits, the tick ring), and for each whole frame of a read
   the venue's reader, the symbol lookup and the record packing; included once, by feeds/_pump.c. */
enum { TIMEOUT, HOUSEKEEPING, REST, CHECK, END, FAILED, READY };
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

static PyTypeObject PumpType;

static long long clock_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
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

