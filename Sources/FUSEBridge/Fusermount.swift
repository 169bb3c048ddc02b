import Foundation

/// Unmounting through `fusermount3`, which works for root and for the user who mounted alike.
public enum Fusermount {
    public enum Outcome: Sendable, Equatable {
        /// Unmounted at once.
        case unmounted
        /// The mount was busy and has been detached: gone from the namespace now, finally unmounted when the
        /// last open file on it is closed.
        case detached
    }

    /// Unmounts `path`; when it is busy and `lazilyIfBusy`, detaches it (`-uz`) instead of failing.
    public static func unmount(_ path: String, lazilyIfBusy: Bool) async throws(FUSEMountError) -> Outcome {
        let first = await run(["-u", "--", path])
        if first.status == 0 { return .unmounted }
        let busy = first.error.contains("busy")
        guard busy, lazilyIfBusy else {
            let reason = first.error.split(separator: "\n").first.map { String($0) } ?? "exit status \(first.status)"
            throw FUSEMountError(.unmount, busy ? "\(path) is busy; close the files open on it or unmount lazily"
                                                : reason)
        }
        let lazy = await run(["-u", "-z", "--", path])
        guard lazy.status == 0 else {
            throw FUSEMountError(.unmount, lazy.error.split(separator: "\n").first.map { String($0) }
                                    ?? "fusermount3 -uz failed with status \(lazy.status)")
        }
        return .detached
    }

    /// Runs fusermount3 and waits for it without blocking a thread.
    private static func run(_ arguments: [String]) async -> (status: Int32, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = await withCheckedContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(returning: 127)
            }
        }
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
