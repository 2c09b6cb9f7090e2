import CPlatform
import Synchronization

/// The lock that gives slot 0 to one outside thread at a time: a futex word (Drepper's
/// "mutex 2": 0 free, 1 held, 2 held with sleepers).
///
/// Why not `pthread_mutex_t`: every `operation` takes and releases this lock, nearly always
/// uncontended, and the two calls into glibc were a fifth of an empty operation (~10 of 46 ns);
/// here the uncontended path is one inlined compare-and-swap and one plain store.
///
/// Why the unlock is a plain store, not an exchange (session 18): a locked instruction costs
/// ~5.5 ns in this VM (a compare-and-swap with an exchange, 11 ns; with a store, 5.5), a sixth
/// of an empty operation. An unlock that reads 1 (no sleepers) stores 0; a waiter that marks the
/// word 2 between that read and the store loses its wake-up, so waiters sleep with a timeout
/// (`longestSleep`) and look again. The race is a few instructions wide, and only outside
/// threads sharing one pool ever wait here.
struct CallerLock: @unchecked Sendable {
    // @unchecked Sendable: the word is an atomic, and every access goes through it.
    private let word = FutexWord(0)

    func deallocate() { word.deallocate() }

    @inline(__always)
    func lock() {
        if word.atomic.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            return
        }
        lockContended()
    }

    @inline(never)
    private func lockContended() {
        // Another outside thread holds slot 0, for an operation that usually lasts micro- to
        // milliseconds: spin briefly, then sleep until it lets go.
        for _ in 0..<100 {
            weave_cpu_relax()
            if word.atomic.pointee.load(ordering: .relaxed) == 0,
               word.atomic.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
                return
            }
        }
        // From here on the word says 2 whenever this thread may sleep on it, so the holder's
        // unlock wakes a sleeper. Taking it as 2 may cost one needless wake-up later.
        // A sleep may miss its wake-up (see above): it ends after `sleep`, doubled each time up
        // to `longestSleep`, so a long hold-up wakes the waiter a few hundred times a second at most.
        var sleep = Self.shortestSleep
        while word.atomic.pointee.exchange(2, ordering: .acquiring) != 0 {
            word.wait(whileEqualTo: 2, timeoutNanoseconds: sleep)
            sleep = min(2 * sleep, Self.longestSleep)
        }
    }

    /// The first and the longest sleep of a waiter between looks at the word, in nanoseconds:
    /// the most a missed wake-up can delay it.
    static let shortestSleep: Int64 = 50_000
    static let longestSleep: Int64 = 2_000_000

    @inline(__always)
    func unlock() {
        if word.atomic.pointee.load(ordering: .relaxed) == 1 {
            word.atomic.pointee.store(0, ordering: .releasing)
            return
        }
        // Sleepers (2): hand the word back and wake one.
        if word.atomic.pointee.exchange(0, ordering: .releasing) == 2 { word.wake(count: 1) }
    }
}
