import ArgumentParser
import CPlatform

@main
struct WeaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weave",
        abstract: "Fast, reproducible neural-network training on CPUs.",
        discussion: """
            Environment: WEAVE_NUM_THREADS (default thread count), WEAVE_ISA=avx512|avx2|portable \
            (force a kernel variant), WEAVE_NUMA=off (disable libnuma).
            """,
        subcommands: [InfoCommand.self, TrainCommand.self, ReproCommand.self, BenchCommand.self,
                      NUMACheckCommand.self, TraceReplayCommand.self])

    static func main() {
        weave_stdout_line_buffered()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
