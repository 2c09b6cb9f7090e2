import Foundation
import Testing
import TensorKernels
@testable import NeuralNetwork

/// A tiny data set on disk: 28 × 28 images whose pixels encode their index.
enum TinyDataset {
    static let side = 28

    static func imagePixels(count: Int, seed: Int) -> [UInt8] {
        (0..<count * side * side).map { UInt8(($0 * 31 + seed * 7) % 256) }
    }

    static func labels(count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 10) } }

    /// Writes the four files (train gzip, test plain) for `train` and `test` examples.
    static func write(in directory: TemporaryDirectory, train: Int = 5, test: Int = 3,
                      testLabels: Int? = nil, imageSide: Int = 28) throws {
        let names = Dataset.fileNames
        let side = UInt32(imageSide)
        let trainImages = IDXBytes.file(dimensions: [UInt32(train), side, side],
                                        payload: imagePixels(count: train, seed: 1)
                                            .prefix(train * imageSide * imageSide).map { $0 })
        try directory.write(IDXBytes.gzip(trainImages), to: names.trainImages + ".gz")
        try directory.write(IDXBytes.gzip(IDXBytes.file(dimensions: [UInt32(train)], payload: labels(count: train))),
                            to: names.trainLabels + ".gz")
        try directory.write(IDXBytes.file(dimensions: [UInt32(test), side, side],
                                          payload: imagePixels(count: test, seed: 2)
                                            .prefix(test * imageSide * imageSide).map { $0 }),
                            to: names.testImages)
        let labelCount = testLabels ?? test
        try directory.write(IDXBytes.file(dimensions: [UInt32(labelCount)], payload: labels(count: labelCount)),
                            to: names.testLabels)
    }
}

/// The MNIST files shared by the team: `../shared/data/mnist` beside the package root.
enum RealMNIST {
    static let directory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }  // …/Tests/NeuralNetworkTests/Data/X.swift
        return url.deletingLastPathComponent().appendingPathComponent("shared/data/mnist").path
    }()

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: directory + "/train-images-idx3-ubyte.gz")
            || FileManager.default.fileExists(atPath: directory + "/train-images-idx3-ubyte")
    }
}

@Suite("Data sets")
struct DatasetTests {
    @Test("A directory of plain and gzip files loads both splits, normalised")
    func loadsTinyDataset() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TinyDataset.write(in: directory)
        let data = try Dataset.load(.mnist, directory: directory.path)
        #expect(data.kind == .mnist)
        #expect(data.train.count == 5)
        #expect(data.test.count == 3)
        #expect(data.train.images.shape == [5, 1, 28, 28])
        #expect(data.test.images.shape == [3, 1, 28, 28])
        #expect(data.train.labels == [0, 1, 2, 3, 4])
        let expected = TinyDataset.imagePixels(count: 3, seed: 2).map { (Float($0) / 255 - 0.1307) / 0.3081 }
        #expect(data.test.images.scalars.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test("Normalisation uses each data set's mean and standard deviation")
    func normalisation() {
        #expect(DatasetKind.mnist.normalized(0) == (0 - Float(0.1307)) / Float(0.3081))
        #expect(DatasetKind.fashionMNIST.normalized(255) == (1 - Float(0.2860)) / Float(0.3530))
        #expect(DatasetKind.fashionMNIST.defaultDirectory == "/usr/share/datasets/fashion-mnist")
        #expect(DatasetKind(rawValue: "fashion-mnist") == .fashionMNIST)
    }

    @Test("A missing directory says how to get the data set")
    func missingDirectory() {
        let error = #expect(throws: DataError.self) {
            try Dataset.load(.fashionMNIST, directory: "/nonexistent/fashion")
        }
        #expect(error?.file == "/nonexistent/fashion")
        #expect(error?.problem.contains("apt-get install dataset-fashion-mnist") == true)
        #expect(error?.problem.contains("tools/setup") == true)
    }

    @Test("MNIST without a directory asks for one")
    func mnistNeedsDirectory() {
        let error = #expect(throws: DataError.self) { try Dataset.load(.mnist) }
        #expect(error?.problem.contains("--data DIR") == true)
    }

    @Test("A missing file names both names it looked for")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TinyDataset.write(in: directory)
        try FileManager.default.removeItem(atPath: directory.path + "/t10k-images-idx3-ubyte")
        let error = #expect(throws: DataError.self) { try Dataset.load(.mnist, directory: directory.path) }
        #expect(error?.file == directory.path + "/t10k-images-idx3-ubyte")
        #expect(error?.problem.contains("t10k-images-idx3-ubyte.gz") == true)
    }

    @Test("Labels that don't match the image count are an error naming the label file")
    func countMismatch() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TinyDataset.write(in: directory, testLabels: 4)
        let error = #expect(throws: DataError.self) { try Dataset.load(.mnist, directory: directory.path) }
        #expect(error?.file == directory.path + "/t10k-labels-idx1-ubyte")
        #expect(error?.problem.contains("4 labels for the 3 images") == true)
    }

    @Test("A label outside 0...9 is an error at its byte")
    func labelOutOfRange() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TinyDataset.write(in: directory)
        let labels = try directory.write(IDXBytes.file(dimensions: [3], payload: [1, 10, 2]), to: "labels")
        let images = directory.path + "/t10k-images-idx3-ubyte"
        let error = #expect(throws: DataError.self) {
            try DatasetSplit(imagesFile: images, labelsFile: labels, kind: .mnist)
        }
        #expect(error?.file == labels)
        #expect(error?.offset == 9)
        #expect(error?.problem.contains("label 10 of example 1") == true)
    }

    @Test("Images that are not 28 × 28 are an error")
    func wrongImageSize() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TinyDataset.write(in: directory, imageSide: 27)
        let error = #expect(throws: DataError.self) { try Dataset.load(.mnist, directory: directory.path) }
        #expect(error?.file == directory.path + "/train-images-idx3-ubyte.gz")
        #expect(error?.problem.contains("[5, 27, 27]") == true)
    }

    @Test("A prefix shares the split's storage")
    func prefixSharesStorage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TinyDataset.write(in: directory)
        let train = try Dataset.load(.mnist, directory: directory.path).train
        let first = train.prefix(2)
        #expect(first.count == 2)
        #expect(first.images.shape == [2, 1, 28, 28])
        #expect(first.images.sharesStorage(with: train.images))
        #expect(first.images.scalars == Array(train.images.scalars.prefix(2 * 784)))
        #expect(train.prefix(99).count == 5)
        #expect(train.prefix(0).count == 0)
    }

    @Test("A split whose images and labels differ in count is a precondition failure")
    func splitCountMismatch() async {
        await #expect(processExitsWith: .failure) {
            _ = DatasetSplit(images: try Tensor(zeros: [2, 1, 1, 1]), labels: [0], kind: .mnist)
        }
    }

    @Test("A negative prefix length is a precondition failure")
    func negativePrefix() async {
        await #expect(processExitsWith: .failure) {
            _ = DatasetSplit(images: try Tensor(zeros: [1, 1, 1, 1]), labels: [0], kind: .mnist).prefix(-1)
        }
    }

    @Test("Real MNIST loads: 60,000 + 10,000 images, known labels, normalised statistics",
          .enabled(if: RealMNIST.isAvailable, "MNIST not found at \(RealMNIST.directory)"))
    func realMNIST() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let data = try Dataset.load(.mnist, directory: RealMNIST.directory)
        let elapsed = clock.now - start
        print("MNIST loaded in \(elapsed)")
        #expect(data.train.images.shape == [60_000, 1, 28, 28])
        #expect(data.test.images.shape == [10_000, 1, 28, 28])
        #expect(Array(data.train.labels.prefix(5)) == [5, 0, 4, 1, 9])
        #expect(Array(data.test.labels.prefix(5)) == [7, 2, 1, 0, 4])
        let (mean, variance) = data.train.images.withUnsafeBufferPointer { values in
            let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
            let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
                / Double(values.count)
            return (mean, variance)
        }
        #expect(abs(mean) < 1e-3)
        #expect(abs(variance.squareRoot() - 1) < 1e-3)
    }
}
