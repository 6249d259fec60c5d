/* Timers that deliver pulses: a periodic timer on the server's own channel
 * (several expiries counted), a client's one-shot and absolute timers
 * whose pulses go to the server's channel, timer_gettime/getoverrun/
 * delete, the errors; and glibc's own timers (SIGEV_SIGNAL, SIGEV_THREAD,
 * the default event, QNX's SIGEV_SIGNAL_THREAD) still working in a program
 * linked with -lbaton. Times are checked as lower bounds only. */
#include "t.h"
#include <stdint.h>
#include <time.h>

#define CODE_TICK    1
#define CODE_ONESHOT 2
#define CODE_ABS     3
#define CODE_REALABS 4

static struct chan_pipe info_pipe;

static uint64_t now_ns(clockid_t c) {
    struct timespec t;
    CHECK(clock_gettime(c, &t) == 0);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct timespec ns_ts(uint64_t ns) {
    struct timespec t = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    return t;
}

static struct _pulse next_pulse(int chid) {
    struct _pulse p;
    CHECK(MsgReceivePulse(chid, &p, sizeof p, NULL) == 0);
    return p;
}

/* glibc's timers, through libbaton's timer_* names. */
static volatile int thread_fired;
static pthread_mutex_t fired_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fired_cond = PTHREAD_COND_INITIALIZER;

static void on_thread_timer(union sigval v) {
    pthread_mutex_lock(&fired_lock);
    thread_fired = v.sival_int;
    pthread_cond_signal(&fired_cond);
    pthread_mutex_unlock(&fired_lock);
}

static void glibc_timers(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
    struct timespec secs = { 20, 0 };
    siginfo_t si;

    /* SIGEV_SIGNAL: a kernel timer id, the signal with its value. */
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR2, 42);
    timer_t t;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
    CHECK((intptr_t)t >= 0 && (intptr_t)t <= INT32_MAX);
    struct itimerspec its = { { 0, 0 }, { 0, 10 * 1000000 } };
    struct itimerspec cur;
    CHECK(timer_settime(t, 0, &its, NULL) == 0);
    CHECK(timer_gettime(t, &cur) == 0);
    CHECK(sigtimedwait(&set, &si, &secs) == SIGUSR2);
    CHECK(si.si_code == SI_TIMER && si.si_value.sival_int == 42);
    CHECK(timer_getoverrun(t) >= 0);
    CHECK(timer_delete(t) == 0);
    CHECK_ERR(timer_delete(t), EINVAL);

    /* QNX's SIGEV_SIGNAL_THREAD: to the thread that created the timer. */
    memset(&ev, 0, sizeof ev);
    SIGEV_SIGNAL_THREAD_INIT(&ev, SIGUSR2, 43, 0);
    CHECK(timer_create(CLOCK_REALTIME, &ev, &t) == 0);
    CHECK(timer_settime(t, 0, &its, NULL) == 0);
    CHECK(sigtimedwait(&set, &si, &secs) == SIGUSR2);
    CHECK(si.si_value.sival_int == 43);
    CHECK(timer_delete(t) == 0);

    /* SIGEV_THREAD: glibc runs the function in a thread of its own. */
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_thread_timer;
    ev.sigev_value.sival_int = 44;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
    CHECK(timer_settime(t, 0, &its, NULL) == 0);
    pthread_mutex_lock(&fired_lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    while (!thread_fired) CHECK(pthread_cond_timedwait(&fired_cond, &fired_lock, &until) == 0);
    pthread_mutex_unlock(&fired_lock);
    CHECK(thread_fired == 44);
    CHECK(timer_delete(t) == 0);

    /* No event: SIGALRM by default (never armed here). */
    CHECK(timer_create(CLOCK_MONOTONIC, NULL, &t) == 0);
    CHECK(timer_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    CHECK(timer_delete(t) == 0);
}

static void server(void) {
    glibc_timers();

    int chid = ChannelCreate(0);
    CHECK(chid > 0);
    int self = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(self != -1);

    /* Periodic, every 5 ms from 5 ms on: count several expiries. */
    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, CODE_TICK, 1234);
    timer_t tick;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &tick) == 0);
    CHECK((intptr_t)tick > INT32_MAX); /* never one of glibc's ids */
    struct itimerspec its = { { 0, 5 * 1000000 }, { 0, 5 * 1000000 } };
    struct itimerspec cur, old;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(timer_settime(tick, 0, &its, &old) == 0);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0);
    CHECK(timer_gettime(tick, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 5 * 1000000);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 5 * 1000000);
    long expiries = 0;
    int pulses = 0;
    while (expiries < 5) {
        struct _pulse p = next_pulse(chid);
        CHECK(p.code == CODE_TICK && p.value.sival_int == 1234);
        pulses++;
        expiries += 1 + timer_getoverrun(tick); /* a pulse stands for one or more */
    }
    /* Lower bound: 5 expiries take at least 25 ms. */
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 5 * 5 * 1000000u);
    CHECK(timer_delete(tick) == 0);
    /* Nothing after the delete: drain what was queued before it, then wait. */
    struct _pulse p;
    do {
        CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL) == 0);
    } while (MsgReceivePulse(chid, &p, sizeof p, NULL) == 0);
    CHECK(errno == ETIMEDOUT);
    uint64_t wait = 50 * 1000000u;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &wait, NULL) == 0);
    CHECK_ERR(MsgReceivePulse(chid, &p, sizeof p, NULL), ETIMEDOUT);
    CHECK_ERR(timer_settime(tick, 0, &its, NULL), EINVAL);
    CHECK_ERR(timer_gettime(tick, &cur), EINVAL);
    CHECK_ERR(timer_delete(tick), EINVAL);
    printf("periodic: %d pulses for %ld expiries\n", pulses, expiries);

    /* The errors of pulse timers. */
    timer_t bad;
    SIGEV_PULSE_INIT(&ev, self + 1000, -1, 1, 0);
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &ev, &bad), EBADF);
    SIGEV_PULSE_INIT(&ev, self, -1, 1, 0);
    CHECK_ERR(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &bad), EINVAL);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &bad) == 0);
    struct itimerspec wrong = { { 0, 0 }, { 0, 1000000000 } };
    CHECK_ERR(timer_settime(bad, 0, &wrong, NULL), EINVAL);
    CHECK(timer_delete(bad) == 0);

    /* The client's timers: their pulses come here. It starts now (so that
     * its pulses do not mix with the ones above) and sends when it armed
     * them (its message is taken only once all three pulses are in). */
    t_put(info_pipe, getpid());
    t_put(info_pipe, chid);
    uint64_t armed = 0, got[5] = { 0 };
    int seen = 0;
    while (seen < 3) {
        p = next_pulse(chid);
        CHECK(p.code == CODE_ONESHOT || p.code == CODE_ABS || p.code == CODE_REALABS);
        CHECK(got[p.code] == 0);
        got[p.code] = now_ns(CLOCK_MONOTONIC);
        seen++;
    }
    struct { uint64_t armed; } m;
    rcvid_t r = MsgReceive(chid, &m, sizeof m, NULL);
    CHECK(r > 0);
    armed = m.armed;
    /* Lower bounds: not before their times. */
    CHECK(got[CODE_ONESHOT] >= armed + 20 * 1000000u);
    CHECK(got[CODE_ABS] >= armed + 30 * 1000000u);
    CHECK(MsgReply(r, 0, NULL, 0) == 0);
    /* A one-shot fires once. */
    wait = 50 * 1000000u;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &wait, NULL) == 0);
    CHECK_ERR(MsgReceivePulse(chid, &p, sizeof p, NULL), ETIMEDOUT);
}

static void client(void) {
    int pid = t_get(info_pipe), chid = t_get(info_pipe);
    int coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, 0, 0);
    CHECK(coid != -1);
    struct { uint64_t armed; } m = { now_ns(CLOCK_MONOTONIC) };

    /* One-shot, relative, 20 ms. */
    struct sigevent ev;
    SIGEV_PULSE_INIT(&ev, coid, -1, CODE_ONESHOT, 2);
    timer_t one, abs_mono, abs_real;
    CHECK(timer_create(CLOCK_REALTIME, &ev, &one) == 0);
    struct itimerspec its = { { 0, 0 }, { 0, 20 * 1000000 } };
    CHECK(timer_settime(one, 0, &its, NULL) == 0);
    /* Absolute on CLOCK_MONOTONIC: 30 ms from when we started. */
    SIGEV_PULSE_INIT(&ev, coid, -1, CODE_ABS, 3);
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &abs_mono) == 0);
    struct itimerspec at = { { 0, 0 }, ns_ts(m.armed + 30 * 1000000u) };
    CHECK(timer_settime(abs_mono, TIMER_ABSTIME, &at, NULL) == 0);
    /* Absolute on CLOCK_REALTIME, already past: at once. */
    SIGEV_PULSE_INIT(&ev, coid, -1, CODE_REALABS, 4);
    CHECK(timer_create(CLOCK_REALTIME, &ev, &abs_real) == 0);
    struct itimerspec past = { { 0, 0 }, ns_ts(now_ns(CLOCK_REALTIME) - 1000000000u) };
    CHECK(timer_settime(abs_real, TIMER_ABSTIME, &past, NULL) == 0);

    CHECK(MsgSend(coid, &m, sizeof m, NULL, 0) == 0);
    struct itimerspec cur;
    CHECK(timer_gettime(one, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    CHECK(timer_delete(one) == 0 && timer_delete(abs_mono) == 0 && timer_delete(abs_real) == 0);
}

int main(void) {
    return t_server_client(60, &info_pipe, server, client);
}
