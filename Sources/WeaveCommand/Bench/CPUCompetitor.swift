import ArgumentParser
import CPlatform
import Foundation
import Glibc
import Synchronization
import Weave

/// The competitor's process id while one runs (0 otherwise), for the signal handlers.
private let runningCompetitor = Atomic<Int32>(0)

/// A CPU-bound competitor for `--contended`: this executable re-run as the hidden
/// `weave bench busy-loop`, pinned to one CPU, spinning until stopped.
///
/// It never outlives the benchmark: `stop()` kills it (call it from a `defer`), SIGINT, SIGTERM
/// and SIGHUP kill it before the benchmark dies of the signal, and the child itself exits
/// when its parent changes (the benchmark died of something it could not catch, like SIGKILL).
final class CPUCompetitor {
    let pid: pid_t
    let cpu: Int32
    private let started = now()
    private var stopped = false

    /// Starts the competitor on `cpu` and waits until it is spinning.
    /// - Throws: `CompetitorError` when the child cannot be started.
    init(cpu: Int32) throws(CompetitorError) {
        self.cpu = cpu
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let arguments = ["weave", "bench", "busy-loop", "--cpu", "\(cpu)", "--parent", "\(getpid())"]
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, nil, nil, &cArguments, environ)
        guard status == 0 else {
            throw CompetitorError(problem: "posix_spawn(\(executable)) failed: \(String(cString: strerror(status)))")
        }
        pid = child
        runningCompetitor.store(child, ordering: .sequentiallyConsistent)
        CPUCompetitor.installSignalHandlers()
        // Give it time to start and pin itself; it must be alive and burning CPU.
        Thread.sleep(forTimeInterval: 0.3)
        var exitStatus: Int32 = 0
        if waitpid(child, &exitStatus, WNOHANG) == child {
            runningCompetitor.store(0, ordering: .sequentiallyConsistent)
            stopped = true
            throw CompetitorError(problem: "the busy loop on CPU \(cpu) exited at once (status \(exitStatus))")
        }
    }

    deinit { stop() }

    /// The child's CPU seconds so far (utime + stime from /proc/PID/stat), nil if unreadable.
    var cpuSeconds: Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// "busy loop pinned to CPU 1 (pid 123)".
    var description: String { "busy loop pinned to CPU \(cpu) (pid \(pid))" }

    /// The description and the CPU share it got: "…: 99% of a CPU over 12.3 s".
    var summary: String {
        let wall = now() - started
        let share = cpuSeconds.map { String(format: ": %.0f%% of a CPU over %.1f s", $0 / wall * 100, wall) } ?? ""
        return description + share
    }

    /// Kills the child and reaps it; idempotent.
    func stop() {
        guard !stopped else { return }
        stopped = true
        runningCompetitor.store(0, ordering: .sequentiallyConsistent)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    /// The CPU a competitor should hold: the last one this process may run on.
    static func defaultCPU() -> Int32 {
        Int32(ThreadCount.affinityCPUs().last ?? 0)
    }

    private static func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { received in
                // Async-signal-safe only: an atomic load, kill, signal, raise.
                let child = runningCompetitor.load(ordering: .sequentiallyConsistent)
                if child > 0 { kill(child, SIGKILL) }
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }
}

/// Why the `--contended` competitor could not run.
struct CompetitorError: Error, CustomStringConvertible {
    var problem: String
    var description: String { "--contended: \(problem)" }
}

/// `weave bench busy-loop` (hidden): the competitor `--contended` starts. Pins itself to
/// `--cpu` and spins on integer arithmetic; exits when its parent is no longer `--parent`.
struct BusyLoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "busy-loop", abstract: "Spin on one CPU (the --contended competitor).",
        shouldDisplay: false)

    @Option(help: "The CPU to pin to.")
    var cpu: Int32

    @Option(help: "Exit when the parent process is no longer this one.")
    var parent: Int32

    func run() throws {
        let pinned = weave_pin_current_thread(cpu)
        guard pinned == 0 else {
            throw CompetitorError(problem: "cannot pin the busy loop to CPU \(cpu) (errno \(-pinned))")
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        while getppid() == parent {
            // About a millisecond of xorshift between checks of the parent.
            for _ in 0..<1_000_000 {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
            }
            if state == 0 { print("unreachable: xorshift reached 0") }
        }
    }
}
