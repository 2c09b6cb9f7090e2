import ArgumentParser

@main
struct WeaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weave",
        abstract: "Fast, reproducible neural-network training on CPUs.",
        subcommands: [])
}
