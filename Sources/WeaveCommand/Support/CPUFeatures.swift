import CKernels

/// Whether CPUID reports `name` (e.g. "avx512f"); see weave_cpu_has_feature.
func cpuHasFeature(_ name: String) -> Bool {
    name.withCString { weave_cpu_has_feature($0) != 0 }
}
