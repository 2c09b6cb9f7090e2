// Implementations of CPlatform.h, compiled with _GNU_SOURCE (the header says why here).
#define _GNU_SOURCE 1
#include "CPlatform.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/resource.h>
#include <sys/syscall.h>

int weave_futex_wait(void *word, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
    return r == 0 ? 0 : -errno;
}

int weave_futex_wake(void *word, int count) {
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
    return r < 0 ? -errno : (int)r;
}

int weave_current_cpu(void) { return sched_getcpu(); }

_Thread_local void *weave_current_slot = 0;

int64_t weave_thread_id(void) { return (int64_t)syscall(SYS_gettid); }

int weave_affinity_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -errno;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) {
            if (n < capacity) cpus[n] = cpu;
            n++;
        }
    }
    return n;
}

int weave_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    return r == 0 ? 0 : -r;
}

int weave_set_thread_affinity(int64_t tid, const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return -EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity((pid_t)tid, sizeof(set), &set) == 0 ? 0 : -errno;
}

int weave_thread_cpu_clock(int32_t *clock) {
    clockid_t id;
    int r = pthread_getcpuclockid(pthread_self(), &id);
    if (r != 0) return -r;
    *clock = (int32_t)id;
    return 0;
}

int64_t weave_cpu_clock_ns(int32_t clock) {
    struct timespec ts;
    if (clock_gettime((clockid_t)clock, &ts) != 0) return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int weave_set_affinity(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return -EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

int weave_move_off_cpus(const int *avoid, int count) {
    cpu_set_t original, narrowed;
    if (sched_getaffinity(0, sizeof(original), &original) != 0) return -errno;
    narrowed = original;
    for (int i = 0; i < count; i++) {
        if (avoid[i] >= 0 && avoid[i] < CPU_SETSIZE) CPU_CLR(avoid[i], &narrowed);
    }
    if (CPU_COUNT(&narrowed) == 0) return -EAGAIN;
    // The kernel migrates a running thread at once when its CPU leaves its mask; restoring
    // the mask then leaves it where it landed.
    if (sched_setaffinity(0, sizeof(narrowed), &narrowed) != 0) return -errno;
    int cpu = sched_getcpu();
    if (sched_setaffinity(0, sizeof(original), &original) != 0) {
        // Never leave the thread narrowed: retry once, then report.
        if (sched_setaffinity(0, sizeof(original), &original) != 0) return -errno;
    }
    return cpu;
}

void weave_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

static double rusage_seconds(int who) {
    struct rusage usage;
    if (getrusage(who, &usage) != 0) return -1.0;
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6
         + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6;
}

double weave_thread_rusage_seconds(void) { return rusage_seconds(RUSAGE_THREAD); }

double weave_process_rusage_seconds(void) { return rusage_seconds(RUSAGE_SELF); }

int64_t weave_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t weave_thread_cpu_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
