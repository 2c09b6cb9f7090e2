#if canImport(Glibc)
import Glibc
#endif

/// The file operations of checkpoints: a durable, atomic replace and a whole-file read, with
/// failures as `CheckpointError`s naming the file and the system's reason.
enum CheckpointFile {
    /// Replaces `path` with `bytes` so that a crash at any moment leaves either the old file
    /// or the complete new one: writes a temporary file in the same directory (`mkstemp`),
    /// `fsync`s it, `rename`s it over `path`, then `fsync`s the directory so the rename
    /// itself is durable. The temporary file is removed if any step before the rename fails.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(CheckpointError) {
        var template = Array("\(path).tmp-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else {
            throw failure(path, "cannot create a temporary file beside it")
        }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do throws(CheckpointError) {
            try writeAll(bytes, to: descriptor, path: temporary)
            guard fchmod(descriptor, 0o644) == 0 else { throw failure(temporary, "cannot set permissions") }
            guard fsync(descriptor) == 0 else { throw failure(temporary, "cannot fsync") }
        } catch {
            close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else { throw failure(temporary, "cannot close") }
        guard rename(temporary, path) == 0 else { throw failure(path, "cannot rename \(temporary) to it") }
        renamed = true
        let directory = directoryName(of: path)
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else {
            throw failure(path, "written, but cannot open its directory \(directory) to fsync it")
        }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else {
            throw failure(path, "written, but cannot fsync its directory \(directory)")
        }
    }

    /// The whole contents of `path`.
    static func readAll(_ path: String) throws(CheckpointError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw errno == ENOENT ? CheckpointError(file: path, problem: "no such file")
                : failure(path, "cannot open")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(path, "cannot stat") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(file: path, problem: "not a regular file")
        }
        let size = Int(status.st_size)
        var readFailure: CheckpointError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = 0
            while initialized < size {
                let got = Glibc.read(descriptor, buffer.baseAddress! + initialized, size - initialized)
                if got > 0 {
                    initialized += got
                } else if got == 0 {
                    break  // the file shrank while we read it: the checks will see a short file
                } else if errno != EINTR {
                    readFailure = failure(path, "cannot read")
                    break
                }
            }
        }
        if let readFailure { throw readFailure }
        return bytes
    }

    /// Writes every byte, retrying short writes and EINTR.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(CheckpointError) {
        var failed = false
        bytes.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result > 0 {
                    written += result
                } else if result < 0 && errno == EINTR {
                    continue
                } else {
                    failed = true
                    return
                }
            }
        }
        if failed { throw failure(path, "cannot write") }
    }

    /// The directory part of `path` ("." when it has none).
    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// An error naming `path`, `what` failed and `errno`'s message (read at once).
    private static func failure(_ path: String, _ what: String) -> CheckpointError {
        let number = errno
        return CheckpointError(file: path, problem: "\(what): \(String(cString: strerror(number))) (errno \(number))")
    }
}
