import CFuse3
import FilesystemCore

/// One READDIR or READDIRPLUS reply being packed: entries go in until the kernel's buffer is full.
///
/// The kernel asks for at most `size` bytes; an entry that does not fit is left for the next request, which
/// resumes at the cookie of the last entry that did. For READDIRPLUS it also records the nodes whose lookup
/// the kernel will count (every entry but `.` and `..`), which the reply reports to the core.
struct DirectoryBuffer: ~Copyable {
    private var bytes: [UInt8]
    private(set) var used = 0
    private(set) var count = 0
    private(set) var returnedNodes: [NodeID] = []
    let plus: Bool

    init(capacity: Int, plus: Bool) {
        bytes = [UInt8](repeating: 0, count: capacity)
        self.plus = plus
    }

    /// The most entries that could fit: what to ask the core for. Each entry takes at least its fixed header
    /// (24 bytes for READDIR, 152 with the attributes for READDIRPLUS) plus a name padded to 8 bytes.
    var maximumEntries: Int {
        Swift.max(1, bytes.count / (plus ? 160 : 32))
    }

    /// Adds `entry` if it fits; false (and nothing added) when the buffer is full.
    mutating func append(_ entry: DirectoryEntry, request: FUSERequest) -> Bool {
        let needed = bytes.withUnsafeMutableBytes { buffer in
            if plus {
                var parameters = fuse_entry_param(entry.entry)
                // Only the name and type of `.` and `..` count; the kernel takes no lookup for them.
                if !entry.countsLookup { parameters.ino = 0 }
                return request.addDirectoryEntryPlus(
                    into: buffer, at: used, name: entry.name, entry: parameters, cookie: entry.offset)
            } else {
                return request.addDirectoryEntry(
                    into: buffer, at: used, name: entry.name, attributes: stat(entry.entry.attributes), cookie: entry.offset)
            }
        }
        guard used + needed <= bytes.count else { return false }
        used += needed
        count += 1
        if plus, entry.countsLookup { returnedNodes.append(entry.entry.node) }
        return true
    }

    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<used])) }
    }
}
