import CPlatform
import Synchronization

/// A 32-bit atomic at a stable heap address, so the kernel can sleep and wake threads on it
/// (Linux futex). Swift's `Atomic` has no address of its own, hence the manual allocation.
///
/// A value type holding a pointer: whoever creates one calls `deallocate()` exactly once,
/// when no thread can touch it any more.
package struct FutexWord: @unchecked Sendable {
    // @unchecked Sendable: the pointee is an `Atomic`, and every access goes through it.
    private let pointer: UnsafeMutablePointer<Atomic<UInt32>>

    package init(_ value: UInt32 = 0) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: Atomic(value))
    }

    package func deallocate() {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }

    /// The atomic itself; callers spell out each ordering (it must be a compile-time constant).
    @inline(__always)
    package var atomic: UnsafeMutablePointer<Atomic<UInt32>> { pointer }

    /// Sleeps while the word equals `expected` (futex FUTEX_WAIT_PRIVATE). May return
    /// spuriously; callers re-check their condition in a loop.
    package func wait(whileEqualTo expected: UInt32, timeoutNanoseconds: Int64 = -1) {
        _ = weave_futex_wait(UnsafeMutableRawPointer(pointer), expected, timeoutNanoseconds)
    }

    /// Wakes up to `count` sleepers (futex FUTEX_WAKE_PRIVATE).
    package func wake(count: Int32 = 1) {
        _ = weave_futex_wake(UnsafeMutableRawPointer(pointer), count)
    }
}
