import Testing
@testable import ParallelRuntime

@Suite("Kernel ISA selection")
struct KernelISATests {
    @Test("Without WEAVE_ISA the best supported variant is chosen")
    func bestByDefault() throws {
        let isa = try KernelISA.select(environment: [:])
        #expect(isa == KernelISA.best && isa.isSupported)
    }

    @Test("WEAVE_ISA=portable always works and names are case-insensitive")
    func forcePortable() throws {
        #expect(try KernelISA.select(environment: ["WEAVE_ISA": "Portable"]) == .portable)
    }

    @Test("An unknown WEAVE_ISA is an error naming the value and the choices")
    func unknownVariant() {
        do {
            _ = try KernelISA.select(environment: ["WEAVE_ISA": "sse9"])
            Issue.record("no error for WEAVE_ISA=sse9")
        } catch {
            #expect(error.description.contains("sse9") && error.description.contains("avx2"))
        }
    }

    @Test("Variants are ordered portable < avx2 < avx512")
    func ordering() {
        #expect(KernelISA.portable < .avx2 && KernelISA.avx2 < .avx512)
        #expect(KernelISA.allCases.filter(\.isSupported).contains(.portable))
    }
}
