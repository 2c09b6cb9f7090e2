import Foundation
import NeuralNetwork
import Testing

/// The real-data test: `mlp-bn` trained one epoch on the first 10,000 MNIST training images.
@Suite("Training on real MNIST")
struct MNISTTrainingTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/data/mnist").path

    @Test("mlp-bn reaches at least 90 % test accuracy after one epoch on 10,000 images",
          .enabled(if: FileManager.default.fileExists(atPath: directory), "MNIST not found at ../shared/data/mnist"))
    func mlpBNLearnsMNIST() throws {
        let data = try Dataset.load(.mnist, directory: Self.directory)
        var run = try TrainingRun(configuration: TrainingConfiguration(model: .mlpBN, batchSize: 64, seed: 1),
                                  dataSet: data, threads: 2, limit: 10_000)
        let summary = try run.trainEpoch()
        #expect(summary.testAccuracy >= 0.90, "test accuracy \(summary.testAccuracy)")
        #expect(summary.steps == 157)
    }
}
