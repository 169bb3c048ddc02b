import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A command run to completion in its own process, as the tests drive mounts: blocking file I/O on a mount
/// served by this very process must never run on Swift concurrency's few threads (design.md §6).
struct ToolResult: CustomStringConvertible {
    var status: Int32
    var output: Data
    var error: String
    var timedOut: Bool

    var text: String { String(decoding: output, as: UTF8.self) }
    var lines: [String] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }

    var description: String { "status \(status)\(timedOut ? " (timed out)" : ""), stderr: \(error)" }
}

/// A started process; `finished` resolves when it exits.
final class RunningTool: Sendable {
    let process: Process
    let executable: String
    private let exit = ExitState()
    private let outputFile: URL
    private let errorFile: URL

    var pid: pid_t { process.processIdentifier }

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        self.executable = executable
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : Self.which(executable))
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID())")
        outputFile = base.appendingPathExtension("out")
        errorFile = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [exit] process in
            let waiters = exit.state.withLock { state in
                state.status = process.terminationStatus
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: process.terminationStatus) }
        }
        try Self.spawnWithCleanSignalMask(process)
    }

    /// Children inherit the signal mask of the thread that starts them, and Swift concurrency's threads block
    /// SIGINT among others: a tool started from one could not be interrupted. So start it from a fresh thread
    /// that unblocks everything first.
    private static func spawnWithCleanSignalMask(_ process: Process) throws {
        let outcome = SpawnOutcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var nothing = sigset_t()
            sigemptyset(&nothing)
            pthread_sigmask(SIG_SETMASK, &nothing, nil)
            let result = Result { try process.run() }
            outcome.result.withLock { $0 = result }
            done.signal()
        }
        thread.start()
        done.wait()
        try outcome.result.withLock { $0! }.get()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }

    /// The exit status, awaited without blocking a thread.
    var status: Int32 {
        get async {
            await withCheckedContinuation { continuation in
                let status: Int32? = exit.state.withLock { state in
                    if state.status == nil { state.waiters.append(continuation) }
                    return state.status
                }
                if let status { continuation.resume(returning: status) }
            }
        }
    }

    var hasExited: Bool { exit.state.withLock { $0.status != nil } }

    /// Waits up to `timeout`; SIGKILL after it. Nil if the process is still there even then (stuck in the
    /// kernel): the caller must abort the mount.
    func wait(timeout: Duration) async -> ToolResult? {
        var timedOut = false
        if !(await poll(until: ContinuousClock.now + timeout)) {
            timedOut = true
            kill(pid, SIGKILL)
            guard await poll(until: ContinuousClock.now + .seconds(5)) else { return nil }
        }
        let status = await self.status
        return ToolResult(status: status, output: (try? Data(contentsOf: outputFile)) ?? Data(),
                          error: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "", timedOut: timedOut)
    }

    private func poll(until deadline: ContinuousClock.Instant) async -> Bool {
        while !hasExited {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    static func which(_ name: String) -> String {
        for directory in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/\(name)"
    }
}

/// What `Process.run` did on the spawning thread.
private final class SpawnOutcome: Sendable {
    let result = Mutex<Result<Void, any Error>?>(nil)
}

/// The exit status once known, and who waits for it.
private final class ExitState: Sendable {
    let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
}

/// Runs `body` on a new OS thread and awaits its result: for system calls on a mount this process serves.
func onOSThread<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}
