import CNUMA
import Glibc

/// Reads back where pages live (move_pages with a nil node list only queries).
public enum PagePlacement {
    /// The system page size (sysconf(_SC_PAGESIZE)).
    public static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The node of each page of `[pointer, pointer + byteCount)`, or a negative errno for a page
    /// that has none (-ENOENT: not yet touched). Calls move_pages(0, n, pages, NULL, status, 0).
    /// Returns nil when the query itself fails (e.g. no NUMA support in the kernel).
    public static func nodes(of pointer: UnsafeRawPointer, byteCount: Int) -> [Int32]? {
        let start = Int(bitPattern: pointer) & ~(pageSize - 1)
        let end = Int(bitPattern: pointer) + byteCount
        let count = (end - start + pageSize - 1) / pageSize
        guard count > 0 else { return [] }
        var pages = (0..<count).map { UnsafeMutableRawPointer(bitPattern: start + $0 * pageSize) }
        var status = [Int32](repeating: Int32.min, count: count)
        let result = pages.withUnsafeMutableBufferPointer { p in
            status.withUnsafeMutableBufferPointer { s in
                move_pages(0, UInt(count), p.baseAddress, nil, s.baseAddress, 0)
            }
        }
        return result == 0 ? status : nil
    }
}
