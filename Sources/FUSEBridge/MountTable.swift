import Foundation

/// The mounts this process sees, from `/proc/self/mountinfo`: how the bridge finds its connection number
/// without touching its own mountpoint, and how the commands tell a live qfuse mount from a plain directory.
public struct MountTable: Sendable {
    public struct Mount: Sendable, Hashable {
        /// The device numbers; for FUSE, major 0 and the minor that names `/sys/fs/fuse/connections/<minor>`
        /// and the bdi `/sys/class/bdi/0:<minor>`.
        public var major: UInt32
        public var minor: UInt32
        public var mountPoint: String
        /// `fuse.qfuse` for ours.
        public var fileSystemType: String
        public var source: String
    }

    public var mounts: [Mount]

    /// Reads the table; empty if /proc is not there.
    public static func current() -> MountTable {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return MountTable(mounts: []) }
        defer { try? handle.close() }
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        return MountTable(mountinfo: text)
    }

    /// Parses mountinfo lines: `36 35 0:52 / /mnt/q rw,nosuid shared:1 - fuse.qfuse https://host rw,...`.
    public init(mountinfo: String) {
        mounts = mountinfo.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 10, let separator = fields.firstIndex(of: "-"), separator + 2 < fields.count else {
                return nil
            }
            let device = fields[2].split(separator: ":")
            guard device.count == 2, let major = UInt32(device[0]), let minor = UInt32(device[1]) else { return nil }
            return Mount(major: major, minor: minor, mountPoint: Self.unescape(fields[4]),
                         fileSystemType: String(fields[separator + 1]), source: Self.unescape(fields[separator + 2]))
        }
    }

    public init(mounts: [Mount]) {
        self.mounts = mounts
    }

    /// The topmost mount at `path` (an absolute path with symlinks resolved), if any.
    public func mount(at path: String) -> Mount? {
        mounts.last { $0.mountPoint == path }
    }

    /// mountinfo writes space, tab, newline and backslash as three octal digits after a backslash.
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
               let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The kernel's per-mount backing device settings under `/sys/class/bdi/<major>:<minor>`.
enum BackingDeviceInfo {
    static func readAheadPath(_ mount: MountTable.Mount) -> String {
        "/sys/class/bdi/\(mount.major):\(mount.minor)/read_ahead_kb"
    }

    /// The current read-ahead window in bytes, if readable.
    static func readAhead(of mount: MountTable.Mount) -> Int? {
        guard let text = try? String(contentsOfFile: readAheadPath(mount), encoding: .utf8),
              let kilobytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return kilobytes * 1024
    }

    /// Sets the read-ahead window; false when not permitted (needs root) or the bdi is gone.
    static func setReadAhead(_ bytes: Int, of mount: MountTable.Mount) -> Bool {
        guard let handle = FileHandle(forWritingAtPath: readAheadPath(mount)) else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("\(bytes / 1024)\n".utf8))) != nil
    }
}
