import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Unmounting through `fusermount3`, which works for root and for the user who mounted alike.
public enum Fusermount {
    public enum Outcome: Sendable, Equatable {
        /// Unmounted at once.
        case unmounted
        /// The mount was busy and has been detached: gone from the namespace now, finally unmounted when the
        /// last open file on it is closed.
        case detached
    }

    /// How long a plain unmount may take before it counts as busy. The kernel answers an unmount at once
    /// whatever the daemon does; half a second covers a loaded machine and keeps `qfuse unmount` prompt if
    /// something unforeseen blocks it.
    static let patience: Duration = .milliseconds(500)

    /// Unmounts `path`; when it is busy (or does not finish within ``patience``) and `lazilyIfBusy`, detaches it
    /// (`-uz`) instead of failing.
    public static func unmount(_ path: String, lazilyIfBusy: Bool) async throws(FUSEMountError) -> Outcome {
        let first = await run(["-u", "--", path], within: patience)
        if first?.status == 0 { return .unmounted }
        let busy = first.map { $0.error.contains("busy") } ?? true
        guard busy, lazilyIfBusy else {
            let reason = first.flatMap { $0.error.split(separator: "\n").first.map { String($0) } }
                ?? "fusermount3 -u did not finish within \(patience)"
            throw FUSEMountError(.unmount, busy ? "\(path) is busy; close the files open on it or unmount lazily"
                                                : reason)
        }
        guard let lazy = await run(["-u", "-z", "--", path], within: .seconds(5)), lazy.status == 0 else {
            throw FUSEMountError(.unmount, "fusermount3 -uz could not detach \(path)")
        }
        return .detached
    }

    /// Runs fusermount3 and waits for it without blocking a thread, for at most `limit`; nil if it took longer
    /// (it is then killed, and not waited for: a process stuck in the kernel dies only when the kernel lets it).
    private static func run(_ arguments: [String], within limit: Duration) async -> (status: Int32, error: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let ended = OneShot<Int32?>()
        process.terminationHandler = { ended.resolve($0.terminationStatus) }
        do {
            try process.run()
        } catch {
            return (127, "cannot run \(executable): \(error)")
        }
        let pid = process.processIdentifier
        let timer = Task.detached {
            try? await Task.sleep(for: limit)
            if ended.resolve(nil) { kill(pid, SIGKILL) }
        }
        guard let status = await ended.value else { return nil }
        timer.cancel()
        let output = (try? errorPipe.fileHandleForReading.readToEnd()) ?? Data()
        return (status, String(decoding: output, as: UTF8.self))
    }

    /// `fusermount3` from PATH, else where Debian installs it.
    static var executable: String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/fusermount3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/fusermount3"
    }
}
