import CPlatform
import Dispatch
import Foundation
import Synchronization

/// The engine behind `ThreadPool`: slots, the search-spin-park loop, and the wake protocol.
/// The protocol is described in Scheduler/README.md; the comments here name which step of it
/// each atomic operation implements.
package final class PoolCore {
    let threads: Int
    let slots: [WorkerSlot]
    /// `slots[0]`, the slot of whichever outside thread holds the caller lock. Unowned: `slots`
    /// keeps it alive, and reading an array element would retain and release it on every
    /// `operation` call.
    unowned(unsafe) let callerSlot: WorkerSlot
    /// Each slot's address, as `CurrentSlot` holds it: `isOwnThread` and `enterAsCaller`
    /// compare and store these, where going through the slot references cost a retain and a
    /// release each (a fifth of an empty `operation`).
    private let slotAddresses: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// Threads searching for work while holding a spinner token (Go's `nmspinning`).
    let spinners = Atomic<Int>(0)
    /// Threads whose park word is `parked` (or about to be).
    let sleepers = Atomic<Int>(0)
    let terminating = Atomic<Bool>(false)
    /// Idle workers that may spin at once; the rest park as soon as they find nothing.
    let maxSpinners: Int
    /// How long a thread spins looking for work before it parks.
    let spinNanoseconds: Int64
    /// Serialises external callers: slot 0 belongs to one of them at a time.
    private let callerLock = CallerLock()
    private let workersExited = DispatchGroup()
    /// Marks the worker queues, so tests can check that tasks run on Dispatch-hosted workers.
    static let workerQueueKey = DispatchSpecificKey<String>()
    /// The affinity mask of the thread that created the pool, which unpinned workers take
    /// (nil if it could not be read). See `workerMain`.
    let creatorCPUs: [Int32]?

    init(threads: Int, pinCPUs: [Int]?, spinNanoseconds: Int64) {
        self.threads = threads
        self.slots = (0..<threads).map { WorkerSlot(index: $0, threads: threads) }
        callerSlot = slots[0]
        slotAddresses = .allocate(capacity: threads)
        slotAddresses.initialize(from: slots.map { Unmanaged.passUnretained($0).toOpaque() }, count: threads)
        creatorCPUs = Self.threadCPUs()
        self.maxSpinners = max(1, threads / 2)
        self.spinNanoseconds = spinNanoseconds
        if let cpus = pinCPUs, !cpus.isEmpty {
            for slot in slots.dropFirst() {
                let cpu = cpus[slot.index % cpus.count]
                slot.pinnedCPU = cpu
                slot.numaNode = NUMATopology.nodeOfCPU(cpu)
            }
        }
        for slot in slots.dropFirst() {
            workersExited.enter()
            // A serial queue per worker: each targets the overcommit pool, so every long-running
            // run loop gets a thread of its own at once (verified by a test).
            let label = "weave.worker.\(slot.index)"
            let queue = DispatchQueue(label: label, qos: .userInitiated)
            queue.setSpecific(key: Self.workerQueueKey, value: label)
            queue.async { [self] in
                self.workerMain(slot)
            }
        }
    }

    deinit {
        callerLock.deallocate()
        slotAddresses.deallocate()
    }

    /// Stops the workers and waits until every run loop has returned.
    func shutdown() {
        terminating.store(true, ordering: .sequentiallyConsistent)
        for slot in slots { wakePlain(slot) }
        workersExited.wait()
    }

    /// A worker's run loop on a Dispatch thread.
    ///
    /// The thread's affinity mask is set here and given back at the end (session 18): Dispatch
    /// threads are shared and reused, and a new one inherits the mask of whichever thread made
    /// Dispatch create it, so without this a worker's CPUs depended on the pools and threads
    /// that ran before (a worker of a pool pinned to one CPU, once its pool ended, left that
    /// pinning to the next pool given its thread). The rule instead is OpenMP's: an unpinned
    /// worker runs on the CPUs of the thread that created its pool; a pinned one on its CPU.
    private func workerMain(_ slot: WorkerSlot) {
        let found = Self.threadCPUs()
        if let cpu = slot.pinnedCPU {
            _ = weave_pin_current_thread(Int32(cpu))
        } else if let cpus = creatorCPUs, cpus != found {
            _ = cpus.withUnsafeBufferPointer { weave_set_affinity($0.baseAddress, Int32($0.count)) }
        }
        var clock: Int32 = -1
        if weave_thread_cpu_clock(&clock) == 0 { slot.cpuClock.store(clock, ordering: .relaxed) }
        slot.threadID.store(weave_thread_id(), ordering: .releasing)
        CurrentSlot.set(slot)
        runUntil(slot, idle: true) { terminating.load(ordering: .acquiring) }
        CurrentSlot.set(nil)
        // No joiner pulls a worker that is not busy, and this one has stopped for good.
        slot.threadID.store(0, ordering: .relaxed)
        if let found, found != Self.threadCPUs() {
            _ = found.withUnsafeBufferPointer { weave_set_affinity($0.baseAddress, Int32($0.count)) }
        }
        workersExited.leave()
    }

    /// The calling thread's affinity mask as CPU numbers, nil if it cannot be read.
    static func threadCPUs() -> [Int32]? {
        var buffer = [Int32](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBufferPointer { weave_affinity_cpus($0.baseAddress, Int32($0.count)) }
        guard n > 0 && Int(n) <= buffer.count else { return nil }
        return Array(buffer.prefix(Int(n)))
    }

    // MARK: Entering the pool

    /// Runs `body` with the slot of the calling thread: its own when it is one of this pool's
    /// workers (a nested call), otherwise slot 0, taken under the caller lock.
    @inline(__always)
    func withSlot<R>(_ body: (WorkerSlot) throws -> R) rethrows -> R {
        // The slots are kept alive by their pool: as strong references (`ownSlot()`,
        // `callerSlot`) they were retained and released around every call.
        if let raw = ownSlotAddress() {
            return try Unmanaged<WorkerSlot>.fromOpaque(raw)._withUnsafeGuaranteedRef { try body($0) }
        }
        let previous = enterAsCaller()
        defer { leaveAsCaller(restoring: previous) }
        return try Unmanaged<WorkerSlot>.fromOpaque(slotAddresses[0])._withUnsafeGuaranteedRef { try body($0) }
    }

    /// The calling thread's slot when it is one of this pool's threads (a worker, or the
    /// caller holding slot 0), nil for an outside thread.
    @inline(__always)
    func ownSlot() -> WorkerSlot? {
        ownSlotAddress().map { Unmanaged<WorkerSlot>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Whether the calling thread is one of this pool's threads: `ownSlot() != nil` without
    /// touching a reference count.
    @inline(__always)
    func isOwnThread() -> Bool { ownSlotAddress() != nil }

    /// The calling thread's current slot, as `CurrentSlot` holds it, when that slot is one of
    /// this pool's.
    @inline(__always)
    private func ownSlotAddress() -> UnsafeMutableRawPointer? {
        guard let raw = CurrentSlot.getRaw() else { return nil }
        // The slot `raw` names is alive: a thread's current slot is set only while it is
        // inside that slot's pool.
        let index = Unmanaged<WorkerSlot>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.index }
        return index < threads && slotAddresses[index] == raw ? raw : nil
    }

    /// Makes an outside thread the holder of slot 0: takes the caller lock and makes slot 0
    /// the thread's current slot. Returns the thread's previous current slot (it may be inside
    /// another pool) for `leaveAsCaller(restoring:)`.
    @inline(__always)
    func enterAsCaller() -> UnsafeMutableRawPointer? {
        callerLock.lock()
        let previous = CurrentSlot.getRaw()
        let caller = slotAddresses[0]
        CurrentSlot.setRaw(caller)
        _ = Unmanaged<WorkerSlot>.fromOpaque(caller)._withUnsafeGuaranteedRef { $0.publishCPU() }
        return previous
    }

    @inline(__always)
    func leaveAsCaller(restoring previous: UnsafeMutableRawPointer?) {
        CurrentSlot.setRaw(previous)
        callerLock.unlock()
    }

    // MARK: Fork and join

    /// Runs `a` on `slot` while `b` may be stolen by another slot; returns when both are done.
    func join(_ slot: WorkerSlot, _ a: (WorkerSlot) -> Void, _ b: (WorkerSlot) -> Void) {
        if threads == 1 || slot.runsInline {
            slot.hadWorkToShare = true
            a(slot)
            b(slot)
            return
        }
        // Wrapped in a struct: a bare closure stored as a generic value would be converted
        // through a heap-allocated reabstraction thunk.
        struct Side { let run: (WorkerSlot) -> Void }
        withoutActuallyEscaping(b) { b in
            withUnsafePointer(to: Side(run: b)) { b in
                let job = fork(slot, UnsafeMutableRawPointer(mutating: b)) { context, slot in
                    context.assumingMemoryBound(to: Side.self).pointee.run(
                        Unmanaged<WorkerSlot>.fromOpaque(slot).takeUnretainedValue())
                }
                a(slot)
                finishFork(slot, job)
            }
        }
    }

    /// Offers `function(context, slot)` to other slots: pushes it as a job on `slot`'s deque.
    /// The forker then runs its own part and calls `finishFork` with the returned job; `context`
    /// must stay valid until then. Allocates nothing: the job comes from the slot's job stack.
    @inline(__always)
    func fork(_ slot: WorkerSlot, _ context: UnsafeMutableRawPointer, _ function: JobFunction) -> Job {
        slot.hadWorkToShare = true
        let job = slot.pushJob()
        job.function = function
        job.context = context
        job.owner = slot.index
        job.done.store(false, ordering: .relaxed)
        slot.deque.push(Unmanaged.passUnretained(job).toOpaque())
        announceWork()
        return job
    }

    /// Completes a `fork`: runs the job here if it is still in the deque, else helps with other
    /// work until whoever stole it has finished.
    @inline(__always)
    func finishFork(_ slot: WorkerSlot, _ job: Job) {
        let pointer = Unmanaged.passUnretained(job).toOpaque()
        if let taken = slot.deque.take() {
            if taken == pointer {
                // Not stolen: run it here. Pop first, so forks inside it reuse this depth.
                let function = job.function.unsafelyUnwrapped, context = job.context.unsafelyUnwrapped
                slot.popJob()
                function(context, Unmanaged.passUnretained(slot).toOpaque())
                return
            }
            // `job` was stolen, so what we took is older work of an enclosing fork on this
            // slot; run it now, its own joiner will find it done.
            execute(taken, on: slot)
        }
        runUntil(slot) { job.isDone }
        slot.popJob()
    }

    /// Executes a job taken from a deque and signals its completion.
    func execute(_ pointer: UnsafeMutableRawPointer, on slot: WorkerSlot) {
        let job = Unmanaged<Job>.fromOpaque(pointer).takeUnretainedValue()
        let retained = job.retainedByDeque
        slot.bump(slot.executedCount)
        invokeBody(of: job, on: slot)
        complete(job)
        if retained { Unmanaged<Job>.fromOpaque(pointer).release() }
    }

    /// Calls the job's function or closure. Not inlined on purpose: every retain and release of
    /// a closure context made for the call happens inside this function, so all of them precede
    /// `complete(job)`, after which the forker may pop its stack frame.
    @inline(never)
    private func invokeBody(of job: Job, on slot: WorkerSlot) {
        if let function = job.function {
            function(job.context.unsafelyUnwrapped, Unmanaged.passUnretained(slot).toOpaque())
        } else {
            job.body(slot)
        }
    }

    /// Marks `job` done and wakes its owner if it parked waiting for it.
    private func complete(_ job: Job) {
        let owner = job.owner
        // Sequentially consistent: pairs with the owner's park (store park word, then re-check
        // `done`): either the owner sees `done`, or we see it parked and wake it.
        job.done.store(true, ordering: .sequentiallyConsistent)
        wakePlain(slots[owner])
    }

    // MARK: Finding work

    /// Own deque first (newest work, warm in cache), then steal from a random victim onwards.
    func findWork(_ slot: WorkerSlot) -> UnsafeMutableRawPointer? {
        // `take` on an empty deque costs two stores and a full fence; idle spinners check first
        // (the owner never under-reads its own deque: `top` only grows).
        if slot.deque.mayHaveWork, let job = slot.deque.take() { return job }
        let n = slots.count
        guard n > 1 else { return nil }
        var retry = true
        while retry {
            retry = false
            let start = slot.nextRandom(below: n)
            for k in 0..<n {
                let victim = slots[(start + k) % n]
                if victim === slot { continue }
                switch victim.deque.steal() {
                case .success(let job):
                    slot.bump(slot.stealCount)
                    return job
                case .retry:
                    retry = true
                case .empty:
                    break
                }
            }
        }
        return nil
    }

    /// Whether any deque looks non-empty.
    func anyWork() -> Bool {
        for slot in slots where slot.deque.mayHaveWork { return true }
        return false
    }

    /// The search loop shared by idle workers and by joiners waiting for a stolen job: run
    /// whatever work can be found; spin a bounded time when there is none; then park. A thread
    /// that shares its CPU with a busy peer neither steals nor spins: it dozes (see
    /// "Co-location" in Scheduler/README.md).
    func runUntil(_ slot: WorkerSlot, idle idleWorker: Bool = false, _ done: () -> Bool) {
        var token = false
        var deadline: Int64 = 0
        // The spin whose last `pullWatchNanoseconds` this joiner watches its peers in (its
        // deadline), when it began, and whether anyone is watched.
        var watchedDeadline: Int64 = 0
        var watchStart: Int64 = 0
        var watching = false
        var spins = 0
        var dozeNanoseconds = Self.firstDozeNanoseconds
        var lookAnyway = false
        // A split operation's caller counts how long it waits (`WorkerSlot.waitedTicks`), less
        // the work it runs meanwhile: a nested wait inside that work counts itself, once.
        let measuresWaits = slot.measuresWaits
        let entered = measuresWaits ? weave_ticks() : 0
        var working: UInt64 = 0
        while true {
            if slot.pulled.load(ordering: .relaxed) { takeMaskBack(slot) }
            if done() {
                // A joiner can hold a token: `wakeOne` may pick it while it parks.
                if token { passOnSpinnerToken() }
                if measuresWaits { slot.waitedTicks &+= weave_ticks() &- entered &- working }
                return
            }
            if !lookAnyway && sharesCPUWithBusyPeer(slot) {
                // A worker first tries another CPU: dozing here while a CPU of its mask is
                // free would leave that CPU idle for as long as the kernel keeps it here.
                if idleWorker && slot.pinnedCPU == nil && moveOffSharedCPU(slot) {
                    deadline = 0
                    continue
                }
                if token {
                    token = false
                    passOnSpinnerToken()
                }
                doze(slot, nanoseconds: dozeNanoseconds, until: done)
                // Back off while the CPU stays shared. After each longest doze, look for work
                // once regardless: a peer may be blocked on work only this thread can run.
                if dozeNanoseconds < Self.lastDozeNanoseconds {
                    dozeNanoseconds = min(2 * dozeNanoseconds, Self.lastDozeNanoseconds)
                } else {
                    lookAnyway = true
                }
                deadline = 0
                continue
            }
            if !lookAnyway { dozeNanoseconds = Self.firstDozeNanoseconds }
            let dozedThrough = lookAnyway
            lookAnyway = false
            // A job from a deque first; failing that, part of a leaf another thread is running.
            let job = findWork(slot)
            let part = job == nil && threads > 1 ? claimLeafPart(slot) : nil
            if job != nil || part != nil {
                if token {
                    token = false
                    // Go's rule: the last spinner to find work wakes another, which becomes the
                    // next spinner; one wake-up at a time, never a thundering herd.
                    if spinners.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 { wakeOne() }
                }
                // Checked again here: a pulled worker sharing the joiner's CPU can be preempted
                // between the check above and the steal for as long as that joiner takes to
                // mark it pulled, finish and fork again. The fork publishes the mark with the
                // job, so a job never starts on a pulled mask that is already marked.
                if slot.pulled.load(ordering: .relaxed) { takeMaskBack(slot) }
                if idleWorker { slot.busy.store(true, ordering: .relaxed) }
                let started = measuresWaits ? weave_ticks() : 0
                if let job { execute(job, on: slot) } else if let part { run(part, on: slot) }
                if measuresWaits { working &+= weave_ticks() &- started }
                if idleWorker { slot.busy.store(false, ordering: .relaxed) }
                deadline = 0
                continue
            }
            // An idle worker that dozed through the whole back-off and still finds nothing
            // parks: dozing on, it would wake every 1.6 ms for as long as the pool is idle
            // (the caller's slot counts as busy even while its thread sleeps elsewhere).
            if dozedThrough && idleWorker {
                token = park(slot) { done() || anyWork() }
                deadline = 0
                continue
            }
            spins &+= 1
            if deadline == 0 {
                // Tokens ration idle workers only. A joiner holding one would make the idle
                // worker that just ran its stolen job park at once, so the next fork pays a
                // futex wake-up (measured: a 2-thread pool parked 28k times in 1 s of small
                // BatchNorm calls, and ran them no faster than 1 thread).
                if !token && idleWorker { token = tryAcquireSpinnerToken() }
                // Idle workers without a token park at once; joiners always spin a while,
                // since the job they wait for is running and usually finishes soon.
                let now = weave_monotonic_ns()
                deadline = (token || !idleWorker) ? now + spinNanoseconds : now
                spins = 0
            }
            // The clock is read every 16th round only: it costs as much as a steal attempt.
            if spins & 15 == 0 {
                let now = weave_monotonic_ns()
                // A joiner checks that the work it waits for is running before it sleeps:
                // over the end of its spin it watches the CPU time of busy workers, and at the
                // park pulls a worker preempted on a busy CPU onto this one, which the park
                // then frees for it.
                if !idleWorker && watchedDeadline != deadline && now >= deadline - Self.pullWatchNanoseconds {
                    watchedDeadline = deadline
                    watchStart = now
                    watching = startPullWatch(slot)
                }
                if now >= deadline {
                    if token {
                        token = false
                        releaseSpinnerToken()
                    }
                    if watching && watchedDeadline == deadline {
                        pullStalledWorkers(slot, watchedFor: now - watchStart)
                    }
                    token = park(slot) { done() || anyWork() }
                    deadline = 0
                    continue
                }
            }
            // A few pauses only: on current x86 one `pause` is up to ~140 cycles, and the
            // latency of a fork is the time until a spinner's next steal attempt.
            for _ in 0..<4 { weave_cpu_relax() }
        }
    }

    // MARK: Co-location

    /// The first doze of a thread that shares its CPU with a busy peer, and the longest one it
    /// backs off to while that lasts (doubling each time).
    static let firstDozeNanoseconds: Int64 = 50_000
    static let lastDozeNanoseconds: Int64 = 1_600_000

    /// Whether another awake, busy slot last ran on the CPU this thread runs on now. Two
    /// threads on one CPU run by turns: spinning or stealing there only takes time from the
    /// peer, and a stolen job makes the peer wait for a thread that cannot run until it yields.
    /// This happens when the machine has fewer free CPUs than the pool has threads (another
    /// process holds a core).
    @inline(__always)
    func sharesCPUWithBusyPeer(_ slot: WorkerSlot) -> Bool {
        let cpu = slot.publishCPU()
        for peer in slots where peer !== slot {
            if peer.cpu.load(ordering: .relaxed) == cpu && peer.isBusyAndAwake {
                return true
            }
        }
        return false
    }

    /// The back-off between a worker's moves off a shared CPU: it starts at the first, and
    /// doubles up to the longest each time the worker needs to move again within twice the
    /// current one (the kernel keeps putting it back).
    static let firstMoveBackoffNanoseconds: Int64 = 1_000_000
    static let longestMoveBackoffNanoseconds: Int64 = 1_000_000_000

    /// Moves the calling worker to a CPU of its affinity mask that no awake, busy peer last
    /// ran on, unless it moved too recently (see the back-off above). Returns whether it moved.
    ///
    /// Why (Scheduler/README.md, "Co-location"): the kernel sometimes wakes the worker on the
    /// caller's CPU while the other CPU is idle, and a worker that dozes there is runnable too
    /// rarely for the load balancer to move it; the pool then runs on one CPU of two. When the
    /// other CPU is held by another process, the worker lands beside it instead, where it gets
    /// a share of that CPU (the spread placement, which `SplitChooser` prices).
    func moveOffSharedCPU(_ slot: WorkerSlot) -> Bool {
        let now = weave_monotonic_ns()
        guard now >= slot.nextMoveNanoseconds else { return false }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: threads) { avoid in
            var count = 0
            for peer in slots where peer !== slot && peer.isBusyAndAwake {
                avoid[count] = peer.cpu.load(ordering: .relaxed)
                count += 1
            }
            let landed = weave_move_off_cpus(avoid.baseAddress!, Int32(count))
            guard landed >= 0 else {
                // No other CPU in the mask (pinned by the user, or fewer CPUs than busy
                // threads): dozing is all there is.
                slot.nextMoveNanoseconds = now + Self.longestMoveBackoffNanoseconds
                return false
            }
            if now - slot.lastMoveNanoseconds < 2 * slot.moveBackoffNanoseconds {
                slot.moveBackoffNanoseconds = min(2 * slot.moveBackoffNanoseconds,
                                                  Self.longestMoveBackoffNanoseconds)
            } else {
                slot.moveBackoffNanoseconds = Self.firstMoveBackoffNanoseconds
            }
            slot.lastMoveNanoseconds = now
            slot.nextMoveNanoseconds = now + slot.moveBackoffNanoseconds
            slot.bump(slot.moveCount)
            _ = slot.publishCPU()
            return true
        }
    }

    /// Sleeps up to `nanoseconds`, or until woken by a completion or shutdown. Not counted in
    /// `sleepers`: new work does not wake a dozing thread, which is the point.
    private func doze(_ slot: WorkerSlot, nanoseconds: Int64, until condition: () -> Bool) {
        let word = slot.parkWord
        // Announce, then re-check: the same store-buffering pairing with `complete` as `park`.
        word.atomic.pointee.store(WorkerSlot.ParkState.dozing, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if !condition() {
            slot.bump(slot.dozeCount)
            word.wait(whileEqualTo: WorkerSlot.ParkState.dozing, timeoutNanoseconds: nanoseconds)
        }
        _ = word.atomic.pointee.exchange(WorkerSlot.ParkState.awake, ordering: .acquiringAndReleasing)
    }

    // MARK: Sleeping and waking

    /// Whether a worker has been woken (its park word says so) but has not started running
    /// yet. After a run of inline calls, a split call's wake-up took 30–100 µs to reach a
    /// worker on the other vCPU of this project's VMs (measured, Scheduler/README.md), longer
    /// than a whole trial of a small operation (`SplitChooser`).
    func workersArriving() -> Bool {
        for index in 1..<threads {
            let state = slots[index].parkWord.atomic.pointee.load(ordering: .relaxed)
            if state == WorkerSlot.ParkState.wokenWithToken || state == WorkerSlot.ParkState.wokenPlain {
                return true
            }
        }
        return false
    }

    private func tryAcquireSpinnerToken() -> Bool {
        var current = spinners.load(ordering: .relaxed)
        while current < maxSpinners {
            let (exchanged, original) = spinners.compareExchange(
                expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives up a token without having found work, for a reason other than parking (the
    /// search ended, or the thread dozes). A pusher that saw the token skipped waking anyone,
    /// trusting the holder to find its work; so the last holder to leave wakes a sleeper if
    /// work is left. (Parking needs no hand-over: its re-check finds the work itself.)
    private func passOnSpinnerToken() {
        // Sequentially consistent, then a fence before reading the deques: the store-buffering
        // pair of `announceWork` (push, fence, read `spinners`).
        let left = spinners.subtract(1, ordering: .sequentiallyConsistent).newValue
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if left == 0 && anyWork() { wakeOne() }
    }

    private func releaseSpinnerToken() {
        // Sequentially consistent: a pusher that saw our token skipped waking anyone, so after
        // giving it up we must see its work (the re-check in `park` comes after this).
        spinners.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Parks `slot` until woken; `wakeCondition` is re-checked after announcing the park, so a
    /// wake-up sent in between is never lost. Returns whether a spinner token was handed over.
    private func park(_ slot: WorkerSlot, wakeCondition: () -> Bool) -> Bool {
        let word = slot.parkWord
        // Announce first (sequentially consistent), then re-check: the mirror image of
        // `announceWork` (publish work, then look for sleepers) and `complete`.
        word.atomic.pointee.store(WorkerSlot.ParkState.parked, ordering: .sequentiallyConsistent)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if wakeCondition() {
            if word.atomic.pointee.compareExchange(expected: WorkerSlot.ParkState.parked,
                                    desired: WorkerSlot.ParkState.awake,
                                    ordering: .sequentiallyConsistent).exchanged {
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                return false
            }
            // A waker claimed us meanwhile (and already took us off `sleepers`).
            return word.atomic.pointee.exchange(WorkerSlot.ParkState.awake, ordering: .acquiringAndReleasing)
                == WorkerSlot.ParkState.wokenWithToken
        }
        slot.bump(slot.parkCount)
        while word.atomic.pointee.load(ordering: .acquiring) == WorkerSlot.ParkState.parked {
            word.wait(whileEqualTo: WorkerSlot.ParkState.parked)
        }
        return word.atomic.pointee.exchange(WorkerSlot.ParkState.awake, ordering: .acquiringAndReleasing)
            == WorkerSlot.ParkState.wokenWithToken
    }

    /// Called after pushing work: wakes one parked thread unless someone is already searching.
    @inline(__always)
    func announceWork() {
        // Pairs with the fence in `park` (store-buffering: one side sees the other).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .relaxed) == 0 { return }
        if spinners.load(ordering: .relaxed) != 0 { return }
        wakeOne()
    }

    /// Wakes one parked thread and hands it a spinner token; does nothing if another thread
    /// holds a token (it will find the work, and wake the next one if needed).
    private func wakeOne() {
        guard spinners.compareExchange(expected: 0, desired: 1,
                                       ordering: .sequentiallyConsistent).exchanged
        else { return }
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            for slot in slots {
                if slot.parkWord.atomic.pointee.compareExchange(expected: WorkerSlot.ParkState.parked,
                                                 desired: WorkerSlot.ParkState.wokenWithToken,
                                                 ordering: .sequentiallyConsistent).exchanged {
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    slot.parkWord.wake()
                    return
                }
            }
        }
        spinners.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Wakes `slot` if it is parked or dozing, without a spinner token (completion, shutdown).
    func wakePlain(_ slot: WorkerSlot) {
        let word = slot.parkWord
        switch word.atomic.pointee.load(ordering: .sequentiallyConsistent) {
        case WorkerSlot.ParkState.parked:
            if word.atomic.pointee.compareExchange(expected: WorkerSlot.ParkState.parked,
                                                   desired: WorkerSlot.ParkState.wokenPlain,
                                                   ordering: .sequentiallyConsistent).exchanged {
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                word.wake()
            }
        case WorkerSlot.ParkState.dozing:
            if word.atomic.pointee.compareExchange(expected: WorkerSlot.ParkState.dozing,
                                                   desired: WorkerSlot.ParkState.wokenPlain,
                                                   ordering: .sequentiallyConsistent).exchanged {
                word.wake()
            }
        default:
            break
        }
    }
}

extension PoolCore: @unchecked Sendable {
    // Safe because: every mutable field is an atomic or guarded by `callerLock`; slots carry
    // their own justification (WorkerSlot.swift).
}

/// The slot of the calling thread, in a C thread-local pointer (`weave_current_slot`: Swift has
/// no thread-local storage; pthread_getspecific and setspecific cost a call each).
enum CurrentSlot {
    @inline(__always)
    static func getRaw() -> UnsafeMutableRawPointer? { weave_current_slot_get() }

    @inline(__always)
    static func setRaw(_ raw: UnsafeMutableRawPointer?) { weave_current_slot_set(raw) }

    static func set(_ slot: WorkerSlot?) {
        setRaw(slot.map { Unmanaged.passUnretained($0).toOpaque() })
    }
}
