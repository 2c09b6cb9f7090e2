import Testing
@testable import ParallelRuntime

@Suite("Operation traces")
struct OperationTraceTests {
    @Test("A trace keeps every chosen call in order, up to its capacity, and counts the rest")
    func recordsCalls() {
        let pool = ThreadPool(threads: 2)
        let keys = [OperationKey("test.trace a", shape: [4]), OperationKey("test.trace b", 7)]
        #expect(pool.operationTrace().calls.isEmpty)
        // Calls before tracing starts are not in the trace.
        pool.operation(keys[0]) {}
        pool.traceOperations(capacity: 100)
        let before = pool.operationCounts
        for call in 0..<150 {
            pool.operation(keys[call % 2]) {
                pool.parallelFor(0..<64, grain: 8) { _ in }
            }
        }
        let trace = pool.operationTrace()
        #expect(trace.keys == ["test.trace a [4]", "test.trace b 7"])
        #expect(trace.calls.count == 100 && trace.dropped == 50)
        #expect(trace.calls.map(\.key) == (0..<100).map { $0 % 2 })
        #expect(trace.calls.allSatisfy { $0.ticks > 0 })
        #expect(trace.calls.allSatisfy { $0.split || $0.waitedTicks == 0 })
        // The ways recorded are the ways counted.
        let after = pool.operationCounts
        let recorded = trace.calls.filter(\.split).count
        #expect(recorded <= after.split - before.split)
        #expect(trace.calls.count - recorded <= after.inline - before.inline)
        // The chooser still times only its sample of calls.
        #expect(trace.calls.contains { !$0.timedByChooser })
        #expect(trace.ticksPerSecond > 0)
        // Starting again empties it.
        pool.traceOperations(capacity: 10)
        pool.operation(keys[1]) {}
        #expect(pool.operationTrace().calls.count == 1 && pool.operationTrace().keys == ["test.trace b 7"])
    }

    @Test("Calls that do not choose are not traced: one thread, always splitting, nested calls")
    func untracedCalls() {
        for pool in [ThreadPool(threads: 1), ThreadPool(threads: 2, splitting: .always)] {
            pool.traceOperations(capacity: 10)
            pool.operation(OperationKey("test.trace untraced")) {}
            #expect(pool.operationTrace().calls.isEmpty)
        }
        let pool = ThreadPool(threads: 2, splitting: .never)
        pool.traceOperations(capacity: 10)
        pool.operation(OperationKey("test.trace outer")) {
            pool.parallelFor(0..<4, grain: 1) { _ in pool.operation(OperationKey("test.trace nested")) {} }
        }
        let trace = pool.operationTrace()
        #expect(trace.keys == ["test.trace outer"] && trace.calls.count == 1)
        #expect(trace.calls[0].split == false)
    }

    @Test("Alternating splitting runs each key 64 calls split, then 64 inline, and so on, whatever the times")
    func alternatingRuns() {
        let pool = ThreadPool(threads: 2, splitting: .alternating)
        pool.traceOperations(capacity: 1_000)
        let keys = [OperationKey("test.trace alternate a"), OperationKey("test.trace alternate b")]
        for call in 0..<300 {
            // Key b gets a call only every third time, so its runs are its own.
            let key = call % 3 == 0 ? keys[1] : keys[0]
            pool.operation(key) { pool.parallelFor(0..<64, grain: 8) { _ in } }
        }
        let trace = pool.operationTrace()
        #expect(trace.calls.count == 300 && trace.calls.allSatisfy { !$0.timedByChooser })
        for key in trace.keys.indices {
            let ways = trace.calls.filter { $0.key == key }.map(\.split)
            #expect(ways.enumerated().allSatisfy { $1 == (($0 / ThreadPool.alternatingRun) % 2 == 0) })
        }
        #expect(pool.operationCounts.split > 0 && pool.operationCounts.inline > 0)
    }
}
