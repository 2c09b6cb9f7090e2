// CPlatform: a header-only shim for the Linux calls `import Glibc` cannot reach from Swift
// (they need _GNU_SOURCE or are macros): futex wait/wake, the spin-loop hint, CPU affinity,
// sched_getcpu and line-buffered stdout. Every function is a thin `static inline` wrapper;
// each comment names the C call it makes.
#ifndef WEAVE_CPLATFORM_H
#define WEAVE_CPLATFORM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>

/// futex(FUTEX_WAIT_PRIVATE): sleeps while `*word == expected`. `timeout_ns < 0` waits forever.
/// Returns 0 when woken (or spuriously), or -errno (EAGAIN: the value differed; ETIMEDOUT; EINTR).
static inline int weave_futex_wait(void *word, uint32_t expected, int64_t timeout_ns) {
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

/// futex(FUTEX_WAKE_PRIVATE): wakes up to `count` threads sleeping on `word`; returns how many woke.
static inline int weave_futex_wake(void *word, int count) {
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
    return r < 0 ? -errno : (int)r;
}

/// The spin-wait hint: `pause` on x86-64, `yield` on AArch64.
static inline void weave_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// sched_getcpu(): the CPU the calling thread runs on now, or -1.
static inline int weave_current_cpu(void) { return sched_getcpu(); }

/// gettid(): the kernel thread id of the caller.
static inline int64_t weave_thread_id(void) { return (int64_t)syscall(SYS_gettid); }

/// sched_getaffinity(0): writes up to `capacity` CPU numbers of the process's affinity mask
/// into `cpus` in increasing order; returns how many CPUs the mask holds (may exceed capacity),
/// or -errno.
static inline int weave_affinity_cpus(int *cpus, int capacity) {
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

/// pthread_setaffinity_np(pthread_self()): pins the calling thread to one CPU. 0 or -errno.
static inline int weave_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    return r == 0 ? 0 : -r;
}

/// sched_setaffinity(0) with every CPU in `cpus`: restricts the calling thread. 0 or -errno.
static inline int weave_set_thread_affinity(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    }
    int r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    return r == 0 ? 0 : -r;
}

/// setvbuf(stdout, _IOLBF): progress lines reach a pipe as they are printed.
static inline void weave_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

/// clock_gettime(CLOCK_THREAD_CPUTIME_ID) in nanoseconds.
static inline int64_t weave_thread_cpu_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds (vDSO, ~20 ns).
static inline int64_t weave_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/// clock_gettime(CLOCK_PROCESS_CPUTIME_ID) in nanoseconds: CPU time of every thread.
static inline int64_t weave_process_cpu_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
