import CPlatform
import Glibc

/// How many `weave_ticks` pass in a second, measured once per process (a 2 ms sleep timed by
/// both clocks): the split chooser compares ticks with ticks, but caps pool-wide waits at a
/// wall-clock length and lets them fade over wall-clock time (`PoolWaits`).
enum TickRate {
    static let perSecond: Double = {
        let startNanoseconds = weave_monotonic_ns()
        let startTicks = weave_ticks()
        var request = timespec(tv_sec: 0, tv_nsec: 2_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        let ticks = Double(weave_ticks() &- startTicks)
        let seconds = Double(weave_monotonic_ns() - startNanoseconds) / 1e9
        // A clock that did not move (or a sleep cut short to nothing) must not make every
        // wait infinite or zero: fall back to nanosecond ticks.
        guard seconds > 0, ticks > 0 else { return 1e9 }
        return ticks / seconds
    }()
}
