import CKernels


/// The C Philox kernels (`weave_philox4x32_*_fill`) and the choice among their ISA variants.
///
/// Every variant produces the same words; the variant only changes the speed. The choice is
/// made once: the best this CPU runs (`weave_best_isa`), lowered by `WEAVE_ISA=avx2|portable`
/// (DESIGN §4: the bits must not depend on it, and tests check that they don't).
package enum PhiloxKernels {
    /// The variant used by default in this process: `KernelISA.current` (the best this CPU
    /// runs, or the one `WEAVE_ISA` names).
    package static var selectedISA: weave_isa { KernelISA.current.cValue }

    /// The variants this CPU runs, lowest first.
    package static var supportedISAs: [weave_isa] {
        [WEAVE_ISA_PORTABLE, WEAVE_ISA_AVX2, WEAVE_ISA_AVX512].filter { weave_cpu_supports($0) != 0 }
    }

    /// A printable name of a variant ("avx512", "avx2", "portable").
    package static func name(of isa: weave_isa) -> String {
        switch isa {
        case WEAVE_ISA_AVX512: "avx512"
        case WEAVE_ISA_AVX2: "avx2"
        default: "portable"
        }
    }

    /// Writes stream words of `firstElement ..< firstElement + buffer.count` with variant `isa`
    /// (calls `weave_philox4x32_{avx512,avx2,portable}_fill`).
    /// - Precondition: `isa` is supported by this CPU.
    package static func fill(_ buffer: UnsafeMutableBufferPointer<UInt32>, key: SIMD2<UInt32>,
                             step: UInt64, firstElement: UInt64, isa: weave_isa) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the \(name(of: isa)) kernels")
        switch isa {
        case WEAVE_ISA_AVX512:
            weave_philox4x32_avx512_fill(key[0], key[1], step, firstElement, base, buffer.count)
        case WEAVE_ISA_AVX2:
            weave_philox4x32_avx2_fill(key[0], key[1], step, firstElement, base, buffer.count)
        default:
            weave_philox4x32_portable_fill(key[0], key[1], step, firstElement, base, buffer.count)
        }
    }
}
