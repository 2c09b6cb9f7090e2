import Testing
@testable import TensorKernels

@Test("TensorKernels links against the runtime")
func tensorKernelsLinks() {
    #expect(Bool(true))
}
