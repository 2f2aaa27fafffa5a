/* A producer's push into a tick ring, compiled: shm/plain.py's protocol (bytes_pusher) and the doorbell
   (shm/doorbell.py). Tail loaded with acquire, records copied, head stored with release; then a full fence before
   the ``asleep`` load, which closes the window shm/doorbell.py describes for Python producers (a push landing as
   the consumer arms its flag). Header words are never trusted: positions are checked as plain.push does, the
   capacity is the one validated at attach. Used by feeds/_pump.c. */
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HEADER_BYTES 4096  /* shm/header.py; feeds/compiled.py checks these against it */
#define W_HEAD 8
#define W_DROPPED 16
#define W_PRODUCER_HB 18
#define W_PRODUCER_RESYNCS 19
#define W_BELL 20
#define W_TAIL 24
#define W_ASLEEP 25

/* Copy ``count`` staged records into the ring and publish them (shm/plain.py bytes_pusher); how many fit (the
   rest are dropped and counted in the header). ``slots``: the capacity validated at attach. */
static long long ring_push(long long slots, const char *staging, long long count, char *memory, long long now_ns) {
    int64_t *words = (int64_t *)memory;
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
    return accepted;
}
