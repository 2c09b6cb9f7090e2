import Dispatch
import Foundation
import TensorKernels

/// What to gather: positions `positions` of `order` (or of the identity) from `split`.
struct GatherRequest: Sendable {
    let split: DatasetSplit
    let order: [Int]?
    let positions: Range<Int>
    let capacity: Int
    let epoch: Int
    let step: Int
}

/// The background side of `BatchLoader`: one dedicated thread (not the compute `ThreadPool`)
/// that gathers one batch at a time into three rotating buffers.
///
/// Hand-off protocol: the loader thread `submit`s a request (writes `request`, then
/// `requested.signal()`); the worker, after `requested.wait()`, reads it, gathers, writes
/// `result`, then `finished.signal()`; the loader reads `result` after `finished.wait()`.
/// The semaphores order every write before the other side's read, and at most one request
/// is in flight, so the mailbox fields are never touched by both threads at once. Nothing is
/// allocated per batch in the steady state (no closures, no new objects): a buffer is
/// reallocated only when a batch returned earlier still holds it.
final class BatchPrefetcher {
    private let requested = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    // Mailbox (see the hand-off protocol).
    private var request: GatherRequest?
    private var result: Batch?
    private var stopping = false
    // Worker-only state.
    private var slots = (0..<3).map { _ in BatchSlot() }
    private var nextSlot = 0
    // Loader-only state.
    private(set) var isBusy = false

    /// Starts the worker thread.
    init() {
        let thread = Thread { [self] in run() }
        thread.name = "weave.batch-loader"
        thread.start()
    }

    /// Queues `request`. Loader thread only; nothing may be in flight.
    func submit(_ request: GatherRequest) {
        precondition(!isBusy, "a batch is already being gathered")
        self.request = request
        isBusy = true
        requested.signal()
    }

    /// Waits for the batch in flight and returns it. Loader thread only.
    func waitForBatch() -> Batch {
        precondition(isBusy, "no batch is being gathered")
        finished.wait()
        isBusy = false
        guard let batch = result else { preconditionFailure("the worker finished without a batch") }
        result = nil
        return batch
    }

    /// Stops the worker after the batch in flight, and waits until it has stopped.
    func stop() {
        if isBusy { _ = waitForBatch() }
        stopping = true
        requested.signal()
        finished.wait()
    }

    private func run() {
        while true {
            requested.wait()
            if stopping {
                finished.signal()
                return
            }
            guard let request else { preconditionFailure("signalled without a request") }
            self.request = nil
            result = slots[nextSlot].gather(request)
            nextSlot = (nextSlot + 1) % slots.count
            finished.signal()
        }
    }
}

extension BatchPrefetcher: @unchecked Sendable {
    // Safe because: the mailbox fields follow the semaphore hand-off documented above
    // (one side at a time, each write ordered before the other side's read by a
    // signal/wait pair); `slots` and `nextSlot` are touched only by the worker thread and
    // `isBusy` only by the loader thread.
}

/// A reusable batch buffer, used only by the worker thread.
private final class BatchSlot {
    /// The buffer of the last batch gathered here; nil before the first.
    private var storage: TensorStorage?
    /// The labels of the last batch gathered here.
    private var labels: [Int32] = []
    /// The shape of the last batch gathered here, reused while the batch size stays.
    private var shape: [Int] = []

    /// Copies the requested examples into this slot's buffers and returns them as a batch.
    func gather(_ request: GatherRequest) -> Batch {
        let split = request.split
        let count = request.positions.count
        let width = split.images.count / max(split.count, 1)
        let storage = reusableStorage(elementCount: request.capacity * width)
        if labels.count != count { labels = [Int32](repeating: 0, count: count) }
        if shape.first != count { shape = [count] + split.exampleShape }
        let destination = storage.pointer
        split.images.withUnsafeBufferPointer { source in
            split.labels.withUnsafeBufferPointer { sourceLabels in
                labels.withUnsafeMutableBufferPointer { labels in  // copies first if a batch holds them
                    for (row, position) in request.positions.enumerated() {
                        let example = request.order?[position] ?? position
                        (destination + row * width).update(from: source.baseAddress! + example * width,
                                                           count: width)
                        labels[row] = sourceLabels[example]
                    }
                }
            }
        }
        return Batch(images: Tensor(storage: storage, shape: shape), labels: labels,
                     epoch: request.epoch, step: request.step)
    }

    /// This slot's buffer if it holds `elementCount` floats and no batch returned earlier
    /// still references it; otherwise a new one (the old one stays with its holder).
    private func reusableStorage(elementCount: Int) -> TensorStorage {
        if storage != nil, isKnownUniquelyReferenced(&storage!), storage!.capacity >= elementCount {
            return storage!
        }
        do {
            let fresh = try TensorStorage(capacity: elementCount)
            storage = fresh
            return fresh
        } catch {
            preconditionFailure("cannot allocate a batch buffer of \(elementCount) floats: \(error)")
        }
    }
}
