/// Every knob of the kernel side of a mount, each with why its default was chosen.
public struct FUSEConfiguration: Sendable {
    /// Mount `ro`: the kernel refuses writes with EROFS before they reach qfuse.
    public var readOnly = false
    /// Let other users use the mount (`allow_other`). It always comes with `default_permissions`, so the kernel
    /// checks mode bits for them; without it every user could read everything the mounting user can. Off, as
    /// on every FUSE file system.
    public var allowOther = false
    /// More mount options for libfuse, as given with `-o` (one option per element).
    public var extraOptions: [String] = []
    /// `fsname`: the source /proc/mounts and `df` show; the cluster's URL.
    public var fileSystemName = "qfuse"
    /// `subtype`: /proc/mounts shows the type as `fuse.qfuse`, which is how `qfuse unmount` recognizes a mount.
    public var subtype = "qfuse"
    /// The largest READ the kernel sends: 1 MiB, the kernel's limit (256 pages). Fewer, larger reads cost
    /// fewer round trips through the bridge and map onto large ranged GETs.
    public var maxRead = 1 << 20
    /// The largest WRITE, 1 MiB for the same reason (unused until the write path exists).
    public var maxWrite = 1 << 20
    /// Background requests (read-ahead, async direct I/O) the kernel keeps in flight: 64 rather than the
    /// kernel's 12, so a read-ahead window of several MiB is not throttled.
    public var maxBackground = 64
    /// In-flight background requests at which the kernel reports congestion: three quarters of
    /// `maxBackground`, the kernel's own default ratio.
    public var congestionThreshold = 48
    /// The kernel's read-ahead window (the bdi's `read_ahead_kb`): 4 MiB. The kernel keeps 128 KiB unless the
    /// bdi is set; a probe read 1 GiB at 0.5-0.6 GB/s with 128 KiB and 1.3-1.4 GB/s with 4 MiB (design.md §6).
    public var kernelReadAhead = 4 << 20
    /// Threads libfuse reads requests with. Callbacks only decode and start a Task, so a few suffice; more than
    /// one lets FORGET and INTERRUPT through while another thread decodes.
    public var maxThreads = 8
    /// Whether SIGINT, SIGTERM and SIGHUP end the session: yes for the `qfuse mount` process, no for a mount
    /// inside a larger program such as a test runner.
    public var handlesExitSignals = false
    /// How long teardown waits for cancelled requests to reply before it leaves the session undestroyed rather
    /// than free it under them.
    public var drainTimeout: Duration = .seconds(10)

    public init() {}

    /// The `-o` argument for libfuse. Commas inside a value (a URL could hold one) are escaped as libfuse
    /// expects.
    var mountOptions: String {
        func escaped(_ value: String) -> String {
            String(value.flatMap { $0 == "," || $0 == "\\" ? ["\\", $0] : [$0] })
        }
        var options = ["fsname=\(escaped(fileSystemName))", "subtype=\(escaped(subtype))", "max_read=\(maxRead)"]
        if readOnly { options.append("ro") }
        if allowOther { options += ["allow_other", "default_permissions"] }
        options += extraOptions
        return options.joined(separator: ",")
    }
}
