import Foundation

/// A fresh, uniquely named directory path under the system's temporary directory (not created).
public func temporaryDirectory(_ prefix: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID())")
}

/// Bytes whose value at every offset is known, so a misplaced range shows.
public func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0 ..< count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ Int(seed)) }
}
