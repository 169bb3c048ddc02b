import FilesystemCore
import Foundation
import Logging

/// A live mount: a libfuse session serving a `FilesystemOperations` on its own thread.
///
/// Lifecycle, all on the session thread: create the session, mount, run the multi-threaded loop until the file
/// system is unmounted (`qfuse unmount`, `fusermount3 -u`), an exit signal arrives (with
/// `handlesExitSignals`) or the connection is aborted; then cancel and drain the requests in flight, unmount,
/// and destroy the session. The thread is a plain OS thread: the loop blocks it for the whole mount, which on
/// Swift concurrency's pool would take away one of its few threads.
public final class FUSEMount: Sendable {
    public let mountpoint: Mountpoint
    /// The kernel's device numbers for this mount: `/sys/fs/fuse/connections/<minor>` is its control directory.
    public let device: MountTable.Mount?
    public let settings: ConnectionSettings
    private let ended: OneShot<SessionEnd>

    /// How a session ended.
    public struct SessionEnd: Sendable, CustomStringConvertible {
        /// The exit signal that ended it, if one did.
        public var signal: Int32?
        /// libfuse's loop result: 0, or the errno that ended it.
        public var loopResult: Int32
        /// Requests still unanswered after the drain timeout; the session was then left undestroyed.
        public var unanswered: Int

        public var description: String {
            var text = signal.map { "signal \($0)" } ?? "unmounted"
            if loopResult != 0 { text += ", loop error \(loopResult)" }
            if unanswered > 0 { text += ", \(unanswered) requests unanswered" }
            return text
        }
    }

    private init(mountpoint: Mountpoint, device: MountTable.Mount?, settings: ConnectionSettings,
                 ended: OneShot<SessionEnd>) {
        self.mountpoint = mountpoint
        self.device = device
        self.settings = settings
        self.ended = ended
    }

    /// Mounts `filesystem` and returns once the kernel has initialized the connection, so the mount answers.
    public static func mount(
        _ filesystem: any FilesystemOperations, at mountpoint: Mountpoint,
        configuration: FUSEConfiguration = FUSEConfiguration(), logger: Logger
    ) async throws(FUSEMountError) -> FUSEMount {
        var logger = logger
        logger[metadataKey: "fuse.mountpoint"] = "\(mountpoint)"
        let context = BridgeContext(filesystem: filesystem, configuration: configuration, logger: logger)
        let mounted = OneShot<Result<MountTable.Mount?, FUSEMountError>>()
        let ended = OneShot<SessionEnd>()
        let thread = Thread {
            runSession(context, at: mountpoint, mounted: mounted, ended: ended)
        }
        thread.name = "qfuse-session"
        thread.start()
        let device = try await mounted.value.get()
        let settings = try await context.initialized.value.get()
        if let device {
            await raiseReadAhead(to: configuration.kernelReadAhead, of: device, logger: logger)
        }
        logger.info("mounted", metadata: ["fuse.connection": "\(device.map { "\($0.minor)" } ?? "?")"])
        return FUSEMount(mountpoint: mountpoint, device: device, settings: settings, ended: ended)
    }

    /// Waits until the session has ended and been torn down.
    public func waitUntilUnmounted() async -> SessionEnd {
        await ended.value
    }

    /// Whether the session has ended.
    public var hasEnded: Bool { ended.current != nil }

    /// The kernel lowers the bdi's read-ahead to what INIT negotiated, which libfuse caps at the 128 KiB the
    /// kernel offered, so the window is raised through sysfs after the INIT reply (which follows the callback by
    /// microseconds; the short sleep makes sure it went first). Best effort: it needs root.
    private static func raiseReadAhead(to bytes: Int, of device: MountTable.Mount, logger: Logger) async {
        guard bytes > 0 else { return }
        try? await Task.sleep(for: .milliseconds(50))
        if BackingDeviceInfo.setReadAhead(bytes, of: device) {
            logger.info("kernel read-ahead set",
                        metadata: ["fuse.read_ahead_kb": "\((BackingDeviceInfo.readAhead(of: device) ?? 0) / 1024)"])
        } else {
            logger.notice("cannot set kernel read-ahead (needs root); it stays at the kernel's default",
                          metadata: ["fuse.bdi": "\(BackingDeviceInfo.readAheadPath(device))"])
        }
    }

    /// The session thread's whole life.
    private static func runSession(
        _ context: BridgeContext, at mountpoint: Mountpoint,
        mounted: OneShot<Result<MountTable.Mount?, FUSEMountError>>, ended: OneShot<SessionEnd>
    ) {
        let logger = context.logger
        let options = context.configuration.mountOptions
        let userdata = Unmanaged.passRetained(context)
        guard let session = FUSESessionHandle.make(
            options: options, operations: LowLevelOperations.table(), userdata: userdata.toOpaque())
        else {
            userdata.release()
            mounted.resolve(.failure(FUSEMountError(.options, "libfuse refused the mount options \(options)")))
            return
        }
        guard session.mount(at: mountpoint.path) == 0 else {
            session.destroy()
            userdata.release()
            mounted.resolve(.failure(FUSEMountError(.mount, "cannot mount on \(mountpoint)")))
            return
        }
        mounted.resolve(.success(MountTable.current().mount(at: mountpoint.path)))

        let handlesSignals = context.configuration.handlesExitSignals && session.installExitSignals()
        let loopResult = session.loop(maxThreads: context.configuration.maxThreads)
        let signal = handlesSignals ? session.exitSignal : nil
        context.initialized.resolve(.failure(FUSEMountError(.session, "the session ended before the kernel's INIT")))
        logger.info("session ending", metadata: [
            "fuse.signal": "\(signal.map(String.init) ?? "none")", "fuse.loop_result": "\(loopResult)",
            "fuse.in_flight": "\(context.requests.count)",
        ])

        let unanswered = context.requests.drain(timeout: context.configuration.drainTimeout)
        session.unmount()
        if handlesSignals { session.removeExitSignals() }
        if unanswered == 0 {
            session.destroy()
            userdata.release()
        } else {
            // Destroying the session would free requests that Tasks still hold; leaking it is the safe choice
            // in a process that is about to exit.
            logger.error("requests still unanswered after the drain timeout; session left undestroyed",
                         metadata: ["fuse.unanswered": "\(unanswered)"])
        }
        let end = SessionEnd(signal: signal, loopResult: loopResult, unanswered: unanswered)
        logger.info("unmounted", metadata: ["fuse.end": "\(end)"])
        ended.resolve(end)
    }
}
