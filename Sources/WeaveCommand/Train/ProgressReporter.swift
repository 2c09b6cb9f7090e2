import Foundation
import Weave
#if canImport(Glibc)
import Glibc
#endif

/// Prints training progress: a progress bar on a terminal, a plain line every ~10 % of an
/// epoch otherwise, a summary line per epoch — or, with `--json`, one JSON object per epoch
/// and nothing else on stdout.
final class ProgressReporter {
    private let json: Bool
    private let totalEpochs: Int
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private var lastPlainLine = -1
    private var lastDraw: Double = -1

    init(json: Bool, totalEpochs: Int) {
        self.json = json
        self.totalEpochs = totalEpochs
    }

    func start(run: TrainingRun, threads: Int) {
        guard !json else { return }
        let c = run.configuration
        print("weave train: \(c.model.rawValue), \(run.model.parameterCount) parameters, "
              + "batch \(c.batchSize), \(c.optimizer.rawValue) lr \(c.learningRate) momentum \(c.momentum)"
              + "\(c.weightDecay > 0 ? " weight decay \(c.weightDecay)" : ""), seed \(c.seed), "
              + "\(threads) thread\(threads == 1 ? "" : "s"), ISA \(KernelISA.current), "
              + "\(run.stepsPerEpoch) steps per epoch"
              + (run.epoch > 0 ? ", resuming at epoch \(run.epoch + 1)" : ""))
    }

    func progress(_ p: StepProgress) {
        guard !json else { return }
        if isTerminal {
            // Redraw at most 10 times a second, and on the last step.
            guard p.elapsedSeconds - lastDraw >= 0.1 || p.step == p.stepsInEpoch else { return }
            lastDraw = p.elapsedSeconds
            let width = 24
            let filled = width * p.step / max(p.stepsInEpoch, 1)
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            let remaining = p.elapsedSeconds / Double(p.step) * Double(p.stepsInEpoch - p.step)
            let line = "epoch \(p.epoch + 1)/\(totalEpochs) [\(bar)] \(p.step)/\(p.stepsInEpoch) "
                + "loss \(format(Double(p.loss), 4)) \(format(p.imagesPerSecond / 1000, 1))k img/s ETA \(format(remaining, 1)) s"
            FileHandle.standardOutput.write(Data(("\r" + line + "\u{1B}[K").utf8))
        } else {
            let tenth = 10 * p.step / max(p.stepsInEpoch, 1)
            guard tenth > lastPlainLine, p.step < p.stepsInEpoch else { return }
            lastPlainLine = tenth
            print("  epoch \(p.epoch + 1) step \(p.step)/\(p.stepsInEpoch): loss \(format(Double(p.loss), 4)), "
                  + "\(Int(p.imagesPerSecond)) images/s")
        }
    }

    func epochFinished(_ s: EpochSummary) {
        lastPlainLine = -1
        lastDraw = -1
        if json {
            let object: [String: Any] = [
                "epoch": s.epoch + 1, "steps": s.steps, "global_step": s.globalStep,
                "train_loss": s.trainLoss, "test_loss": s.testLoss, "test_accuracy": s.testAccuracy,
                "images_per_second": s.imagesPerSecond, "train_seconds": s.trainSeconds,
                "evaluation_seconds": s.evaluationSeconds,
                "peak_resident_bytes": peakResidentBytes(),
            ]
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
               let text = String(data: data, encoding: .utf8) {
                print(text)
            }
            return
        }
        if isTerminal { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        print("epoch \(s.epoch + 1)/\(totalEpochs): train loss \(format(s.trainLoss, 4)), "
              + "test accuracy \(format(100 * s.testAccuracy, 2)) %, "
              + "\(Int(s.imagesPerSecond.rounded())) images/s, \(format(s.trainSeconds, 2)) s "
              + "(+ \(format(s.evaluationSeconds, 2)) s test), peak memory \(peakResidentBytes() >> 20) MiB")
    }

    func interrupted() {
        if isTerminal && !json { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    /// The process's peak resident set size (getrusage's ru_maxrss, in KiB on Linux).
    private func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return usage.ru_maxrss * 1024
    }

    private func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
