import Foundation
import ParallelRuntime
import Testing
import TensorKernels
@testable import NeuralNetwork

/// A split of `count` 1 × 2 × 2 images; every pixel of image i is i + 0.25 · pixel, label i mod 10.
func indexedSplit(count: Int) throws -> DatasetSplit {
    let images = try Tensor((0..<count * 4).map { Float($0 / 4) + 0.25 * Float($0 % 4) },
                            shape: [count, 1, 2, 2])
    return DatasetSplit(images: images, labels: (0..<count).map { Int32($0 % 10) }, kind: .mnist)
}

/// The example indices of a batch, checked against its labels and pixels.
func exampleIndices(_ batch: Batch, sourceLocation: SourceLocation = #_sourceLocation) -> [Int] {
    let pixels = batch.images.scalars
    #expect(batch.images.shape == [batch.count, 1, 2, 2], sourceLocation: sourceLocation)
    return (0..<batch.count).map { row in
        let index = Int(pixels[4 * row])
        #expect(Array(pixels[4 * row..<4 * row + 4]) == (0..<4).map { Float(index) + 0.25 * Float($0) },
                sourceLocation: sourceLocation)
        #expect(batch.labels[row] == Int32(index % 10), sourceLocation: sourceLocation)
        return index
    }
}

/// All batches left in the loader's epoch, as example indices.
func drain(_ loader: BatchLoader) -> [[Int]] {
    var batches: [[Int]] = []
    while let batch = loader.next() { batches.append(exampleIndices(batch)) }
    return batches
}

@Suite("Batch loader")
struct BatchLoaderTests {
    @Test("Steps per epoch count the last partial batch unless it is dropped",
          arguments: [(10, 3, false, 4), (10, 3, true, 3), (9, 3, false, 3), (9, 3, true, 3),
                      (2, 5, false, 1), (2, 5, true, 0), (0, 4, false, 0)])
    func stepsPerEpoch(count: Int, batchSize: Int, dropLast: Bool, steps: Int) throws {
        let loader = BatchLoader(try indexedSplit(count: count), batchSize: batchSize, seed: 1,
                                 dropLast: dropLast)
        #expect(loader.stepsPerEpoch == steps)
        #expect(drain(loader).count == steps)
    }

    @Test("Without shuffling, batches follow the index order and keep the last partial one")
    func inOrder() throws {
        let loader = BatchLoader(try indexedSplit(count: 10), batchSize: 4, seed: 1, shuffle: false)
        #expect(drain(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(loader.next() == nil)
    }

    @Test("With dropLast the partial batch is skipped")
    func dropLast() throws {
        let loader = BatchLoader(try indexedSplit(count: 10), batchSize: 4, seed: 1, shuffle: false,
                                 dropLast: true)
        #expect(drain(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]])
    }

    @Test("Shuffled epochs follow the seeded permutation of the data-shuffling stream")
    func shuffledOrder() throws {
        let loader = BatchLoader(try indexedSplit(count: 37), batchSize: 8, seed: 42)
        let stream = RandomStream(seed: 42, purpose: .dataShuffling(dataset: 0))
        for epoch in [0, 1, 5] {
            loader.startEpoch(epoch)
            let batches = drain(loader)
            #expect(batches.map(\.count) == [8, 8, 8, 8, 5])
            #expect(batches.flatMap { $0 } == stream.permutation(count: 37, step: UInt64(epoch)))
        }
    }

    @Test("Epochs differ, seeds differ, and the same seed repeats")
    func seeds() throws {
        let split = try indexedSplit(count: 50)
        func order(seed: UInt64, epoch: Int) -> [Int] {
            let loader = BatchLoader(split, batchSize: 7, seed: seed)
            loader.startEpoch(epoch)
            return drain(loader).flatMap { $0 }
        }
        #expect(order(seed: 3, epoch: 0) == order(seed: 3, epoch: 0))
        #expect(order(seed: 3, epoch: 0) != order(seed: 3, epoch: 1))
        #expect(order(seed: 3, epoch: 0) != order(seed: 4, epoch: 0))
        #expect(order(seed: 3, epoch: 2).sorted() == Array(0..<50))
    }

    @Test("Starting an epoch at a step gives exactly the rest of that epoch", arguments: [0, 1, 3, 5, 6])
    func resumeAtStep(step: Int) throws {
        let split = try indexedSplit(count: 41)
        let full = BatchLoader(split, batchSize: 7, seed: 9)
        full.startEpoch(2)
        let all = drain(full)
        let resumed = BatchLoader(split, batchSize: 7, seed: 9)
        resumed.startEpoch(2, atStep: step)
        #expect(resumed.step == step)
        let rest = drain(resumed)
        #expect(rest == Array(all[step...]))
        if let first = rest.first { #expect(first.count > 0) }
    }

    @Test("Batches report their epoch and step; next() is nil after the epoch until restarted")
    func positions() throws {
        let loader = BatchLoader(try indexedSplit(count: 6), batchSize: 4, seed: 1)
        loader.startEpoch(3)
        let first = try #require(loader.next())
        let second = try #require(loader.next())
        #expect((first.epoch, first.step, first.count) == (3, 0, 4))
        #expect((second.epoch, second.step, second.count) == (3, 1, 2))
        #expect(loader.next() == nil)
        #expect(loader.step == 2)
        loader.startEpoch(4)
        #expect(loader.next()?.epoch == 4)
    }

    @Test("Restarting mid-epoch discards the batch already being prepared")
    func restartMidEpoch() throws {
        let split = try indexedSplit(count: 30)
        let loader = BatchLoader(split, batchSize: 4, seed: 5)
        _ = loader.next()
        loader.startEpoch(1, atStep: 2)
        let reference = BatchLoader(split, batchSize: 4, seed: 5)
        reference.startEpoch(1, atStep: 2)
        #expect(drain(loader) == drain(reference))
    }

    @Test("Batches kept by the caller are never overwritten by later ones")
    func keptBatchesStayIntact() throws {
        let loader = BatchLoader(try indexedSplit(count: 23), batchSize: 3, seed: 11)
        var kept: [Batch] = []
        for epoch in 0..<3 {
            loader.startEpoch(epoch)
            while let batch = loader.next() { kept.append(batch) }
        }
        let stream = RandomStream(seed: 11, purpose: .dataShuffling(dataset: 0))
        let expected = (0..<3).flatMap { stream.permutation(count: 23, step: UInt64($0)) }
        #expect(kept.flatMap { exampleIndices($0) } == expected)
    }

    @Test("A batch buffer is reused once the caller lets go of it")
    func buffersAreReused() throws {
        let loader = BatchLoader(try indexedSplit(count: 40), batchSize: 4, seed: 2)
        weak var firstStorage: TensorStorage?
        do {
            let first = try #require(loader.next())
            firstStorage = first.images.storage
        }
        for _ in 0..<2 { _ = loader.next() }
        let fourth = try #require(loader.next())
        #expect(firstStorage != nil)
        #expect(fourth.images.storage === firstStorage)
    }

    @Test("A prefix of a split batches only its examples")
    func prefixSplit() throws {
        let loader = BatchLoader(try indexedSplit(count: 100).prefix(10), batchSize: 4, seed: 1)
        let indices = drain(loader).flatMap { $0 }
        #expect(indices.sorted() == Array(0..<10))
    }

    @Test("A released loader stops its thread")
    func threadsStop() throws {
        func threadCount() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
        }
        let split = try indexedSplit(count: 8)
        let before = try threadCount()
        for _ in 0..<200 {
            let loader = BatchLoader(split, batchSize: 3, seed: 1)
            _ = loader.next()
        }
        // Other tests may run threads meanwhile; 200 leaked threads would show regardless.
        #expect(try threadCount() < before + 50)
    }

    @Test("A batch size of 0 is a precondition failure")
    func zeroBatchSize() async {
        await #expect(processExitsWith: .failure) {
            let split = DatasetSplit(images: try Tensor(zeros: [1, 1, 1, 1]), labels: [0], kind: .mnist)
            _ = BatchLoader(split, batchSize: 0, seed: 1)
        }
    }

    @Test("Starting past the last step is a precondition failure")
    func stepOutOfRange() async {
        await #expect(processExitsWith: .failure) {
            let split = DatasetSplit(images: try Tensor(zeros: [5, 1, 1, 1]), labels: [0, 0, 0, 0, 0],
                                     kind: .mnist)
            BatchLoader(split, batchSize: 2, seed: 1).startEpoch(0, atStep: 4)
        }
    }
}
