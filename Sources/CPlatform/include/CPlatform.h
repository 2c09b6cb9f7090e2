// CPlatform: a tiny shim for the Linux calls `import Glibc` cannot reach from Swift (they need
// _GNU_SOURCE or are macros): futex wait/wake, the spin-loop hint, CPU affinity, sched_getcpu,
// per-thread getrusage, clocks and line-buffered stdout. Each comment names the C call made.
//
// Only the spin hint is inline. The rest lives in CPlatform.c: defining _GNU_SOURCE in a
// module's header changes the system headers it includes, and Clang then rejects the same
// system types (fd_set, __rusage_who, …) seen differently through another module (CNUMA).
#ifndef WEAVE_CPLATFORM_H
#define WEAVE_CPLATFORM_H

#include <stdint.h>

/// futex(FUTEX_WAIT_PRIVATE): sleeps while `*word == expected`. `timeout_ns < 0` waits forever.
/// Returns 0 when woken (or spuriously), or -errno (EAGAIN: the value differed; ETIMEDOUT; EINTR).
int weave_futex_wait(void *word, uint32_t expected, int64_t timeout_ns);

/// futex(FUTEX_WAKE_PRIVATE): wakes up to `count` threads sleeping on `word`; returns how many
/// woke, or -errno.
int weave_futex_wake(void *word, int count);

/// The spin-wait hint: `pause` on x86-64, `yield` on AArch64.
static inline void weave_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// The calling thread's current pool slot (ParallelRuntime's `CurrentSlot`), a C11
/// `_Thread_local` pointer: Swift has no thread-local storage of its own, and
/// pthread_getspecific/setspecific plus the lazily created key's `swift_once` cost ~4 calls
/// of a few ns on every pool operation. Inline, so an access is one TLS load or store.
extern _Thread_local void *weave_current_slot;

static inline void *weave_current_slot_get(void) { return weave_current_slot; }

static inline void weave_current_slot_set(void *slot) { weave_current_slot = slot; }

/// A cheap, monotonic tick count for comparing durations measured on one thread: `rdtsc` on
/// x86-64 (invariant TSC; ~10 ns where clock_gettime took ~50 in this VM), the virtual
/// counter (`cntvct_el0`) on AArch64, CLOCK_MONOTONIC nanoseconds elsewhere. The unit is not
/// nanoseconds: only ratios of two such durations mean anything.
static inline uint64_t weave_ticks(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t value;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(value));
    return value;
#else
    extern int64_t weave_monotonic_ns(void);
    return (uint64_t)weave_monotonic_ns();
#endif
}

/// sched_getcpu(): the CPU the calling thread runs on now, or -1.
int weave_current_cpu(void);

/// gettid(): the kernel thread id of the caller.
int64_t weave_thread_id(void);

/// sched_getaffinity(0): writes up to `capacity` CPU numbers of the process's affinity mask
/// into `cpus` in increasing order; returns how many CPUs the mask holds (may exceed
/// capacity), or -errno.
int weave_affinity_cpus(int *cpus, int capacity);

/// sched_setaffinity(0): sets the calling thread's affinity mask to the `count` CPUs in `cpus`.
/// 0 or -errno.
int weave_set_affinity(const int *cpus, int count);

/// Moves the calling thread off the `count` CPUs in `avoid`: narrows its affinity mask to
/// the rest, which makes the kernel migrate it at once, then restores the mask. Returns the CPU
/// it runs on afterwards, -EAGAIN when the mask has no other CPU, or -errno.
int weave_move_off_cpus(const int *avoid, int count);

/// pthread_setaffinity_np(pthread_self()): pins the calling thread to one CPU. 0 or -errno.
int weave_pin_current_thread(int cpu);

/// sched_setaffinity(tid): sets the affinity mask of thread `tid` (of this process) to the
/// `count` CPUs in `cpus`. 0 or -errno.
int weave_set_thread_affinity(int64_t tid, const int *cpus, int count);

/// pthread_getcpuclockid(pthread_self()): the calling thread's CPU-time clock, which other
/// threads of the process can read with `weave_cpu_clock_ns` while it lives. 0 or -errno.
int weave_thread_cpu_clock(int32_t *clock);

/// clock_gettime(clock) in nanoseconds: for a thread's CPU-time clock, the CPU time it has
/// used, up to date even while it runs. -1 when the clock cannot be read (the thread ended).
int64_t weave_cpu_clock_ns(int32_t clock);

/// setvbuf(stdout, _IOLBF): progress lines reach a pipe as they are printed.
void weave_stdout_line_buffered(void);

/// getrusage(RUSAGE_THREAD): user + system CPU time of the calling thread, in seconds.
double weave_thread_rusage_seconds(void);

/// getrusage(RUSAGE_SELF): user + system CPU time of the whole process, in seconds.
double weave_process_rusage_seconds(void);

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds (vDSO, ~20 ns).
int64_t weave_monotonic_ns(void);

/// clock_gettime(CLOCK_THREAD_CPUTIME_ID) in nanoseconds.
int64_t weave_thread_cpu_time_ns(void);

#endif
