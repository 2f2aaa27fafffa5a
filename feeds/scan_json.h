/* The JSON subset the feeds' compiled scanners read (feeds/_scan.c): objects of plain keys, strings of printable
   ASCII without escapes, integers, numbers with a fraction, true/false/null; one nested object and one "data" array
   of flat objects at the top level (or in the nested object); the keys a venue names are captured, a key given
   twice is a doubt. Also the
   exact readings of decimal texts, JSON numbers and ISO times that the venues' Python parsers would give.
   Included once, by feeds/_scan.c. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_NS 9223372036854775807LL
#define MAX_MS (MAX_NS / 1000000LL)

enum kind { NONE = 0, STR, INT, FLOAT, TRUE_, FALSE_, OTHER };

typedef struct {
    int kind;
    const char *s;  /* STR: the text between the quotes; FLOAT: the number's text */
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

/* A JSON number: INT when it is a non-negative integer that fits int64, FLOAT when it has a fraction and no
   exponent (its text kept), OTHER otherwise (negative, too large, an exponent). */
static const char *number(const char *p, const char *end, value *v) {
    const char *start = p;
    int negative = 0, overflow = 0;
    if (p < end && *p == '-') { negative = 1; p++; }
    const char *digits = p;
    unsigned long long x = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (x > (9223372036854775807ULL - d) / 10) overflow = 1;
        else x = x * 10 + d;
        p++;
    }
    if (p == digits || (*digits == '0' && p - digits > 1)) return NULL;  /* no digits, or a leading zero */
    v->kind = (negative || overflow) ? OTHER : INT;
    v->i = (long long)x;
    if (p < end && *p == '.') {
        const char *fraction = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == fraction) return NULL;
        v->kind = negative ? OTHER : FLOAT;
        v->s = start;
        v->n = p - start;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {  /* valid JSON, but read in Python */
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const char *exponent = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == exponent) return NULL;
        v->kind = OTHER;
    }
    return p;
}

static const char *literal(const char *p, const char *end, const char *word, size_t n) {
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) return NULL;
    return p + n;
}

static const char *scalar(const char *p, const char *end, value *v) {
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
        return number(p, end, v);
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
    int rows_in_nested;  /* the "data" array is a member of the nested object (Deribit's params), not top-level */
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

/* An object of scalar members; those named in ``k`` are captured. With ``row`` (Deribit's params), also its
   "data" array, whose rows go into ``out``; any other array or object is a doubt. */
static const char *rows(const char *p, const char *end, const keys *k, scanned *out);

static const char *flat_object(const char *p, const char *end, const keys *k, captured *c, const keys *row,
                               scanned *out) {
    clear(c, k);
    if (p >= end || *p != '{') return NULL;
    p = ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        const char *key;
        Py_ssize_t n;
        value v;
        int more;
        if (!(p = member_key(p, end, &key, &n)) || p >= end) return NULL;
        if (*p == '[') {
            if (!row || out->rows >= 0 || n != 4 || memcmp(key, "data", 4) != 0 || !(p = rows(p, end, row, out)))
                return NULL;
        } else if (!(p = scalar(p, end, &v)) || !capture(c, k, key, n, &v)) {
            return NULL;
        }
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
        if (out->rows == MAX_ROWS || !(p = flat_object(p, end, k, &out->row[out->rows], NULL, NULL))) return NULL;
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
                    || memcmp(key, sh->nested_key, n) != 0)
                return 0;
            if (!(p = flat_object(p, end, sh->nested, &out->nested, sh->rows_in_nested ? sh->row : NULL, out)))
                return 0;
            out->has_nested = 1;
        } else if (*p == '[') {
            if (!sh->row || sh->rows_in_nested || out->rows >= 0 || n != 4 || memcmp(key, "data", 4) != 0
                    || !(p = rows(p, end, sh->row, out)))
                return 0;
        } else if (!(p = scalar(p, end, &v)) || !capture(&out->top, sh->top, key, n, &v)) {
            return 0;
        }
        if ((more = next_member(&p, end, '}')) < 0) return 0;
        if (!more) return ws(p, end) == end;
    }
}

/* Powers of ten exact in a double (Clinger's fast path: exact_decimal). */
static const double POWERS_OF_TEN[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Digits with at most one point, exactly as a double where Clinger's fast path applies: 1 (and ``*out``), 0 when
   the text is not such digits, -1 when it is but has more than 15 significant digits or 22 decimals. */
static int exact_decimal(const char *s, Py_ssize_t n, double *out) {
    int digits = 0, points = 0, decimals = 0, significant = 0;
    unsigned long long mantissa = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        char c = s[k];
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
    if (significant > 15 || decimals > 22) return -1;
    *out = (double)mantissa / POWERS_OF_TEN[decimals];
    return 1;
}

/* A price or size text as float() reads it: digits with at most one point, strictly positive and finite.
   Up to 15 significant digits and 22 decimals (nearly every price and size): the digits as an integer divided by
   a power of ten, both exact in a double, so the one rounding of the division gives the correctly rounded value,
   as float() does; longer texts go through PyOS_string_to_double, float()'s own routine (which switches the x87
   control word twice: 13% of a scan when every text went that way). */
static int positive_decimal(const value *v, double *out) {
    char buffer[64];
    if (v->kind != STR || v->n == 0 || v->n >= (Py_ssize_t)sizeof buffer) return 0;
    switch (exact_decimal(v->s, v->n, out)) {
    case 1: return *out > 0.0;
    case 0: return 0;
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

/* A JSON number with a fraction (orjson's float), when exact on the fast path and positive: orjson and this
   both round correctly, so they agree; anything longer is read in Python. */
static int positive_float(const value *v, double *out) {
    return v->kind == FLOAT && exact_decimal(v->s, v->n, out) == 1 && *out > 0.0;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" as ns since the epoch, when it is a real date and clock in the int64 range
   (normalize.ns_from_iso's usual case); other forms (a zone offset, lower-case T or Z) are read in Python. */
static const int DAYS_IN_MONTH[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
static const long long FRACTION_SCALE[10] = {1, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1};

static int two(const char *s, int *out) {
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return 0;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return 1;
}

static long long days_from_civil(long long y, int m, int d) {  /* H. Hinnant's algorithm */
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int iso_ns(const value *v, long long *out) {
    const char *s = v->s;
    int century, year2, month, day, hour, minute, second;
    long long fraction = 0;
    Py_ssize_t n = v->n;
    if (v->kind != STR || n < 20 || n > 30 || n == 21 || s[n - 1] != 'Z') return 0;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return 0;
    if (!two(s, &century) || !two(s + 2, &year2) || !two(s + 5, &month) || !two(s + 8, &day) || !two(s + 11, &hour)
            || !two(s + 14, &minute) || !two(s + 17, &second)) return 0;
    if (n > 20) {
        if (s[19] != '.') return 0;
        for (Py_ssize_t k = 20; k < n - 1; k++) {
            if (s[k] < '0' || s[k] > '9') return 0;
            fraction = fraction * 10 + (s[k] - '0');
        }
        fraction *= FRACTION_SCALE[n - 21];
    }
    int year = century * 100 + year2;
    int leap = month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month] + leap || hour > 23 || minute > 59
            || second > 59) return 0;
    long long seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    if (seconds < 0 || seconds > MAX_NS / 1000000000LL
            || (seconds == MAX_NS / 1000000000LL && fraction > MAX_NS % 1000000000LL)) return 0;
    *out = seconds * 1000000000LL + fraction;
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
