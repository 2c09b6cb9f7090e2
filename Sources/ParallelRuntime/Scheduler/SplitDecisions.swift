import CPlatform
import Synchronization

/// The pool's `SplitChooser` for each operation key, the operation in flight, and counts of
/// the ways chosen.
///
/// Serial keys: a key whose first `serialAfter` calls had no work to share (no fork or spawn,
/// no `parallelFor` of two tiles or more: `WorkerSlot.hadWorkToShare`) runs every later call
/// inline, untimed, without asking its chooser, until a call has work to share; the key then
/// learns afresh and is never serial again. Both ways of such a call do the same work on the
/// same thread, so choosing between them only cost the trials' switches and the clock reads:
/// SGEMM 64³ (one tile) ran 0.98× on 2 threads against 1, and 0.99–0.998× with every call
/// inline and untimed (Scheduler/README.md, "Serial keys").
///
/// The table is touched only by the thread holding slot 0 (under the pool's caller lock):
/// `ThreadPool.operation` consults it from outside callers only; calls nested inside the pool
/// just run.
///
/// The records and the state of the call in flight live in memory the table allocates once,
/// reached through pointers: `operation` runs around every training step and every timed
/// benchmark call, and as stored properties of this class and elements of an array they cost
/// a dynamic exclusivity check per access, a uniqueness check per write and retains of the
/// array's buffer (a quarter of a 73 ns empty operation, by `perf`).
final class SplitDecisions {
    /// One key's chooser and how its calls went.
    struct Record {
        let key: OperationKey
        var chooser = SplitChooser()
        /// Calls made each way, and calls made the other way from the call before.
        var callsSplit = 0
        var callsInline = 0
        var switches = 0
        private var previous: SplitChooser.Way?
        /// Completed calls with no work to share, and whether any call has had some.
        var callsWithoutSharing = 0
        var hasShared = false

        init(key: OperationKey) { self.key = key }

        /// Whether the key's calls run inline without choosing (see "Serial keys" above).
        var isSerial: Bool { !hasShared && callsWithoutSharing >= SplitDecisions.serialAfter }

        /// Notes whether a call had work to share; the first that had ends the key's serial
        /// calls, and its chooser starts over (what it learned is from before).
        @inline(__always)
        mutating func noteSharing(_ shared: Bool, completed: Bool) {
            if hasShared { return }
            if shared {
                if isSerial { chooser = SplitChooser() }
                hasShared = true
            } else if completed {
                callsWithoutSharing &+= 1
            }
        }

        mutating func count(_ way: SplitChooser.Way) {
            if way == .split { callsSplit &+= 1 } else { callsInline &+= 1 }
            if let previous, previous != way { switches &+= 1 }
            previous = way
        }
    }

    /// The operation in flight (its record and way, when its clock started, and the caller's
    /// current slot to restore when it ends) and the last key looked up.
    private struct State {
        var count = 0
        /// A training loop repeats one key, and comparing it with the last one is cheaper than
        /// hashing it (the shape is usually the same buffer).
        var lastKey = OperationKey("")
        var lastIndex = -1
        var running = -1
        var runningWay = SplitChooser.Way.split
        var timed = false
        /// The call in flight is a serial key's (not chosen, not timed).
        var serial = false
        var started: UInt64 = 0
        var callerPreviousSlot: UnsafeMutableRawPointer?
        /// What split calls of every key lose waiting for stalled threads.
        var poolWaits = PoolWaits()
        /// `trace != nil`, as a plain flag for the per-call test (`startClock`, `end`): every
        /// call is clocked while tracing.
        var tracing = false
        var trace: OperationTraceBuffer?
    }

    /// Keys beyond this many are dropped all at once (a program that keeps changing shapes
    /// must not grow the table without bound; it only re-learns).
    static let capacity = 512

    /// Calls with no work to share that make a key serial. The chooser's warm-up and its
    /// first split calls: a one-tile operation is found before it first tries inline.
    static let serialAfter = 4

    /// `capacity` records, the first `state.count` initialised.
    private let records = UnsafeMutablePointer<Record>.allocate(capacity: capacity)
    private let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
    /// Touched only when a key is not the last one.
    private var indices: [OperationKey: Int] = [:]

    // Written by the slot-0 thread (relaxed), read by anyone for statistics.
    let splitCount = Atomic<Int>(0)
    let inlineCount = Atomic<Int>(0)

    init() { state.initialize(to: State()) }

    deinit {
        records.deinitialize(count: state.pointee.count)
        records.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// The index of `key`'s record, created on first use.
    @inline(__always)
    func index(of key: OperationKey) -> Int {
        if state.pointee.lastIndex >= 0 && state.pointee.lastKey == key { return state.pointee.lastIndex }
        return lookUp(key)
    }

    @inline(never)
    private func lookUp(_ key: OperationKey) -> Int {
        let index: Int
        if let known = indices[key] {
            index = known
        } else {
            if state.pointee.count >= Self.capacity {
                state.pointee.trace?.close()
                records.deinitialize(count: state.pointee.count)
                state.pointee.count = 0
                indices.removeAll(keepingCapacity: true)
            }
            index = state.pointee.count
            (records + index).initialize(to: Record(key: key))
            state.pointee.count += 1
            indices[key] = index
        }
        state.pointee.lastKey = key
        state.pointee.lastIndex = index
        return index
    }

    /// Chooses the way of a call of `key` (asking the chooser only with `.whenFaster`
    /// splitting, and `core` whether a woken worker is still on its way) and counts it;
    /// `previousSlot` is handed back by `end`. Call `startClock` last thing before the body.
    func begin(_ key: OperationKey, restoringAfterwards previousSlot: UnsafeMutableRawPointer?,
               splitting: ThreadPool.Splitting = .whenFaster, core: PoolCore? = nil) -> SplitChooser.Way {
        let index = index(of: key)
        let record = records + index
        let way: SplitChooser.Way
        state.pointee.serial = false
        switch splitting {
        case .whenFaster where record.pointee.isSerial:
            way = .inline
            state.pointee.timed = false
            state.pointee.serial = true
        case .whenFaster:
            // The pool is asked only in a split trial (a closure passed in from
            // `beginOperation` instead cost every call ~20 ns). Captured strongly, `core` was
            // retained and released around every choice.
            unowned(unsafe) let pool = core
            way = record.pointee.chooser.choose(poolWait: state.pointee.poolWaits.perCall) {
                pool?.workersArriving() ?? false
            }
            state.pointee.timed = record.pointee.chooser.timesCall
        case .alternating:
            let calls = record.pointee.callsSplit &+ record.pointee.callsInline
            way = (calls / ThreadPool.alternatingRun) % 2 == 0 ? .split : .inline
            state.pointee.timed = false
        case .never:
            way = .inline
            state.pointee.timed = false
        case .always:
            // Not reached from `beginOperation` (such calls just run), but split is what it means.
            way = .split
            state.pointee.timed = false
        }
        record.pointee.count(way)
        switch way {
        case .split: splitCount.store(splitCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        case .inline: inlineCount.store(inlineCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        }
        state.pointee.running = index
        state.pointee.runningWay = way
        state.pointee.callerPreviousSlot = previousSlot
        return way
    }

    /// Starts the clock of the call `begin` chose, if it is one to time.
    @inline(__always)
    func startClock() {
        if state.pointee.timed || state.pointee.tracing { state.pointee.started = weave_ticks() }
    }

    /// Stops the clock of the call in flight (first thing after its body), records its time
    /// (if it is one to time) and `waited`, how long the calling thread waited for other
    /// threads in it (a split call's waits count timed or not: waits for a stalled worker are
    /// rare, and sampling one call in four would see a quarter of them), unless it threw, and
    /// returns the slot to restore. `shared` tells whether the call had work to share
    /// (`WorkerSlot.hadWorkToShare`).
    @inline(__always)
    func end(completed: Bool, waited: UInt64, shared: Bool) -> UnsafeMutableRawPointer? {
        let running = state.pointee.running
        let way = state.pointee.runningWay
        let stall: UInt64?
        var now: UInt64?
        records[running].noteSharing(shared, completed: completed)
        if state.pointee.serial {
            // Not chosen, so nothing to tell the chooser.
            stall = nil
        } else if state.pointee.timed && completed {
            let ended = weave_ticks()
            now = ended
            stall = records[running].chooser.record(way, ticks: ended &- state.pointee.started, waited: waited)
        } else {
            stall = records[running].chooser.skip(way, waited: completed ? waited : 0)
        }
        if let stall, completed {
            state.pointee.poolWaits.add(stall: stall, now: now)
        }
        if state.pointee.tracing && completed {
            traceCall(running, way: way, ended: now ?? weave_ticks(), waited: waited)
        }
        state.pointee.running = -1
        return state.pointee.callerPreviousSlot
    }

    @inline(never)
    private func traceCall(_ record: Int, way: SplitChooser.Way, ended: UInt64, waited: UInt64) {
        // The description is built only for a key new to the trace (an autoclosure).
        state.pointee.trace?.add(record: record, key: records[record].key.description, split: way == .split,
                                 timedByChooser: state.pointee.timed, started: state.pointee.started,
                                 ticks: ended &- state.pointee.started,
                                 waited: waited)
    }

    /// Starts a new trace of up to `capacity` calls.
    func startTrace(capacity: Int) {
        state.pointee.trace = OperationTraceBuffer(capacity: capacity)
        state.pointee.tracing = true
    }

    /// The trace so far (empty when tracing never started).
    func currentTrace() -> OperationTrace {
        state.pointee.trace?.trace()
            ?? OperationTrace(keys: [], calls: [], dropped: 0, ticksPerSecond: TickRate.perSecond)
    }

    /// What split calls of every key have lately lost waiting for stalled threads, per call.
    var poolWaitPerCall: UInt64 { state.pointee.poolWaits.perCall }

    /// Every key's counts and recent medians, sorted by key.
    func summaries() -> [OperationSummary] {
        UnsafeBufferPointer(start: records, count: state.pointee.count).map { record in
            // A serial key's costs are from its first calls, before it stopped choosing.
            let costs = record.isSerial ? (split: nil, inline: nil, switched: nil) : record.chooser.costs
            return OperationSummary(key: record.key.description, callsSplit: record.callsSplit,
                                    callsInline: record.callsInline, switches: record.switches,
                                    splitTicks: costs.split, inlineTicks: costs.inline,
                                    switchedTicks: costs.switched, serial: record.isSerial)
        }.sorted { $0.key < $1.key }
    }
}

extension SplitDecisions: @unchecked Sendable {
    // Safe because: everything but the counters is touched only by the thread holding the
    // pool's caller lock, whose unlock/lock orders successive holders; the counters are
    // atomics.
}
