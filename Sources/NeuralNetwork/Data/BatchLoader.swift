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
/// Double buffering: each batch is gathered (copied from the split) by one dedicated thread
/// per loader (`BatchPrefetcher`; not the compute `ThreadPool`) into one of three rotating
/// buffers; `next()` waits for it and asks for the following one. The thread stops when the
/// loader is deinitialised. A buffer is reused only when no `Batch` or tensor
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

    private var order: [Int]?
    private var orderEpoch: Int?
    private let prefetcher = BatchPrefetcher()

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
        startEpoch(0)
    }

    deinit {
        prefetcher.stop()
    }

    /// Positions the loader at batch `step` of epoch `epoch` (0 for a new epoch; a
    /// checkpoint's step to resume) and starts preparing that batch. Discards any batch
    /// prepared for the old position.
    /// - Precondition: `epoch ≥ 0` and `0 ≤ step ≤ stepsPerEpoch`.
    public func startEpoch(_ epoch: Int, atStep step: Int = 0) {
        precondition(epoch >= 0, "epoch must be ≥ 0, got \(epoch)")
        precondition(step >= 0 && step <= stepsPerEpoch,
                     "step \(step) is outside 0...\(stepsPerEpoch) (steps per epoch)")
        if prefetcher.isBusy { _ = prefetcher.waitForBatch() }
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
        guard prefetcher.isBusy else { return nil }
        let batch = prefetcher.waitForBatch()
        step += 1
        prepare()
        return batch
    }

    /// Queues the gathering of batch `step`, if the epoch has one.
    private func prepare() {
        guard step < stepsPerEpoch else { return }
        let first = step * batchSize
        let range = first..<min(first + batchSize, split.count)
        prefetcher.submit(GatherRequest(split: split, order: shuffle ? order : nil, positions: range,
                                        capacity: batchSize, epoch: epoch, step: step))
    }
}
