import Foundation
import Logging
import QumuloSandbox

/// A real sandbox served from this process on a free loopback port, for tests of anything that talks to it.
///
/// It owns only the server: each test target brings its own client (raw AsyncHTTPClient for the sandbox's own
/// tests, `QumuloClient` for the client's), so neither has to know the other.
public final class InProcessSandbox: Sendable {
    public static let password = "harness-password"

    public let root: URL
    public let port: Int
    /// SHA-256 of the certificate it serves, `AA:BB:...`, as `qfuse-sandbox` prints it.
    public let fingerprint: String
    private let sandbox: Sandbox
    private let server: Task<Void, any Error>

    /// The self-signed certificate, which clients can trust as a root.
    public var certificatePath: String { root.appendingPathComponent("tls/cert.pem").path }
    public var url: String { "https://127.0.0.1:\(port)" }

    /// Starts a sandbox on `root` (a new temporary directory when nil) and returns once it accepts connections.
    /// `capacity` limits the bytes of file data it holds (see ``SandboxConfiguration/capacity``); `writeAnswerDelay`
    /// holds answers to writes (see ``SandboxConfiguration/writeAnswerDelay``).
    public static func start(
        root: URL? = nil, sessionLifetime: Duration = .seconds(10 * 3600), capacity: Int64? = nil,
        writeAnswerDelay: AnswerDelay? = nil
    ) async throws -> InProcessSandbox {
        let root = root ?? temporaryDirectory("qfuse-sandbox-test")
        let (ready, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "sandbox-test")
        logger.logLevel = .warning
        let sandbox = try Sandbox(
            configuration: SandboxConfiguration(
                root: root, port: 0, password: password, sessionLifetime: sessionLifetime, capacity: capacity,
                writeAnswerDelay: writeAnswerDelay),
            logger: logger, handleSignals: false, onReady: { continuation.yield($0) })
        let server = Task { try await sandbox.run() }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else {
            await sandbox.shutdown()
            _ = await server.result
            throw TestSupportError("the sandbox did not start")
        }
        return InProcessSandbox(root: root, port: port, sandbox: sandbox, server: server)
    }

    private init(root: URL, port: Int, sandbox: Sandbox, server: Task<Void, any Error>) {
        self.root = root
        self.port = port
        self.fingerprint = sandbox.fingerprint
        self.sandbox = sandbox
        self.server = server
    }

    /// Stops the server after the requests in flight; the root stays for a restart.
    public func stop() async throws {
        await sandbox.shutdown()
        try await server.value
    }

    /// Stops and deletes the root.
    public func destroy() async throws {
        try await stop()
        try? FileManager.default.removeItem(at: root)
    }
}
