import CFuse3
import Logging

/// What INIT settled with the kernel, logged once per mount.
public struct ConnectionSettings: Sendable, CustomStringConvertible {
    public var protocolVersion: (major: UInt32, minor: UInt32)
    public var maxRead: UInt32
    public var maxWrite: UInt32
    public var maxReadahead: UInt32
    public var maxBackground: UInt32
    public var congestionThreshold: UInt32
    /// The capabilities asked for (`FUSE_CAP_*` names) and, of those, the ones the kernel lacks.
    public var enabled: [String]
    public var unsupported: [String]

    public var description: String {
        "FUSE \(protocolVersion.major).\(protocolVersion.minor), max_read \(maxRead), max_write \(maxWrite), "
            + "max_readahead \(maxReadahead), max_background \(maxBackground), "
            + "congestion_threshold \(congestionThreshold), \(enabled.joined(separator: " "))"
    }
}

extension BridgeContext {
    /// The capabilities qfuse wants, and why.
    static let wantedCapabilities: [(name: String, flag: Int32)] = [
        // Several READs of one file in flight at once, so read-ahead overlaps with the reader.
        ("ASYNC_READ", FUSE_CAP_ASYNC_READ),
        // A slow listing must not block lookups in the same directory.
        ("PARALLEL_DIROPS", FUSE_CAP_PARALLEL_DIROPS),
        // Drop cached pages when a file's mtime or size changed remotely.
        ("AUTO_INVAL_DATA", FUSE_CAP_AUTO_INVAL_DATA),
        // One entries page already carries every child's attributes: answer `ls -l` without a lookup per file.
        ("READDIRPLUS", FUSE_CAP_READDIRPLUS),
        ("READDIRPLUS_AUTO", FUSE_CAP_READDIRPLUS_AUTO),
    ]

    /// The capabilities qfuse turns off although libfuse would enable them.
    static let refusedCapabilities: [(name: String, flag: Int32)] = [
        // NFS export needs lookups of `.` and `..` by node; the core does not serve them.
        ("EXPORT_SUPPORT", FUSE_CAP_EXPORT_SUPPORT),
        // The kernel would trust its own size and mtime on a namespace others change (design.md §2).
        ("WRITEBACK_CACHE", FUSE_CAP_WRITEBACK_CACHE),
        // Without it the kernel truncates with a SETATTR before OPEN, through the one path that orders a
        // truncation after the file's pending writes.
        ("ATOMIC_O_TRUNC", FUSE_CAP_ATOMIC_O_TRUNC),
    ]

    /// INIT: sets the sizes and capabilities from the configuration, logs them once, and wakes `mount`.
    func negotiate(_ connection: inout fuse_conn_info) {
        connection.max_read = UInt32(configuration.maxRead)
        connection.max_write = UInt32(configuration.maxWrite)
        // libfuse caps this to what the kernel offered (the bdi's 128 KiB at mount); the bdi itself is raised
        // after INIT, see `BackingDeviceInfo`.
        connection.max_readahead = UInt32(configuration.kernelReadAhead)
        connection.max_background = UInt32(configuration.maxBackground)
        connection.congestion_threshold = UInt32(configuration.congestionThreshold)
        connection.time_gran = 1
        var enabled: [String] = []
        var unsupported: [String] = []
        for (name, flag) in Self.wantedCapabilities {
            if connection.capable & UInt32(flag) != 0 {
                connection.want |= UInt32(flag)
                enabled.append(name)
            } else {
                unsupported.append(name)
            }
        }
        for (_, flag) in Self.refusedCapabilities {
            connection.want &= ~UInt32(flag)
        }
        let settings = ConnectionSettings(
            protocolVersion: (connection.proto_major, connection.proto_minor),
            maxRead: connection.max_read, maxWrite: connection.max_write, maxReadahead: connection.max_readahead,
            maxBackground: connection.max_background, congestionThreshold: connection.congestion_threshold,
            enabled: enabled, unsupported: unsupported)
        logger.info("fuse init", metadata: [
            "fuse.protocol": "\(settings.protocolVersion.major).\(settings.protocolVersion.minor)",
            "fuse.max_read": "\(settings.maxRead)", "fuse.max_write": "\(settings.maxWrite)",
            "fuse.max_readahead": "\(settings.maxReadahead)", "fuse.max_background": "\(settings.maxBackground)",
            "fuse.congestion_threshold": "\(settings.congestionThreshold)",
            "fuse.capabilities": "\(enabled.joined(separator: ","))",
            "fuse.unsupported": "\(unsupported.joined(separator: ","))",
        ])
        initialized.resolve(.success(settings))
    }
}
