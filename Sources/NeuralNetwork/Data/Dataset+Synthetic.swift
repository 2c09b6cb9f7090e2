import ParallelRuntime
import TensorKernels

extension Dataset {
    /// A seeded stand-in with MNIST's shapes: standard-normal 1×28×28 images and uniform labels
    /// 0…9, from `RandomPurpose.custom` streams of `seed`. For `weave repro` and tests on
    /// machines without the data sets; nothing can be learned from it.
    public static func synthetic(trainCount: Int, testCount: Int, seed: UInt64) throws -> Dataset {
        func split(_ count: Int, stream: Int) throws -> DatasetSplit {
            let images = try Tensor(normalShape: [count] + ModelPreset.imageShape,
                                    stream: RandomStream(seed: seed, purpose: .custom(stream: stream)))
            let labelStream = RandomStream(seed: seed, purpose: .custom(stream: stream + 1))
            let labels = (0..<count).map { Int32(labelStream.word(at: UInt64($0), step: 0) % 10) }
            return DatasetSplit(images: images, labels: labels, kind: .mnist)
        }
        return Dataset(kind: .mnist, train: try split(trainCount, stream: 1000),
                       test: try split(testCount, stream: 1002))
    }
}
