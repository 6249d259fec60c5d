/* Helpers of the cross tests' C clients (cross_*.c): checks that name the
 * failing call, and a watchdog. These programs are built with
 * -include baton/posix.h, so their open(), read(), write()... reach the
 * resource managers (here the Rust examples) through baton's C client. */
#ifndef BATON_TEST_CROSS_H
#define BATON_TEST_CROSS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %d: %s)\n", __FILE__, __LINE__, #c, errno, strerror(errno)); \
    exit(1); } } while (0)

/* The call fails with errno `err`. */
#define CHECK_ERR(call, err) do { errno = 0; long r_ = (long)(call); \
    if (r_ != -1 || errno != (err)) { \
        fprintf(stderr, "%s:%d: %s = %ld errno %d (%s), wanted -1 errno %d (%s)\n", \
                __FILE__, __LINE__, #call, r_, errno, strerror(errno), (err), strerror(err)); \
        exit(1); } } while (0)

/* FNV-1a, continued from h. */
static inline uint64_t cross_fnv(const unsigned char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* n pseudo-random bytes (xorshift64), the same for the same seed. */
static inline void cross_fill(unsigned char *p, size_t n, uint64_t x) {
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

#endif
