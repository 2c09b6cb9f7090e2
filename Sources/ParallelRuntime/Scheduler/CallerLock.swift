import CPlatform
import Synchronization

/// The lock that gives slot 0 to one outside thread at a time: a futex word (Drepper's
/// "mutex 2": 0 free, 1 held, 2 held with sleepers).
///
/// Why not `pthread_mutex_t`: every `operation` takes and releases this lock, nearly always
/// uncontended, and the two calls into glibc were a fifth of an empty operation (~10 of 46 ns);
/// here the uncontended path is one inlined compare-and-swap and one exchange.
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
        while word.atomic.pointee.exchange(2, ordering: .acquiring) != 0 {
            word.wait(whileEqualTo: 2)
        }
    }

    @inline(__always)
    func unlock() {
        if word.atomic.pointee.exchange(0, ordering: .releasing) == 2 { word.wake(count: 1) }
    }
}
