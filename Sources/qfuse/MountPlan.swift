import CommandLineSupport
import FilesystemCore
import Foundation
import FUSEBridge

/// What `qfuse mount`'s options mean, checked before anything connects or mounts.
struct MountPlan {
    var mountpoint: Mountpoint
    var fuse: FUSEConfiguration
    var filesystem: FilesystemConfiguration
    /// The background process's log, never inside the mountpoint.
    var logFile: String

    init(_ command: Mount) throws {
        var extra: [String] = []
        var readOnly = command.readOnly
        var allowOther = false
        var allowNonEmpty = false
        for option in command.options.flatMap({ $0.split(separator: ",").map(String.init) }) where !option.isEmpty {
            switch option {
            case "ro": readOnly = true
            case "rw": readOnly = false
            case "allow_other": allowOther = true
            case "default_permissions": break // always with allow_other; alone it would change nothing useful
            // libfuse 3 mounts over a non-empty directory and rejects the option; qfuse keeps the check.
            case "nonempty": allowNonEmpty = true
            default: extra.append(option)
            }
        }
        mountpoint = try Mountpoint(validating: command.mountpoint, allowNonEmpty: allowNonEmpty)

        fuse = FUSEConfiguration()
        fuse.readOnly = readOnly
        fuse.allowOther = allowOther
        fuse.extraOptions = extra
        fuse.fileSystemName = command.connection.url
        fuse.handlesExitSignals = true
        // The kernel's window never exceeds what the core reads ahead.
        fuse.kernelReadAhead = min(fuse.kernelReadAhead, command.readAhead.bytes)

        filesystem = FilesystemConfiguration(cacheSize: command.cacheSize?.bytes ?? Self.defaultCacheSize)
        filesystem.attributeTimeout = command.attrTimeout
        filesystem.negativeTimeout = command.attrTimeout
        filesystem.readAhead = command.readAhead.bytes
        filesystem.readOnly = readOnly
        filesystem.writeBuffer = command.writeBuffer.bytes
        // Uploads of at most an eighth of the buffer each, so several files can have some in flight at once.
        filesystem.uploadSize = max(1 << 20, min(filesystem.uploadSize, command.writeBuffer.bytes / 8))

        logFile = command.logFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            ?? Self.defaultLogFile(for: mountpoint)
        guard !logFile.hasPrefix(mountpoint.path + "/") else {
            throw MountPlanError("the log file \(logFile) would be inside the mountpoint")
        }
    }

    /// 1 GiB, or an eighth of RAM on a small machine, so the cache can never crowd out the page cache.
    static var defaultCacheSize: Int {
        min(1 << 30, Int(clamping: ProcessInfo.processInfo.physicalMemory / 8))
    }

    /// `$XDG_STATE_HOME/qfuse/<last component>-<hash of the path>.log`, `~/.local/state/...` by default: one
    /// file per mountpoint, readable at a glance, distinct for `/a/data` and `/b/data`.
    static func defaultLogFile(for mountpoint: Mountpoint) -> String {
        let environment = ProcessInfo.processInfo.environment
        let state = environment["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state"
        let name = mountpoint.path.split(separator: "/").last.map(String.init) ?? "root"
        let safeName = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(40))
        return "\(state)/qfuse/\(safeName)-\(fnv1a(mountpoint.path)).log"
    }

    /// FNV-1a, 64 bits, in hex: stable across runs, unlike `Hasher`.
    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

struct MountPlanError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
