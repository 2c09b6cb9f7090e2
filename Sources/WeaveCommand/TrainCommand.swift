import ArgumentParser

/// `weave train`: not built yet. Says so plainly instead of pretending (issue 6 builds it).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (not implemented yet).")

    @Argument(parsing: .captureForPassthrough, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        print("""
            weave train: training is not implemented yet in this version of Weave.
            The scheduler and kernels come first; layers, data loading and the training loop
            are tracked as the "Training end to end" issue. Nothing was trained.
            Try `tools/weave info` or `tools/weave bench scheduler` meanwhile.
            """)
        throw ExitCode(3)
    }
}
