import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The real `qfuse-sandbox` binary run as a child process, for tests that must kill a server the hard way.
///
/// An in-process sandbox cannot be SIGKILLed without killing the test; this can, and it can be started again on the
/// same port and root, which is how a cluster node restart looks to a client. The child is killed by pid in every
/// path: ``kill()`` by the test, and `deinit` as the safety net if a test throws first.
public final class SandboxProcess: Sendable {
    public let root: URL
    public let port: Int
    private let process: Process

    public var certificatePath: String { root.appendingPathComponent("tls/cert.pem").path }
    public var url: String { "https://127.0.0.1:\(port)" }

    /// The binary: `QFUSE_SANDBOX_BIN` when set, else `qfuse-sandbox` next to the test bundle (the build directory).
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["QFUSE_SANDBOX_BIN"] { return URL(fileURLWithPath: path) }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("qfuse-sandbox")
    }

    /// Starts the binary on `port` (0 for a free one) and returns once it prints its listening line.
    public static func start(root: URL, port: Int = 0, password: String, timeout: Duration = .seconds(30)) async throws -> SandboxProcess {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestSupportError("\(binary.path) is missing: run swift build --build-tests first")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--root", root.path, "--port", String(port)]
        process.environment = ProcessInfo.processInfo.environment.merging(["QFUSE_SANDBOX_PASSWORD": password]) { $1 }
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        let output = OutputLog()
        // Drains stdout for the child's whole life, so it can never block on a full pipe.
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, process.isRunning {
            let listening = output.text.withLock { text in
                text.split(separator: "\n").lazy.compactMap { line -> Int? in
                    guard line.hasPrefix("qfuse-sandbox listening on "), let colon = line.lastIndex(of: ":") else { return nil }
                    return Int(line[line.index(after: colon)...])
                }.first
            }
            if let listening {
                return SandboxProcess(root: root, port: listening, process: process)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Self.kill(process)
        throw TestSupportError("qfuse-sandbox did not start: \(output.text.withLock { $0 })")
    }

    private init(root: URL, port: Int, process: Process) {
        self.root = root
        self.port = port
        self.process = process
    }

    deinit {
        Self.kill(process)
    }

    /// SIGKILL, no goodbye, then reap the child so no zombie or listener outlives the test.
    public func kill() {
        Self.kill(process)
    }

    private static func kill(_ process: Process) {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// What the child printed so far; written by the pipe's handler thread, read by the starting task.
private final class OutputLog: Sendable {
    let text = Mutex("")
}
