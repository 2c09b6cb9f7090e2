import ArgumentParser
import Foundation
import Testing
import Weave
@testable import WeaveCommand

@Suite("weave train")
struct TrainCommandTests {
    /// The MNIST files shared by the team: `../shared/data/mnist` beside the package root.
    static let mnist = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/mnist").path

    @Test("--epochs 0 without --save is refused, and a negative count too")
    func zeroEpochsNeedSave() {
        #expect(throws: (any Error).self) { try TrainCommand.parse(["--epochs", "0"]) }
        // `--epochs=-1`: with a space, "-1" would be refused as a missing value before validation.
        let negative = parseError(["--epochs=-1", "--save", "x"])
        #expect(negative.map { TrainCommand.message(for: $0) }?.contains("0 or more") == true)
        let error = parseError(["--epochs", "0"])
        #expect(error.map { TrainCommand.message(for: $0) }?.contains("--save") == true)
    }

    @Test("--epochs 0 --save writes the initialised model: the parameters of the seed, no training",
          .enabled(if: FileManager.default.fileExists(atPath: mnist), "MNIST not found at ../shared/data/mnist"))
    func zeroEpochsSaveTheInitialisedModel() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("weave-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("init.safetensors").path
        let command = try TrainCommand.parse(["--dataset", "mnist", "--data", Self.mnist, "--model", "mlp-bn",
                                              "--seed", "5", "--epochs", "0", "--save", path, "--threads", "2"])
        try command.run()

        let saved = try Checkpoint.read(from: path)
        #expect(saved.metadata["epoch"] == "0")
        #expect(saved.metadata["step"] == "0")
        let model = ModelPreset.mlpBN.makeModel()
        try model.initializeParameters(seed: 5)
        let expected = model.namedParameters.map { (name: $0.name, tensor: $0.parameter.value) }
            + model.namedStateTensors
        #expect(!expected.isEmpty)
        for (name, tensor) in expected {
            let found = saved.tensors.first { $0.name == name }?.tensor
            #expect(found?.shape == tensor.shape, "\(name)")
            #expect(found?.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern), "\(name)")
        }
        #expect(!saved.names.contains { $0.hasSuffix("momentum_buffer") }, "no step was taken")
    }
}

/// The error `TrainCommand.parse` throws for some arguments (nil when they parse).
private func parseError(_ arguments: [String]) -> (any Error)? {
    do {
        _ = try TrainCommand.parse(arguments)
        return nil
    } catch {
        return error
    }
}
