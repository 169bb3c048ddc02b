import Foundation
import FUSEBridge
import QumuloClient
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `qfuse mount` in the background, without `fork`.
///
/// Forking a process that already runs threads (the Swift runtime's, NIO's) leaves locks held by threads that
/// do not exist in the child. Instead the command starts its own binary again (`/proc/self/exe`) with
/// `--foreground --daemon` as a ``DetachedProcess``: a session of its own, logging to the log file (its stderr),
/// and writes exactly one line to its stdout, a pipe back to the starting process: `ready`, or `error: <why>`.
/// The starting process relays that line and exits 0 or 1. Secrets travel neither in arguments nor in the
/// environment, which stay readable in /proc/PID/cmdline and /proc/PID/environ for the whole mount: a password
/// (from QUMULO_PASSWORD or typed at the prompt) goes to the child as one line on its stdin, a pipe.
enum MountDaemon {
    /// How long the starting process waits for the line: logging in retries with backoff for a while.
    static let readinessTimeout: Duration = .seconds(120)

    /// `--log-file` in the foreground: stderr, where the log goes, becomes the file.
    static func redirectStandardError(to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        dup2(fd, STDERR_FILENO)
        close(fd)
    }

    /// Starts the background process and exits with its outcome.
    static func launch(_ plan: MountPlan, connection: ConnectionOptions, readiness: Readiness) async -> Never {
        var environment = ProcessInfo.processInfo.environment
        var password = environment.removeValue(forKey: "QUMULO_PASSWORD")
        do {
            // Ask for a password here, where there is a terminal; the child has none.
            if let user = connection.user, connection.passwordFile == nil, (password ?? "").isEmpty {
                let credentials = try Credentials.resolve(
                    for: try Endpoint(url: connection.url), username: user, promptPassword: Terminal.readPassword)
                if case .password(_, let typed) = credentials { password = typed }
            }
        } catch {
            readiness.fail(error)
        }
        // A password file is read where it is, at every login; only a password in hand travels.
        if connection.user == nil || connection.passwordFile != nil { password = nil }
        let log: FileHandle
        do {
            log = try openLog(plan.logFile)
        } catch {
            readiness.fail(error)
        }

        var arguments = Array(CommandLine.arguments.dropFirst())
        let subcommand = arguments.firstIndex(of: "mount").map { $0 + 1 } ?? 0
        arguments.insert(contentsOf: ["--foreground", "--daemon", "--log-file", plan.logFile], at: subcommand)
        let secret = password.map { _ in Pipe() }
        if secret != nil { arguments.insert("--password-on-stdin", at: subcommand) }
        let pipe = Pipe()
        let child: DetachedProcess
        do {
            child = try DetachedProcess(
                executable, arguments: ["qfuse"] + arguments, environment: environment,
                standardInput: secret?.fileHandleForReading.fileDescriptor,
                standardOutput: pipe.fileHandleForWriting.fileDescriptor, standardError: log.fileDescriptor)
        } catch {
            readiness.fail(error)
        }
        try? log.close()
        try? pipe.fileHandleForWriting.close()
        if let secret, let password {
            // One short line fits the pipe's buffer: the write cannot block on a child that is slow to read.
            try? secret.fileHandleForWriting.write(contentsOf: Data((password + "\n").utf8))
            try? secret.fileHandleForWriting.close()
            try? secret.fileHandleForReading.close()
        }

        let line = await firstLine(of: pipe.fileHandleForReading, timeout: readinessTimeout)
        switch line {
        case "ready":
            exit(0)
        case let line? where line.hasPrefix("error: "):
            readiness.fail(MountPlanError(String(line.dropFirst("error: ".count))))
        case _?, nil:
            guard let status = await child.exitStatus(within: .seconds(5)) else {
                kill(child.pid, SIGTERM)
                readiness.fail(MountPlanError("the mount did not come up within \(readinessTimeout); see \(plan.logFile)"))
            }
            readiness.fail(MountPlanError(
                "the mount process exited with status \(status) before mounting; see \(plan.logFile)"))
        }
    }

    /// This binary, by its path when it still has one (so `ps` shows it), else through /proc: a binary replaced
    /// on disk since this process started is still reachable as /proc/self/exe.
    private static var executable: String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
           FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return "/proc/self/exe"
    }

    /// The log file, its directory created (0700: logs name files) if needed, opened for appending.
    private static func openLog(_ path: String) throws -> FileHandle {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw MountPlanError("cannot open the log file \(path): \(String(cString: strerror(errno)))")
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// The first line the child writes, or nil at end of file or after `timeout`.
    private static func firstLine(of handle: FileHandle, timeout: Duration) async -> String? {
        let reader = LineReader()
        return await withCheckedContinuation { continuation in
            reader.start(continuation)
            handle.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    reader.finish()
                } else {
                    reader.append(data)
                }
            }
            Task.detached {
                try? await Task.sleep(for: timeout)
                reader.finish()
            }
        }
    }
}

/// Collects the child's output until the first newline; resumes its waiter exactly once.
private final class LineReader: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var continuation: CheckedContinuation<String?, Never>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<String?, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func append(_ data: Data) {
        let (continuation, line): (CheckedContinuation<String?, Never>?, String?) = state.withLock { state in
            state.buffer += data
            guard let newline = state.buffer.firstIndex(of: UInt8(ascii: "\n")) else { return (nil, nil) }
            defer { state.continuation = nil }
            return (state.continuation, String(decoding: state.buffer[..<newline], as: UTF8.self))
        }
        continuation?.resume(returning: line)
    }

    func finish() {
        state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }?.resume(returning: nil)
    }
}

/// How the foreground process reports the outcome: as the log line and exit status in the foreground, and also
/// as the one line on stdout the starting process waits for in the background.
struct Readiness: Sendable {
    var reportsOnStandardOutput: Bool

    /// The mount is live. Stdout then points at /dev/null: the starting process exits and closes its end. The
    /// background process also leaves the directory it was started in (relative paths in its arguments were
    /// read by now), so it never keeps a file system busy.
    func ready() {
        guard reportsOnStandardOutput else { return }
        writeLine("ready")
        _ = chdir("/")
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 {
            dup2(null, STDOUT_FILENO)
            close(null)
        }
    }

    /// One line on stderr (the terminal or the log), the same on the readiness pipe, and exit status 1.
    func fail(_ error: any Error) -> Never {
        if reportsOnStandardOutput {
            writeLine("error: \("\(error)".split(separator: "\n").first.map(String.init) ?? "unknown error")")
        }
        Qfuse.fail(error)
    }

    private func writeLine(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
    }
}
