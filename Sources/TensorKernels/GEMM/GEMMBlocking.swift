import CKernels
import ParallelRuntime

/// The blocking of SGEMM's five loops (BLIS: JC → PC → IC → JR → IR) for one kernel variant:
/// data, chosen in one place per CPU and ISA, never known by the driver's loops.
///
/// `mr × nr` is the register tile of the micro-kernel; `mc × kc` the block of packed A (sized
/// for L2); `kc × nc` the panel of packed B (sized for L3). None of them changes a bit of the
/// result: every micro-kernel computes each element of C as one chain of fused multiply-adds
/// in k order starting from β·C, and a block over k continues the chain through C (see
/// `CKernels.h`). `kc` is nevertheless one constant for every CPU and ISA (DESIGN §4), so that
/// even a future kernel that restarted its chain per block would agree everywhere.
public struct GEMMBlocking: Sendable, Equatable, CustomStringConvertible {
    /// Rows of the micro-kernel's register tile (rows of a packed A micro-panel).
    public let mr: Int
    /// Columns of the micro-kernel's register tile (columns of a packed B micro-panel).
    public let nr: Int
    /// Rows of C per packed block of A; a multiple of `mr`.
    public let mc: Int
    /// Depth of a packed block (`GEMMBlocking.depth`, the same for every variant).
    public let kc: Int
    /// Columns of C per packed panel of B; a multiple of `nr`.
    public let nc: Int

    /// The one KC for every CPU and ISA.
    public static let depth = 256

    /// A blocking; `mc` and `nc` are rounded up to multiples of `mr` and `nr`.
    /// - Precondition: every size ≥ 1.
    public init(mr: Int, nr: Int, mc: Int, kc: Int = GEMMBlocking.depth, nc: Int) {
        precondition(mr >= 1 && nr >= 1 && mc >= 1 && kc >= 1 && nc >= 1,
                     "GEMMBlocking sizes must be ≥ 1, got mr \(mr) nr \(nr) mc \(mc) kc \(kc) nc \(nc)")
        self.mr = mr
        self.nr = nr
        self.mc = (mc + mr - 1) / mr * mr
        self.kc = kc
        self.nc = (nc + nr - 1) / nr * nr
    }

    /// "mr×nr, mc mc, kc kc, nc nc".
    public var description: String { "\(mr)×\(nr), mc \(mc), kc \(kc), nc \(nc)" }
}

/// A micro-kernel variant: its two C entry points (packed and strided, see `CKernels.h`) and
/// the blocking it is used with.
package struct SGEMMMicroKernel: Sendable {
    /// `weave_sgemm_<isa>_<MR>x<NR>`: packed A micro-panel, packed B micro-panel.
    package typealias Packed = @convention(c) (
        Int64, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?,
        Int64, Int64, Int64, Float) -> Void
    /// `weave_sgemm_<isa>_<MR>x<NR>_strided`: A with row and column strides, B row-major.
    package typealias Strided = @convention(c) (
        Int64, UnsafePointer<Float>?, Int64, Int64, UnsafePointer<Float>?, Int64,
        UnsafeMutablePointer<Float>?, Int64, Int64, Int64, Float) -> Void

    /// The C function name, e.g. "weave_sgemm_avx512_12x32".
    package let name: String
    /// The ISA the kernel needs.
    package let isa: KernelISA
    /// The packed entry point.
    package let packed: Packed
    /// The strided entry point (the small-matrix path).
    package let strided: Strided
    /// The blocking the driver uses with this kernel.
    package let blocking: GEMMBlocking

    /// A kernel from its entry points and a blocking (tests and benchmarks try other
    /// blockings; none changes a bit).
    package init(name: String, isa: KernelISA, packed: Packed, strided: Strided,
                 blocking: GEMMBlocking) {
        self.name = name
        self.isa = isa
        self.packed = packed
        self.strided = strided
        self.blocking = blocking
    }

    /// The kernel for `isa`: AVX-512 12×32, AVX2 6×16 or portable 4×16.
    package static func forISA(_ isa: KernelISA) -> SGEMMMicroKernel {
        switch isa {
        case .avx512: avx512x12
        case .avx2: avx2x6
        case .portable: portable
        }
    }

    /// The kernel `KernelISA.current` selects.
    package static let current = forISA(.current)

    /// AVX-512, 12 rows × 32 columns (24 zmm accumulators).
    package static let avx512x12 = SGEMMMicroKernel(
        name: "weave_sgemm_avx512_12x32", isa: .avx512,
        packed: weave_sgemm_avx512_12x32, strided: weave_sgemm_avx512_12x32_strided,
        blocking: GEMMBlocking(mr: 12, nr: 32, mc: 144, nc: 4096))
    /// AVX-512, 8 rows × 32 columns (for comparison in benchmarks).
    package static let avx512x8 = SGEMMMicroKernel(
        name: "weave_sgemm_avx512_8x32", isa: .avx512,
        packed: weave_sgemm_avx512_8x32, strided: weave_sgemm_avx512_8x32_strided,
        blocking: GEMMBlocking(mr: 8, nr: 32, mc: 144, nc: 4096))
    /// AVX-512, 14 rows × 32 columns (28 zmm accumulators).
    package static let avx512x14 = SGEMMMicroKernel(
        name: "weave_sgemm_avx512_14x32", isa: .avx512,
        packed: weave_sgemm_avx512_14x32, strided: weave_sgemm_avx512_14x32_strided,
        blocking: GEMMBlocking(mr: 14, nr: 32, mc: 140, nc: 4096))
    /// AVX2 + FMA, 6 rows × 16 columns (12 ymm accumulators).
    package static let avx2x6 = SGEMMMicroKernel(
        name: "weave_sgemm_avx2_6x16", isa: .avx2,
        packed: weave_sgemm_avx2_6x16, strided: weave_sgemm_avx2_6x16_strided,
        blocking: GEMMBlocking(mr: 6, nr: 16, mc: 144, nc: 4096))
    /// Portable C with `fmaf`, 4 rows × 16 columns.
    package static let portable = SGEMMMicroKernel(
        name: "weave_sgemm_portable_4x16", isa: .portable,
        packed: weave_sgemm_portable_4x16, strided: weave_sgemm_portable_4x16_strided,
        blocking: GEMMBlocking(mr: 4, nr: 16, mc: 128, nc: 4096))
}
