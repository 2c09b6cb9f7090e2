import ArgumentParser
import Foundation
import Weave

/// Checks the WEAVE_* environment up front, so a typo is a clear error and exit code 2
/// rather than a silent fallback.
func validateEnvironment() throws {
    do {
        _ = try ThreadCount.defaultValue()
    } catch {
        throw ValidationError(error.description)
    }
    do {
        _ = try KernelISA.select()
    } catch {
        throw ValidationError(error.description)
    }
    do {
        _ = try NUMAAllocator.cacheByteLimit(environment: ProcessInfo.processInfo.environment)
    } catch {
        throw ValidationError(error.description)
    }
}

/// The thread counts to sweep: the given list, or 1 and the default count.
func threadSweep(_ list: ThreadList?) throws -> [Int] {
    if let list { return list.counts }
    let n = try ThreadCount.defaultValue()
    return n == 1 ? [1] : [1, n]
}
