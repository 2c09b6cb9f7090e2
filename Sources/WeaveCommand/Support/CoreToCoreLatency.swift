import CPlatform
import Foundation
import Synchronization
import Weave

/// The time for a cache line to go from one CPU to another and back: two threads pinned to two
/// CPUs take turns writing one atomic. Every fork, steal and join pays this, and so does every
/// tile whose data the other thread touched last.
///
/// Measured because it is not a constant of the machine: on the development VM the host moved
/// our two vCPUs between runs, and the round trip flipped between ~120 ns (one L3) and ~480 ns
/// (two L3s) every few seconds. Small ops on 2 threads then ran up to twice as slowly as on 1
/// (BatchNorm (64,6,10,10): 18 µs vs 40 µs per forward+backward, medians), while 1 thread was
/// unchanged.
enum CoreToCoreLatency {
    /// The median round trip in nanoseconds between `cpus.0` and `cpus.1`, over `batches`
    /// batches of `roundTrips` round trips; nil when the two threads cannot be pinned there.
    static func measure(between cpus: (Int, Int), roundTrips: Int = 2_000, batches: Int = 5) -> Sample? {
        let box = Box()
        let finished = DispatchSemaphore(value: 0)
        let total = roundTrips * batches
        // Both sides on threads of their own, so the caller's affinity is left alone.
        let responder = Thread {
            defer { finished.signal() }
            if weave_pin_current_thread(Int32(cpus.1)) != 0 { box.failed.store(true, ordering: .relaxed) }
            box.ready.store(true, ordering: .releasing)
            for i in 0..<total {
                while box.turn.load(ordering: .acquiring) != 2 * i + 1 {
                    if box.failed.load(ordering: .relaxed) { return }
                }
                box.turn.store(2 * i + 2, ordering: .releasing)
            }
        }
        let initiator = Thread {
            defer { finished.signal() }
            if weave_pin_current_thread(Int32(cpus.0)) != 0 { box.failed.store(true, ordering: .relaxed) }
            while !box.ready.load(ordering: .acquiring) {}
            var i = 0
            for _ in 0..<batches where !box.failed.load(ordering: .relaxed) {
                let start = weave_monotonic_ns()
                for _ in 0..<roundTrips {
                    box.turn.store(2 * i + 1, ordering: .releasing)
                    while box.turn.load(ordering: .acquiring) != 2 * i + 2 {}
                    i += 1
                }
                box.record(Double(weave_monotonic_ns() - start) / Double(roundTrips))
            }
        }
        responder.start()
        initiator.start()
        finished.wait()
        finished.wait()
        let nanoseconds = box.nanoseconds
        return box.failed.load(ordering: .relaxed) || nanoseconds.isEmpty ? nil : Sample(nanoseconds)
    }

    /// A short reading for between a benchmark's rounds (`InterleavedTiming`): the fastest of
    /// 8 batches of 200 round trips, 0.2–4 ms (the most under `--contended`). The fastest, not the median: under `--contended`
    /// the busy loop may hold one of the two CPUs, and then the responder runs only in its time
    /// slices (~3 ms); a batch that straddles a switch measures the scheduler, one inside a slice
    /// measures the cache line.
    static func quickReading(between cpus: (Int, Int)) -> Double? {
        measure(between: cpus, roundTrips: 200, batches: 8)?.min
    }

    /// The first two CPUs of the affinity mask, when there are two.
    static func defaultCPUs() -> (Int, Int)? {
        let cpus = ThreadCount.affinityCPUs()
        return cpus.count >= 2 ? (cpus[0], cpus[1]) : nil
    }

    private final class Box: @unchecked Sendable {
        // @unchecked: `times` is written by the initiator only, and read after both threads
        // signalled (the semaphore orders it).
        let turn = Atomic<Int>(0)
        let ready = Atomic<Bool>(false)
        let failed = Atomic<Bool>(false)
        private var times: [Double] = []

        func record(_ value: Double) { times.append(value) }
        var nanoseconds: [Double] { times }
    }
}
