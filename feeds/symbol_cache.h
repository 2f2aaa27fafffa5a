/* The read loop's symbol lookup (feeds/_pump.c): a symbol's text as the scanner read it from the frame -> the
   TickWriter's [id, last seq, last time] list for it (feeds/ticks.py ``_symbols``), without building a str per
   trade. A small open-addressing table of the texts already seen, filled from the writer's dict: a text found there
   is kept with a reference to its list (the writer never removes nor replaces an entry, it only adds spellings);
   a text not there is not kept (the Python loop registers it, or drops and counts its trades). Texts longer than
   CACHE_KEY_BYTES, and any text once the table is three quarters full, are looked up in the dict each time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 1024  /* a power of two; a feed carries a few hundred symbols */
#define CACHE_KEY_BYTES 46

typedef struct {
    uint64_t hash;
    PyObject *known;  /* NULL: a free slot */
    unsigned char n;
    char key[CACHE_KEY_BYTES];
} cache_entry;

typedef struct {
    cache_entry *slots;  /* CACHE_SLOTS of them, allocated on first use */
    int used;
} symbol_cache;

static uint64_t text_hash(const char *s, Py_ssize_t n) {  /* FNV-1a */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (Py_ssize_t k = 0; k < n; k++) h = (h ^ (unsigned char)s[k]) * 0x100000001b3ULL;
    return h;
}

/* The list cached for ``s`` (borrowed), or NULL. */
static PyObject *cache_find(const symbol_cache *c, const char *s, Py_ssize_t n, uint64_t h) {
    if (c->slots == NULL || n > CACHE_KEY_BYTES) return NULL;
    for (uint64_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const cache_entry *e = &c->slots[i];
        if (e->known == NULL) return NULL;
        if (e->hash == h && e->n == n && memcmp(e->key, s, n) == 0) return e->known;
    }
}

/* Keep ``known`` for ``s`` (a new reference) while the table has room; nothing otherwise. */
static void cache_put(symbol_cache *c, const char *s, Py_ssize_t n, uint64_t h, PyObject *known) {
    if (n > CACHE_KEY_BYTES || c->used >= CACHE_SLOTS * 3 / 4) return;
    if (c->slots == NULL && (c->slots = calloc(CACHE_SLOTS, sizeof(cache_entry))) == NULL) return;
    uint64_t i = h & (CACHE_SLOTS - 1);
    while (c->slots[i].known != NULL) i = (i + 1) & (CACHE_SLOTS - 1);
    cache_entry *e = &c->slots[i];
    e->hash = h;
    e->n = (unsigned char)n;
    memcpy(e->key, s, n);
    e->known = Py_NewRef(known);
    c->used++;
}

static void cache_clear(symbol_cache *c) {
    if (c->slots == NULL) return;
    for (int i = 0; i < CACHE_SLOTS; i++) Py_XDECREF(c->slots[i].known);
    free(c->slots);
    c->slots = NULL;
    c->used = 0;
}
