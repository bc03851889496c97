/*
 * misc.c - the calls that are neither memory, processes, signals nor
 * files: time and clocks, sleeping, alarms, uname, getrandom, sysinfo,
 * user and group ids, resource limits and usage, personality, prctl.
 *
 * Sleeping is kernel_wait with a deadline, so a guest signal ends it as on
 * Linux (nanosleep: -EINTR and the time left).  Alarms (alarm, setitimer's
 * ITIMER_REAL) are one timer thread of the runner's that sends SIGALRM to
 * the guest process when its time comes.
 *
 * Resource limits: RLIMIT_AS, DATA, STACK and MEMLOCK are the process's
 * space's (libguestmm enforces them); the others are one copy for all
 * guest processes, taken from the host's at start (RLIMIT_NOFILE bounds
 * the guest fd tables; the rest are only kept and reported).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

#define NSEC 1000000000L

/* ---- time ---- */

static int64_t sys_time(struct thread *t, const uint32_t a[6])
{
    int32_t now = (int32_t)time(NULL);
    if (a[0] && guest_write(t, a[0], &now, 4))
        return -EFAULT;
    return now;
}

static int64_t sys_gettimeofday(struct thread *t, const uint32_t a[6])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int32_t tv[2] = {(int32_t)ts.tv_sec, (int32_t)(ts.tv_nsec / 1000)};
    if (a[0] && guest_write(t, a[0], tv, 8))
        return -EFAULT;
    int32_t tz[2] = {0, 0}; /* minuteswest, dsttime: UTC as the kernel keeps it */
    if (a[1] && guest_write(t, a[1], tz, 8))
        return -EFAULT;
    return 0;
}

static int64_t sys_eperm(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return -EPERM;
}

/* Clock ids the guest may name: Linux's fixed ones.  Negative ids are
 * CPU clocks of pids, host pids to the host: refused. */
static bool clock_ok(uint32_t clk)
{
    return clk <= 11 && clk != 10;
}

static int put_ts(struct thread *t, uint32_t addr, const struct timespec *ts, bool wide)
{
    if (wide) {
        int64_t v[2] = {ts->tv_sec, ts->tv_nsec};
        return guest_write(t, addr, v, 16) ? -EFAULT : 0;
    }
    int32_t v[2] = {(int32_t)ts->tv_sec, (int32_t)ts->tv_nsec};
    return guest_write(t, addr, v, 8) ? -EFAULT : 0;
}

static int get_ts(struct thread *t, uint32_t addr, struct timespec *ts, bool wide)
{
    if (wide) {
        int64_t v[2];
        if (guest_read(t, addr, v, 16))
            return -EFAULT;
        ts->tv_sec = (time_t)v[0];
        /* The upper half of tv_nsec is ignored for compat tasks. */
        ts->tv_nsec = (long)(int32_t)(uint32_t)v[1];
    } else {
        int32_t v[2];
        if (guest_read(t, addr, v, 8))
            return -EFAULT;
        ts->tv_sec = v[0];
        ts->tv_nsec = v[1];
    }
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= NSEC)
        return -EINVAL;
    return 0;
}

static int64_t do_clock_gettime(struct thread *t, const uint32_t a[6], bool wide)
{
    if (!clock_ok(a[0]))
        return -EINVAL;
    struct timespec ts;
    if (clock_gettime((clockid_t)a[0], &ts) < 0)
        return -errno;
    return put_ts(t, a[1], &ts, wide);
}

static int64_t sys_clock_gettime(struct thread *t, const uint32_t a[6])
{
    return do_clock_gettime(t, a, false);
}

static int64_t sys_clock_gettime64(struct thread *t, const uint32_t a[6])
{
    return do_clock_gettime(t, a, true);
}

static int64_t do_clock_getres(struct thread *t, const uint32_t a[6], bool wide)
{
    if (!clock_ok(a[0]))
        return -EINVAL;
    struct timespec ts;
    if (clock_getres((clockid_t)a[0], &ts) < 0)
        return -errno;
    return a[1] ? put_ts(t, a[1], &ts, wide) : 0;
}

static int64_t sys_clock_getres(struct thread *t, const uint32_t a[6])
{
    return do_clock_getres(t, a, false);
}

static int64_t sys_clock_getres64(struct thread *t, const uint32_t a[6])
{
    return do_clock_getres(t, a, true);
}

static void ts_add(struct timespec *a, const struct timespec *b)
{
    a->tv_sec += b->tv_sec;
    a->tv_nsec += b->tv_nsec;
    if (a->tv_nsec >= NSEC) {
        a->tv_sec++;
        a->tv_nsec -= NSEC;
    }
}

/* a - b, or zero when b is later. */
static struct timespec ts_sub(const struct timespec *a, const struct timespec *b)
{
    struct timespec d = {a->tv_sec - b->tv_sec, a->tv_nsec - b->tv_nsec};
    if (d.tv_nsec < 0) {
        d.tv_sec--;
        d.tv_nsec += NSEC;
    }
    if (d.tv_sec < 0)
        d.tv_sec = d.tv_nsec = 0;
    return d;
}

/* Sleeps until clock clk reads req (abs) or for req: 0, or -EINTR when a
 * guest signal comes, with the time left in *left. */
static int sleep_until(struct thread *t, clockid_t clk, bool abs, const struct timespec *req,
                       struct timespec *left)
{
    struct timespec now, delta = *req, dl;
    if (abs) {
        clock_gettime(clk, &now);
        delta = ts_sub(req, &now);
    }
    if (delta.tv_sec > 100000000) /* about 3 years: far enough */
        delta.tv_sec = 100000000;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    ts_add(&dl, &delta);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > dl.tv_sec || (now.tv_sec == dl.tv_sec && now.tv_nsec >= dl.tv_nsec))
            return 0;
        int r = kernel_wait(t, &dl);
        if (r == -ETIMEDOUT)
            return 0;
        if (r == -ERESTARTSYS) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            *left = ts_sub(&dl, &now);
            return -EINTR;
        }
        /* Woken for something else: sleep on. */
    }
}

static int64_t do_nanosleep(struct thread *t, uint32_t ureq, uint32_t urem, bool wide)
{
    struct timespec req, left;
    int e = get_ts(t, ureq, &req, wide);
    if (e)
        return e;
    int r = sleep_until(t, CLOCK_MONOTONIC, false, &req, &left);
    if (r == -EINTR && urem && put_ts(t, urem, &left, wide))
        return -EFAULT;
    return r;
}

static int64_t sys_nanosleep(struct thread *t, const uint32_t a[6])
{
    return do_nanosleep(t, a[0], a[1], false);
}

/* clock_nanosleep(clk, flags, req, rem) */
static int64_t do_clock_nanosleep(struct thread *t, const uint32_t a[6], bool wide)
{
    uint32_t clk = a[0];
    if (clk == CLOCK_THREAD_CPUTIME_ID || !clock_ok(clk))
        return -EINVAL;
    if (clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_REALTIME_COARSE ||
        clk == CLOCK_MONOTONIC_COARSE)
        return -EOPNOTSUPP;
    bool abs = a[1] & TIMER_ABSTIME;
    struct timespec req, left;
    int e = get_ts(t, a[2], &req, wide);
    if (e)
        return e;
    /* CPU-time and alarm clocks sleep as their wall-clock relatives. */
    clockid_t c = clk == CLOCK_PROCESS_CPUTIME_ID ? CLOCK_MONOTONIC
                  : clk == CLOCK_REALTIME_ALARM   ? CLOCK_REALTIME
                  : clk == CLOCK_BOOTTIME_ALARM   ? CLOCK_BOOTTIME
                                                  : (clockid_t)clk;
    int r = sleep_until(t, c, abs, &req, &left);
    if (r == -EINTR && !abs && a[3] && put_ts(t, a[3], &left, wide))
        return -EFAULT;
    return r;
}

static int64_t sys_clock_nanosleep(struct thread *t, const uint32_t a[6])
{
    return do_clock_nanosleep(t, a, false);
}

static int64_t sys_clock_nanosleep64(struct thread *t, const uint32_t a[6])
{
    return do_clock_nanosleep(t, a, true);
}

/* times(struct tms *): clock ticks of 1/100 s. */
static int64_t sys_times(struct thread *t, const uint32_t a[6])
{
    struct tms tm;
    clock_t now = times(&tm);
    if (a[0]) {
        int32_t v[4] = {(int32_t)tm.tms_utime, (int32_t)tm.tms_stime, (int32_t)tm.tms_cutime,
                        (int32_t)tm.tms_cstime};
        if (guest_write(t, a[0], v, sizeof(v)))
            return -EFAULT;
    }
    return (int64_t)(int32_t)(uint32_t)now;
}

/* ---- alarms: ITIMER_REAL ---- */

struct alarm {
    int pid;
    struct timespec when;     /* CLOCK_MONOTONIC; tv_sec 0: unarmed */
    struct timespec interval; /* setitimer's it_interval */
};

static struct alarm *alarms;
static int nalarms;
static pthread_cond_t alarm_cv;
static bool alarm_thread_up;

static struct alarm *alarm_of(int pid, bool make)
{
    for (int i = 0; i < nalarms; i++)
        if (alarms[i].pid == pid)
            return &alarms[i];
    if (!make)
        return NULL;
    struct alarm *n = realloc(alarms, (size_t)(nalarms + 1) * sizeof(*n));
    if (!n)
        return NULL;
    alarms = n;
    memset(&alarms[nalarms], 0, sizeof(*alarms));
    alarms[nalarms].pid = pid;
    return &alarms[nalarms++];
}

static bool ts_le(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* The timer thread: under klock, sleeps until the earliest alarm and
 * sends SIGALRM to its process (gone processes drop theirs). */
static void *alarm_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&klock);
    for (;;) {
        struct timespec now, first = {0, 0};
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (int i = 0; i < nalarms; i++) {
            struct alarm *al = &alarms[i];
            if (!al->when.tv_sec)
                continue;
            if (ts_le(&al->when, &now)) {
                struct process *p = process_find(al->pid);
                if (p && !p->zombie) {
                    struct siginfo_g si;
                    memset(&si, 0, sizeof(si));
                    si.signo = SIGALRM;
                    si.code = 0x80; /* SI_KERNEL */
                    signal_process(p, &si);
                }
                if (p && (al->interval.tv_sec || al->interval.tv_nsec)) {
                    al->when = now;
                    ts_add(&al->when, &al->interval);
                } else {
                    al->when.tv_sec = al->when.tv_nsec = 0;
                }
            }
            if (al->when.tv_sec && (!first.tv_sec || ts_le(&al->when, &first)))
                first = al->when;
        }
        if (first.tv_sec)
            pthread_cond_timedwait(&alarm_cv, &klock, &first);
        else
            pthread_cond_wait(&alarm_cv, &klock);
    }
    return NULL;
}

static int alarm_start(void)
{
    if (alarm_thread_up)
        return 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&alarm_cv, &ca);
    pthread_condattr_destroy(&ca);
    /* Host signals are the guest threads' business, not this thread's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    int e = pthread_create(&th, NULL, alarm_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e)
        return -EAGAIN;
    pthread_detach(th);
    alarm_thread_up = true;
    return 0;
}

/* Sets p's ITIMER_REAL (value zero: disarm), the old one in *old_value
 * and *old_interval.  klock held. */
static int alarm_set(struct process *p, const struct timespec *value,
                     const struct timespec *interval, struct timespec *old_value,
                     struct timespec *old_interval)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct alarm *al = alarm_of(p->pid, value && (value->tv_sec || value->tv_nsec));
    struct timespec ov = {0, 0}, oi = {0, 0};
    if (al && al->when.tv_sec) {
        ov = ts_sub(&al->when, &now);
        if (!ov.tv_sec && !ov.tv_nsec)
            ov.tv_nsec = 1000; /* due: Linux reports a tick left */
        oi = al->interval;
    }
    if (old_value)
        *old_value = ov;
    if (old_interval)
        *old_interval = oi;
    if (!value)
        return 0;
    if (!value->tv_sec && !value->tv_nsec) {
        if (al)
            al->when.tv_sec = al->when.tv_nsec = 0;
        return 0;
    }
    if (!al)
        return -ENOMEM;
    int e = alarm_start();
    if (e)
        return e;
    al->when = now;
    ts_add(&al->when, value);
    al->interval = *interval;
    pthread_cond_signal(&alarm_cv);
    return 0;
}

static int64_t sys_alarm(struct thread *t, const uint32_t a[6])
{
    struct timespec v = {(time_t)a[0], 0}, zero = {0, 0}, old;
    if (v.tv_sec > 100000000)
        v.tv_sec = 100000000;
    int e = alarm_set(t->proc, &v, &zero, &old, NULL);
    if (e)
        return e;
    /* Seconds left, rounded as Linux's alarm rounds them. */
    int64_t s = old.tv_sec;
    if ((old.tv_nsec >= 500000000L) || (!s && old.tv_nsec))
        s++;
    return s;
}

static int put_itimer(struct thread *t, uint32_t addr, const struct timespec *iv,
                      const struct timespec *v)
{
    int32_t b[4] = {(int32_t)iv->tv_sec, (int32_t)(iv->tv_nsec / 1000), (int32_t)v->tv_sec,
                    (int32_t)(v->tv_nsec / 1000)};
    return guest_write(t, addr, b, sizeof(b)) ? -EFAULT : 0;
}

/* getitimer(which, struct itimerval *): ITIMER_REAL only. */
static int64_t sys_getitimer(struct thread *t, const uint32_t a[6])
{
    if (a[0] != ITIMER_REAL)
        return -EINVAL;
    struct timespec v, iv;
    alarm_set(t->proc, NULL, NULL, &v, &iv);
    return put_itimer(t, a[1], &iv, &v);
}

/* setitimer(which, new, old) */
static int64_t sys_setitimer(struct thread *t, const uint32_t a[6])
{
    if (a[0] != ITIMER_REAL)
        return -EINVAL;
    int32_t b[4] = {0, 0, 0, 0};
    if (a[1] && guest_read(t, a[1], b, sizeof(b)))
        return -EFAULT;
    for (int i = 0; i < 4; i += 2)
        if (b[i] < 0 || b[i + 1] < 0 || b[i + 1] >= 1000000)
            return -EINVAL;
    struct timespec iv = {b[0], (long)b[1] * 1000}, v = {b[2], (long)b[3] * 1000}, ov, oiv;
    if (v.tv_sec > 100000000)
        v.tv_sec = 100000000;
    int e = alarm_set(t->proc, &v, &iv, &ov, &oiv);
    if (e)
        return e;
    return a[2] ? put_itimer(t, a[2], &oiv, &ov) : 0;
}

/* ---- the system ---- */

static int64_t sys_uname(struct thread *t, const uint32_t a[6])
{
    struct utsname u;
    uname(&u);
    char b[6 * 65];
    memset(b, 0, sizeof(b));
    const char *f[6] = {"Linux", u.nodename, u.release, u.version, "i686", u.domainname};
    for (int i = 0; i < 6; i++)
        strncpy(b + 65 * i, f[i], 64);
    return guest_write(t, a[0], b, sizeof(b)) ? -EFAULT : 0;
}

static int64_t sys_getrandom(struct thread *t, const uint32_t a[6])
{
    uint32_t len = a[1], flags = a[2];
    if (flags & ~(uint32_t)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
        return -EINVAL;
    if (len > INT32_MAX)
        len = INT32_MAX;
    size_t cap = len < 65536 ? len : 65536;
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    uint32_t done = 0;
    int64_t ret = 0;
    while (done < len) {
        uint32_t n = len - done < cap ? len - done : (uint32_t)cap;
        ssize_t got = getrandom(buf, n, flags);
        if (got < 0) {
            ret = -errno;
            break;
        }
        if (guest_write(t, a[0] + done, buf, (size_t)got)) {
            ret = -EFAULT;
            break;
        }
        done += (uint32_t)got;
    }
    free(buf);
    return done ? (int64_t)done : ret;
}

/* sysinfo(struct sysinfo *) of i386 (64 bytes); memory scaled into 32
 * bits as Linux's compat sysinfo scales it. */
static int64_t sys_sysinfo(struct thread *t, const uint32_t a[6])
{
    struct sysinfo s;
    if (sysinfo(&s) < 0)
        return -errno;
    uint64_t v[6] = {s.totalram, s.freeram, s.sharedram, s.bufferram, s.totalswap, s.freeswap};
    uint64_t hi[2] = {s.totalhigh, s.freehigh};
    uint32_t unit = s.mem_unit ? s.mem_unit : 1;
    int shift = 0;
    if ((s.totalram >> 32) || (s.totalswap >> 32))
        while (unit < PAGE) {
            unit <<= 1;
            shift++;
        }
    uint8_t b[64];
    memset(b, 0, sizeof(b));
    uint32_t w;
#define P32(off, x) (w = (uint32_t)(x), memcpy(b + (off), &w, 4))
    P32(0, s.uptime);
    for (int i = 0; i < 3; i++)
        P32(4 + 4 * i, s.loads[i]);
    for (int i = 0; i < 6; i++)
        P32(16 + 4 * i, v[i] >> shift);
    uint16_t procs = s.procs;
    memcpy(b + 40, &procs, 2);
    P32(44, hi[0] >> shift);
    P32(48, hi[1] >> shift);
    P32(52, unit);
#undef P32
    return guest_write(t, a[0], b, sizeof(b)) ? -EFAULT : 0;
}

/* ---- user and group ids: the host's; changing them is refused ---- */

static uint32_t id_low16(uint32_t id)
{
    return id > 0xffff ? 65534 : id;
}

static int64_t sys_getuid(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return getuid();
}

static int64_t sys_geteuid(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return geteuid();
}

static int64_t sys_getgid(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return getgid();
}

static int64_t sys_getegid(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return getegid();
}

static int64_t sys_getuid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return id_low16(getuid());
}

static int64_t sys_geteuid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return id_low16(geteuid());
}

static int64_t sys_getgid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return id_low16(getgid());
}

static int64_t sys_getegid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return id_low16(getegid());
}

static int64_t do_getgroups(struct thread *t, uint32_t size, uint32_t list, bool wide)
{
    if ((int32_t)size < 0)
        return -EINVAL;
    int n = getgroups(0, NULL);
    if (n < 0)
        return -errno;
    if (!size)
        return n;
    if ((int)size < n)
        return -EINVAL;
    gid_t *g = calloc((size_t)n + 1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    n = getgroups(n, g);
    int64_t r = n;
    for (int i = 0; i < n && r >= 0; i++) {
        int e;
        if (wide) {
            uint32_t v = g[i];
            e = guest_write(t, list + 4 * (uint32_t)i, &v, 4);
        } else {
            uint16_t v = (uint16_t)id_low16(g[i]);
            e = guest_write(t, list + 2 * (uint32_t)i, &v, 2);
        }
        if (e)
            r = -EFAULT;
    }
    free(g);
    return r;
}

static int64_t sys_getgroups32(struct thread *t, const uint32_t a[6])
{
    return do_getgroups(t, a[0], a[1], true);
}

static int64_t sys_getgroups16(struct thread *t, const uint32_t a[6])
{
    return do_getgroups(t, a[0], a[1], false);
}

/* A requested id: -1 ("unchanged") or equal to the current one. */
static bool id_same(uint32_t want, uint32_t cur, bool wide)
{
    if (!wide && (want & 0xffff) == 0xffff)
        return true;
    if (wide && want == UINT32_MAX)
        return true;
    return (wide ? want : want & 0xffff) == (wide ? cur : id_low16(cur));
}

static int64_t set_ids(const uint32_t *want, const uint32_t *cur, int n, bool wide)
{
    for (int i = 0; i < n; i++)
        if (!id_same(want[i], cur[i], wide))
            return -EPERM;
    return 0;
}

static void host_uids(uint32_t u[3])
{
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    u[0] = r, u[1] = e, u[2] = s;
}

static void host_gids(uint32_t g[3])
{
    gid_t r, e, s;
    getresgid(&r, &e, &s);
    g[0] = r, g[1] = e, g[2] = s;
}

/* setuid(u): Linux sets the effective id (all three as root). */
static int64_t do_setuid(const uint32_t a[6], bool gid, bool wide)
{
    uint32_t cur[3];
    gid ? host_gids(cur) : host_uids(cur);
    uint32_t want[2] = {a[0], a[0]};
    return set_ids(want, cur, 2, wide);
}

static int64_t sys_setuid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setuid(a, false, true);
}

static int64_t sys_setgid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setuid(a, true, true);
}

static int64_t sys_setuid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setuid(a, false, false);
}

static int64_t sys_setgid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setuid(a, true, false);
}

static int64_t do_setre(const uint32_t a[6], bool gid, bool wide, int n)
{
    uint32_t cur[3];
    gid ? host_gids(cur) : host_uids(cur);
    return set_ids(a, cur, n, wide);
}

static int64_t sys_setreuid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, false, true, 2);
}

static int64_t sys_setregid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, true, true, 2);
}

static int64_t sys_setresuid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, false, true, 3);
}

static int64_t sys_setresgid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, true, true, 3);
}

static int64_t sys_setreuid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, false, false, 2);
}

static int64_t sys_setregid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, true, false, 2);
}

static int64_t sys_setresuid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, false, false, 3);
}

static int64_t sys_setresgid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    return do_setre(a, true, false, 3);
}

/* setfsuid/setfsgid: the old value, never a change (nor an error). */
static int64_t sys_setfsuid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return geteuid();
}

static int64_t sys_setfsgid32(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return getegid();
}

static int64_t sys_setfsuid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return id_low16(geteuid());
}

static int64_t sys_setfsgid16(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return id_low16(getegid());
}

static int64_t do_getres(struct thread *t, const uint32_t a[6], bool gid, bool wide)
{
    uint32_t cur[3];
    gid ? host_gids(cur) : host_uids(cur);
    for (int i = 0; i < 3; i++) {
        int e;
        if (wide) {
            e = guest_write(t, a[i], &cur[i], 4);
        } else {
            uint16_t v = (uint16_t)id_low16(cur[i]);
            e = guest_write(t, a[i], &v, 2);
        }
        if (e)
            return -EFAULT;
    }
    return 0;
}

static int64_t sys_getresuid32(struct thread *t, const uint32_t a[6])
{
    return do_getres(t, a, false, true);
}

static int64_t sys_getresgid32(struct thread *t, const uint32_t a[6])
{
    return do_getres(t, a, true, true);
}

static int64_t sys_getresuid16(struct thread *t, const uint32_t a[6])
{
    return do_getres(t, a, false, false);
}

static int64_t sys_getresgid16(struct thread *t, const uint32_t a[6])
{
    return do_getres(t, a, true, false);
}

/* ---- resource limits ---- */

#define NLIMITS 16
#define NR_OPEN_MAX 1048576u /* Linux's fs.nr_open default */

static struct {
    bool taken;
    bool sys_resource; /* the runner has CAP_SYS_RESOURCE: hard limits may rise */
    uint64_t cur[NLIMITS], max[NLIMITS];
} limits;

static uint64_t from_host(rlim_t v)
{
    return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

static void limits_take(void)
{
    if (limits.taken)
        return;
    for (int r = 0; r < NLIMITS; r++) {
        struct rlimit rl;
        if (getrlimit(r, &rl) == 0) {
            limits.cur[r] = from_host(rl.rlim_cur);
            limits.max[r] = from_host(rl.rlim_max);
        } else {
            limits.cur[r] = limits.max[r] = UINT64_MAX;
        }
    }
    /* The guests' fd tables: within what Linux would allow. */
    if (limits.max[RLIMIT_NOFILE] > NR_OPEN_MAX)
        limits.max[RLIMIT_NOFILE] = NR_OPEN_MAX;
    if (limits.cur[RLIMIT_NOFILE] > limits.max[RLIMIT_NOFILE])
        limits.cur[RLIMIT_NOFILE] = limits.max[RLIMIT_NOFILE];
    /* CAP_SYS_RESOURCE (bit 24) of the effective set: root in a container
     * often lacks it, and Linux then refuses to raise a hard limit. */
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long caps = 0;
    while (st && fgets(line, sizeof(line), st))
        if (sscanf(line, "CapEff: %llx", &caps) == 1)
            break;
    if (st)
        fclose(st);
    limits.sys_resource = (caps >> 24) & 1;
    limits.taken = true;
}

unsigned rlimit_nofile(void)
{
    limits_take();
    return (unsigned)limits.cur[RLIMIT_NOFILE];
}

static bool space_limit(int res)
{
    return res == RLIMIT_AS || res == RLIMIT_DATA || res == RLIMIT_STACK || res == RLIMIT_MEMLOCK;
}

static int limit_get(struct process *p, int res, uint64_t *cur, uint64_t *max)
{
    if (res < 0 || res >= NLIMITS)
        return -EINVAL;
    if (space_limit(res) && p->mm)
        return gmm_space_getrlimit(p->mm->space, res, cur, max);
    limits_take();
    *cur = limits.cur[res];
    *max = limits.max[res];
    return 0;
}

static int limit_set(struct process *p, int res, uint64_t cur, uint64_t max)
{
    if (res < 0 || res >= NLIMITS)
        return -EINVAL;
    if (cur > max)
        return -EINVAL;
    uint64_t ocur, omax;
    int e = limit_get(p, res, &ocur, &omax);
    if (e)
        return e;
    /* Raising a hard limit needs CAP_SYS_RESOURCE. */
    limits_take();
    if (max > omax && !limits.sys_resource)
        return -EPERM;
    if (res == RLIMIT_NOFILE && max > NR_OPEN_MAX)
        return -EPERM;
    if (space_limit(res) && p->mm)
        return gmm_space_setrlimit(p->mm->space, res, cur, max);
    limits.cur[res] = cur;
    limits.max[res] = max;
    return 0;
}

/* getrlimit(res, struct rlimit *): old: capped at 0x7fffffff; new
 * (ugetrlimit): 0xffffffff is RLIM_INFINITY. */
static int64_t do_getrlimit(struct thread *t, const uint32_t a[6], uint64_t inf)
{
    uint64_t cur, max;
    int e = limit_get(t->proc, (int)a[0], &cur, &max);
    if (e)
        return e;
    uint32_t v[2] = {cur > inf ? (uint32_t)inf : (uint32_t)cur,
                     max > inf ? (uint32_t)inf : (uint32_t)max};
    return guest_write(t, a[1], v, 8) ? -EFAULT : 0;
}

static int64_t sys_ugetrlimit(struct thread *t, const uint32_t a[6])
{
    return do_getrlimit(t, a, 0xffffffffu);
}

static int64_t sys_getrlimit(struct thread *t, const uint32_t a[6])
{
    return do_getrlimit(t, a, 0x7fffffffu);
}

static int64_t sys_setrlimit(struct thread *t, const uint32_t a[6])
{
    uint32_t v[2];
    if (guest_read(t, a[1], v, 8))
        return -EFAULT;
    uint64_t cur = v[0] == 0xffffffffu ? UINT64_MAX : v[0];
    uint64_t max = v[1] == 0xffffffffu ? UINT64_MAX : v[1];
    return limit_set(t->proc, (int)a[0], cur, max);
}

/* prlimit64(pid, res, new, old) */
static int64_t sys_prlimit64(struct thread *t, const uint32_t a[6])
{
    struct process *p = a[0] ? process_find((int)a[0]) : t->proc;
    if (!p || p->zombie)
        return -ESRCH;
    int res = (int)a[1];
    uint64_t nv[2], cur, max;
    if (a[2] && guest_read(t, a[2], nv, 16))
        return -EFAULT;
    int e = limit_get(p, res, &cur, &max);
    if (e)
        return e;
    if (a[2]) {
        e = limit_set(p, res, nv[0], nv[1]);
        if (e)
            return e;
    }
    if (a[3]) {
        uint64_t ov[2] = {cur, max};
        if (guest_write(t, a[3], ov, 16))
            return -EFAULT;
    }
    return 0;
}

/* getrusage(who, struct rusage *) of i386 (72 bytes): the host thread's
 * times for a one-thread process, the runner's otherwise; children's are
 * not counted. */
static int64_t sys_getrusage(struct thread *t, const uint32_t a[6])
{
    int who = (int)a[0];
    if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
        return -EINVAL;
    int32_t b[18];
    memset(b, 0, sizeof(b));
    if (who != RUSAGE_CHILDREN) {
        struct rusage ru;
        int hw = who == RUSAGE_THREAD || t->proc->nthreads <= 1 ? RUSAGE_THREAD : RUSAGE_SELF;
        if (getrusage(hw, &ru) == 0) {
            b[0] = (int32_t)ru.ru_utime.tv_sec;
            b[1] = (int32_t)ru.ru_utime.tv_usec;
            b[2] = (int32_t)ru.ru_stime.tv_sec;
            b[3] = (int32_t)ru.ru_stime.tv_usec;
            b[4] = (int32_t)ru.ru_maxrss;
            b[8] = (int32_t)ru.ru_minflt;
            b[9] = (int32_t)ru.ru_majflt;
            b[16] = (int32_t)ru.ru_nvcsw;
            b[17] = (int32_t)ru.ru_nivcsw;
        }
    }
    return guest_write(t, a[1], b, sizeof(b)) ? -EFAULT : 0;
}

/* ---- the process's odds and ends ---- */

static int64_t sys_personality(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return 0; /* PER_LINUX, whatever was asked */
}

static int64_t sys_getpriority(struct thread *t, const uint32_t a[6])
{
    (void)t;
    if (a[0] > 2)
        return -EINVAL;
    return 20; /* nice 0, in the kernel's 40..1 form */
}

static int64_t sys_setpriority(struct thread *t, const uint32_t a[6])
{
    (void)t;
    if (a[0] > 2)
        return -EINVAL;
    return 0;
}

#define PR_SET_PDEATHSIG_G 1
#define PR_GET_PDEATHSIG_G 2
#define PR_GET_DUMPABLE_G 3
#define PR_SET_DUMPABLE_G 4
#define PR_SET_NAME_G 15
#define PR_GET_NAME_G 16
#define PR_SET_NO_NEW_PRIVS_G 38
#define PR_GET_NO_NEW_PRIVS_G 39

static int64_t sys_prctl(struct thread *t, const uint32_t a[6])
{
    struct process *p = t->proc;
    switch (a[0]) {
    case PR_SET_NAME_G: {
        char name[16];
        memset(name, 0, sizeof(name));
        for (int i = 0; i < 15; i++) {
            if (guest_read(t, a[1] + (uint32_t)i, &name[i], 1))
                return -EFAULT;
            if (!name[i])
                break;
        }
        memcpy(p->comm, name, sizeof(name));
        return 0;
    }
    case PR_GET_NAME_G: {
        char name[16];
        memcpy(name, p->comm, sizeof(name));
        name[15] = 0;
        return guest_write(t, a[1], name, sizeof(name)) ? -EFAULT : 0;
    }
    case PR_SET_PDEATHSIG_G:
        return a[1] > NSIG_G ? -EINVAL : 0;
    case PR_GET_PDEATHSIG_G: {
        int32_t z = 0;
        return guest_write(t, a[1], &z, 4) ? -EFAULT : 0;
    }
    case PR_GET_DUMPABLE_G:
        return 1;
    case PR_SET_DUMPABLE_G:
        return a[1] > 1 ? -EINVAL : 0;
    case PR_SET_NO_NEW_PRIVS_G:
        return a[1] != 1 || a[2] || a[3] || a[4] ? -EINVAL : 0;
    case PR_GET_NO_NEW_PRIVS_G:
        return 0;
    default:
        return -EINVAL;
    }
}

static int64_t sys_einval(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return -EINVAL;
}

static int64_t sys_enosys(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return -ENOSYS;
}

const struct syscall_def misc_syscalls[] = {
    {13, "time", sys_time},
    {23, "setuid", sys_setuid16},
    {24, "getuid", sys_getuid16},
    {25, "stime", sys_eperm},
    {27, "alarm", sys_alarm},
    {43, "times", sys_times},
    {46, "setgid", sys_setgid16},
    {47, "getgid", sys_getgid16},
    {49, "geteuid", sys_geteuid16},
    {50, "getegid", sys_getegid16},
    {70, "setreuid", sys_setreuid16},
    {71, "setregid", sys_setregid16},
    {75, "setrlimit", sys_setrlimit},
    {76, "getrlimit", sys_getrlimit},
    {77, "getrusage", sys_getrusage},
    {78, "gettimeofday", sys_gettimeofday},
    {79, "settimeofday", sys_eperm},
    {80, "getgroups", sys_getgroups16},
    {81, "setgroups", sys_eperm},
    {96, "getpriority", sys_getpriority},
    {97, "setpriority", sys_setpriority},
    {102, "socketcall", sys_enosys},
    {104, "setitimer", sys_setitimer},
    {105, "getitimer", sys_getitimer},
    {116, "sysinfo", sys_sysinfo},
    {122, "uname", sys_uname},
    {136, "personality", sys_personality},
    {138, "setfsuid", sys_setfsuid16},
    {139, "setfsgid", sys_setfsgid16},
    {162, "nanosleep", sys_nanosleep},
    {164, "setresuid", sys_setresuid16},
    {165, "getresuid", sys_getresuid16},
    {170, "setresgid", sys_setresgid16},
    {171, "getresgid", sys_getresgid16},
    {172, "prctl", sys_prctl},
    {191, "ugetrlimit", sys_ugetrlimit},
    {199, "getuid32", sys_getuid},
    {200, "getgid32", sys_getgid},
    {201, "geteuid32", sys_geteuid},
    {202, "getegid32", sys_getegid},
    {203, "setreuid32", sys_setreuid32},
    {204, "setregid32", sys_setregid32},
    {205, "getgroups32", sys_getgroups32},
    {206, "setgroups32", sys_eperm},
    {208, "setresuid32", sys_setresuid32},
    {209, "getresuid32", sys_getresuid32},
    {210, "setresgid32", sys_setresgid32},
    {211, "getresgid32", sys_getresgid32},
    {213, "setuid32", sys_setuid32},
    {214, "setgid32", sys_setgid32},
    {215, "setfsuid32", sys_setfsuid32},
    {216, "setfsgid32", sys_setfsgid32},
    {265, "clock_gettime", sys_clock_gettime},
    {266, "clock_getres", sys_clock_getres},
    {267, "clock_nanosleep", sys_clock_nanosleep},
    {340, "prlimit64", sys_prlimit64},
    {355, "getrandom", sys_getrandom},
    {375, "membarrier", sys_enosys},
    {384, "arch_prctl", sys_einval},
    {386, "rseq", sys_enosys},
    {403, "clock_gettime64", sys_clock_gettime64},
    {406, "clock_getres_time64", sys_clock_getres64},
    {407, "clock_nanosleep_time64", sys_clock_nanosleep64},
    {0, NULL, NULL},
};
