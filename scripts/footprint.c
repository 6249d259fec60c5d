/* What touching memory costs a round trip on one CPU (docs/DESIGN.md,
 * "Where the time goes"): a futex ping-pong like `baton bench`'s futex
 * floor (written here in C, so that the lines touched are placed by
 * hand), two processes pinned to the first CPU, where each side, on
 * waking, first runs K distinct 64-byte code lines (a chain of jumps, one
 * a line), reads K distinct data lines (the same ones every time), or
 * runs K conditional branches (16 bytes apart) that are all taken
 * (`taken`) or all fall through (`fall`), on a register the branches
 * cannot know, or K locked increments of one word (`locked`); with
 * `twice`, it does so twice, the second time warm.
 * Prints the mean round trip in µs. Built and run by scripts/footprint.
 * Usage: footprint code|data|taken|fall|locked K once|twice [ROUND_TRIPS] */
#include "pingpong.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAX_LINES 1024
#define STR(x) #x
#define XSTR(x) STR(x)

/* MAX_LINES code lines, each a jump to the next; entered K lines before
 * the end, it runs K lines and returns. */
__asm__(".text\n.p2align 6\nchain:\n"
        ".rept " XSTR(MAX_LINES) "\n jmp 1f\n .p2align 6\n1:\n.endr\n ret\n");
extern char chain[];

/* MAX_LINES conditional branches on the first argument, each to the next
 * (taken if it is not zero, fallen through if it is), 16 bytes apart. */
__asm__(".text\n.p2align 6\nbranches:\n"
        ".rept " XSTR(MAX_LINES) "\n test %edi, %edi\n jnz 1f\n1:\n .p2align 4\n.endr\n ret\n");
extern char branches[];

static volatile char *data;
static int k, twice, taken;
static void (*code)(void);
static void (*branch)(int);

static void touch_code(void) {
    code();
    if (twice) code();
}

static void touch_branches(void) {
    branch(taken);
    if (twice) branch(taken);
}

static atomic_long counter;

static void touch_locked(void) {
    for (int pass = 0; pass <= twice; pass++)
        for (int i = 0; i < k; i++)
            atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

static void touch_data(void) {
    for (int pass = 0; pass <= twice; pass++)
        for (int i = 0; i < k; i++)
            (void)data[i * 192]; /* three lines apart: no adjacent-line prefetch */
}

int main(int argc, char **argv) {
    const char *kind = argc > 1 ? argv[1] : "";
    int is_branch = !strcmp(kind, "taken") || !strcmp(kind, "fall");
    int is_locked = !strcmp(kind, "locked");
    if (argc < 4 || (strcmp(kind, "code") && strcmp(kind, "data") && !is_branch && !is_locked) ||
        (strcmp(argv[3], "once") && strcmp(argv[3], "twice"))) {
        fprintf(stderr, "usage: footprint code|data|taken|fall|locked K once|twice [ROUND_TRIPS]\n");
        return 2;
    }
    k = atoi(argv[2]);
    twice = argv[3][0] == 't';
    long n = argc > 4 ? atol(argv[4]) : 200000, warm = n / 10;
    if (k < 0 || k > MAX_LINES || n < 1) {
        fprintf(stderr, "footprint: K is 0 to %d, ROUND_TRIPS at least 1\n", MAX_LINES);
        return 2;
    }
    void (*touch)(void) = is_branch   ? touch_branches
                          : is_locked ? touch_locked
                          : kind[0] == 'c' ? touch_code
                                           : touch_data;
    code = (void (*)(void))(chain + (MAX_LINES - k) * 64);
    branch = (void (*)(int))(branches + (MAX_LINES - k) * 16);
    taken = !strcmp(kind, "taken");
    char *d = malloc((size_t)MAX_LINES * 192);
    if (!d) return 1;
    memset(d, 1, (size_t)MAX_LINES * 192);
    data = d;
    atomic_uint *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED) return 1;
    if (pin_to_first_cpu()) return 1;
    /* The word counts steps: the client posts 2i+1, the server 2i+2. */
    pid_t server = fork();
    if (server < 0) return 1;
    if (server == 0) {
        for (unsigned i = 0; i < (unsigned)(n + warm); i++) {
            wait_while(w, 2 * i);
            touch();
            post(w, 2 * i + 2);
        }
        _exit(0);
    }
    double start = 0;
    for (unsigned i = 0; i < (unsigned)(n + warm); i++) {
        if (i == (unsigned)warm) start = now_us();
        touch();
        post(w, 2 * i + 1);
        wait_while(w, 2 * i + 1);
    }
    double end = now_us();
    waitpid(server, NULL, 0);
    printf("%.3f\n", (end - start) / n);
    return 0;
}
