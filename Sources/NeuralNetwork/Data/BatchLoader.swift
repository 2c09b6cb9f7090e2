import Dispatch
import ParallelRuntime
import TensorKernels

/// Cuts a split into mini-batches, shuffled per epoch, preparing the next batch on a
/// background thread while the caller trains on the current one.
///
/// ```swift
/// let loader = BatchLoader(data.train, batchSize: 64, seed: 7)
/// for epoch in 0..<epochs {
///     loader.startEpoch(epoch)
///     while let batch = loader.next() { train(batch.images, batch.labels) }
/// }
/// ```
///
/// Order: with `shuffle`, epoch e visits the examples in the order
/// `RandomStream(seed: seed, purpose: .dataShuffling(dataset: 0)).permutation(count: n,
/// step: UInt64(e))` (Fisher–Yates on Philox, stream format v1); without, in index order.
/// Batch s of an epoch holds positions `s·batchSize ..< min((s+1)·batchSize, n)` of that
/// order, so its contents are a pure function of (seed, epoch, step) — independent of timing,
/// threads and of where the epoch was started: `startEpoch(e, atStep: s)` resumes a run
/// exactly. The last, partial batch is kept unless `dropLast`.
///
/// Double buffering: each batch is gathered (copied from the split) by one serial Dispatch
/// queue — not the compute `ThreadPool` — into one of three rotating buffers; `next()` waits
/// for it and queues the following one. A buffer is reused only when no `Batch` or tensor
/// returned earlier still holds it (checked with `isKnownUniquelyReferenced`); otherwise a
/// new one is allocated, so returned batches are never overwritten. Callers that let go of a
/// batch within two further `next()` calls (the usual training loop, even with a layer caching
/// its input) cause no allocation in the steady state.
///
/// Not thread-safe: one thread calls `startEpoch` and `next`.
public final class BatchLoader: IteratorProtocol {
    /// The examples batched.
    public let split: DatasetSplit
    /// Examples per batch (the last batch of an epoch may have fewer, unless `dropLast`).
    public let batchSize: Int
    /// The seed of the shuffling stream.
    public let seed: UInt64
    /// Whether each epoch visits the examples in a seeded random order.
    public let shuffle: Bool
    /// Whether a last batch smaller than `batchSize` is skipped.
    public let dropLast: Bool
    /// Batches per epoch: ⌈n / batchSize⌉, or ⌊n / batchSize⌋ with `dropLast`.
    public let stepsPerEpoch: Int
    /// The current epoch.
    public private(set) var epoch = 0
    /// The step of the batch the next `next()` returns (`stepsPerEpoch` when the epoch is over).
    public private(set) var step = 0

    private let queue = DispatchQueue(label: "weave.batch-loader")
    private var order: [Int]?
    private var orderEpoch: Int?
    private let slots: [BatchSlot]
    private var nextSlot = 0
    private var pending: PendingBatch?

    /// A loader over `split`, positioned at the start of epoch 0.
    /// - Precondition: `batchSize ≥ 1`.
    public init(_ split: DatasetSplit, batchSize: Int, seed: UInt64, shuffle: Bool = true,
                dropLast: Bool = false) {
        precondition(batchSize >= 1, "batch size must be ≥ 1, got \(batchSize)")
        self.split = split
        self.batchSize = batchSize
        self.seed = seed
        self.shuffle = shuffle
        self.dropLast = dropLast
        stepsPerEpoch = dropLast ? split.count / batchSize : (split.count + batchSize - 1) / batchSize
        slots = (0..<3).map { _ in BatchSlot() }
        startEpoch(0)
    }

    deinit {
        pending?.wait()
    }

    /// Positions the loader at batch `step` of epoch `epoch` (0 for a new epoch; a
    /// checkpoint's step to resume) and starts preparing that batch. Discards any batch
    /// prepared for the old position.
    /// - Precondition: `epoch ≥ 0` and `0 ≤ step ≤ stepsPerEpoch`.
    public func startEpoch(_ epoch: Int, atStep step: Int = 0) {
        precondition(epoch >= 0, "epoch must be ≥ 0, got \(epoch)")
        precondition(step >= 0 && step <= stepsPerEpoch,
                     "step \(step) is outside 0...\(stepsPerEpoch) (steps per epoch)")
        pending?.wait()
        pending = nil
        if shuffle && orderEpoch != epoch {
            let stream = RandomStream(seed: seed, purpose: .dataShuffling(dataset: 0))
            order = stream.permutation(count: split.count, step: UInt64(epoch))
            orderEpoch = epoch
        }
        self.epoch = epoch
        self.step = step
        prepare()
    }

    /// The next batch of the epoch, or nil when the epoch is over (call `startEpoch` for the
    /// next). Waits if the background thread is still gathering it.
    public func next() -> Batch? {
        guard let job = pending else { return nil }
        job.wait()
        let batch = job.takeResult()
        pending = nil
        step += 1
        prepare()
        return batch
    }

    /// Queues the gathering of batch `step`, if the epoch has one.
    private func prepare() {
        guard step < stepsPerEpoch else { return }
        let first = step * batchSize
        let range = first..<min(first + batchSize, split.count)
        let job = PendingBatch()
        let task = GatherTask(split: split, order: shuffle ? order : nil, positions: range,
                              capacity: batchSize, slot: slots[nextSlot], epoch: epoch, step: step)
        nextSlot = (nextSlot + 1) % slots.count
        queue.async {
            job.finish(with: task.run())
        }
        pending = job
    }
}

/// One gathering of a batch: everything the background thread needs, all `Sendable`.
private struct GatherTask: Sendable {
    let split: DatasetSplit
    let order: [Int]?
    let positions: Range<Int>
    let capacity: Int
    let slot: BatchSlot
    let epoch: Int
    let step: Int

    func run() -> Batch {
        let exampleShape = split.exampleShape
        let width = exampleShape.reduce(1, *)
        let count = positions.count
        let storage: TensorStorage
        if let reusable = slot.takeStorageIfUnused(capacity: capacity * width) {
            storage = reusable
        } else {
            // A batch returned earlier still uses the old buffer (or there is none yet).
            do {
                storage = try TensorStorage(capacity: capacity * width)
            } catch {
                preconditionFailure("cannot allocate a batch buffer of \(capacity) × \(width) floats: \(error)")
            }
        }
        slot.storage = storage
        if slot.labels.count != count {
            slot.labels = [Int32](repeating: 0, count: count)
        }
        let destination = storage.pointer
        split.images.withUnsafeBufferPointer { source in
            split.labels.withUnsafeBufferPointer { sourceLabels in
                slot.labels.withUnsafeMutableBufferPointer { labels in
                    for (row, position) in positions.enumerated() {
                        let example = order?[position] ?? position
                        (destination + row * width).update(from: source.baseAddress! + example * width,
                                                           count: width)
                        labels[row] = sourceLabels[example]
                    }
                }
            }
        }
        return Batch(images: Tensor(storage: storage, shape: [count] + exampleShape),
                     labels: slot.labels, epoch: epoch, step: step)
    }
}

/// A reusable batch buffer. Used by one thread at a time: the loader hands it to the queue
/// with the task and gets it back (with the batch) after `PendingBatch.wait()`.
private final class BatchSlot {
    /// The buffer of the last batch gathered here; nil before the first.
    var storage: TensorStorage?
    /// The labels of the last batch gathered here.
    var labels: [Int32] = []

    /// The buffer, if it holds `capacity` floats and no returned batch still references it.
    func takeStorageIfUnused(capacity: Int) -> TensorStorage? {
        guard storage != nil, isKnownUniquelyReferenced(&storage!), storage!.capacity >= capacity else {
            return nil
        }
        return storage
    }
}

extension BatchSlot: @unchecked Sendable {
    // Safe because: a slot is touched by one thread at a time. The loader queues at most one
    // task per slot and never touches the slot itself; the task's writes happen before
    // `PendingBatch.finish` signals, and the loader reads the batch only after `wait()`.
    // A slot is reused three batches later, after that batch's `wait()`.
}

/// The batch being gathered: filled once by the queue, then taken by the loader.
private final class PendingBatch {
    private let done = DispatchSemaphore(value: 0)
    private var result: Batch?
    private var waited = false

    /// Called once, on the queue, with the gathered batch.
    func finish(with batch: Batch) {
        result = batch
        done.signal()
    }

    /// Blocks until `finish` has run (returns at once after the first time).
    func wait() {
        guard !waited else { return }
        done.wait()
        waited = true
    }

    /// The batch, handed over once (after `wait()`).
    func takeResult() -> Batch {
        guard let batch = result else {
            preconditionFailure("the batch was taken twice or before it was gathered")
        }
        result = nil
        return batch
    }
}

extension PendingBatch: @unchecked Sendable {
    // Safe because: `result` is written once on the queue before `done.signal()` and read
    // by the loader's thread only after `done.wait()` (the semaphore orders the two);
    // `waited` is touched only by the loader's thread.
}
