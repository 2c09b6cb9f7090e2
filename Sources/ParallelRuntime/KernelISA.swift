import CKernels
import Foundation

/// The instruction-set variant of the C micro-kernels in use.
///
/// Chosen once per process: the best the CPU supports, or a lower one forced with
/// `WEAVE_ISA=avx512|avx2|portable` (for tests and comparisons). Every variant computes the
/// same bits (DESIGN §4), so the choice changes speed, never results.
public enum KernelISA: String, Sendable, CaseIterable, Comparable {
    case portable
    case avx2
    case avx512

    /// The C enum value for this variant.
    package var cValue: weave_isa {
        switch self {
        case .portable: WEAVE_ISA_PORTABLE
        case .avx2: WEAVE_ISA_AVX2
        case .avx512: WEAVE_ISA_AVX512
        }
    }

    /// Whether this CPU (and OS) can run the variant.
    public var isSupported: Bool { weave_cpu_supports(cValue) != 0 }

    /// The best variant the CPU supports.
    public static var best: KernelISA {
        allCases.last { $0.isSupported } ?? .portable
    }

    public static func < (a: KernelISA, b: KernelISA) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// A `WEAVE_ISA` value that cannot be honoured.
    public struct SelectionError: Error, CustomStringConvertible {
        public let requested: String
        public let reason: String
        public var description: String { "WEAVE_ISA=\(requested): \(reason)" }
    }

    /// The variant for this process given its environment: `WEAVE_ISA` if set (it must name a
    /// variant the CPU supports), otherwise the best supported one.
    public static func select(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(SelectionError) -> KernelISA {
        guard let raw = environment["WEAVE_ISA"], !raw.isEmpty else { return best }
        guard let isa = KernelISA(rawValue: raw.lowercased()) else {
            throw SelectionError(
                requested: raw,
                reason: "unknown variant; use one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard isa.isSupported else {
            throw SelectionError(requested: raw,
                                 reason: "this CPU does not support it (best here: \(best.rawValue))")
        }
        return isa
    }

    /// The process-wide choice. An invalid `WEAVE_ISA` is reported once on standard error and
    /// the best variant is used (library code cannot stop the process over it; the `weave`
    /// command checks the variable up front and exits with the error instead).
    public static let current: KernelISA = {
        do {
            return try select()
        } catch {
            FileHandle.standardError.write(Data("weave: \(error); using \(best.rawValue)\n".utf8))
            return best
        }
    }()
}
