import ArgumentParser
import CommandLineSupport
import Foundation
import Logging
import QumuloSandbox

@main
struct QfuseSandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qfuse-sandbox",
        abstract: "A local server that speaks the Qumulo REST API (session and files) over HTTPS.",
        discussion: """
            The admin password comes from --password-file or QFUSE_SANDBOX_PASSWORD; with neither, one is generated \
            once and kept in ROOT/admin-password. Point qq at it with: qq --host HOST --port PORT login -u admin
            """)

    @Option(help: "Directory holding the store; created if missing.")
    var root: String

    @Option(help: "Address to listen on. Anything but loopback exposes the sandbox to the network.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 8000

    @Option(help: "File whose first line is the admin password.")
    var passwordFile: String?

    @Option(help: "PEM certificate chain to serve (default: a self-signed one under ROOT/tls).")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Most bytes of file data to hold (e.g. 64M, 1G); writes beyond get 507 fs_no_space_error.")
    var capacity: ByteCount?

    @Option(help: ArgumentHelp(
        """
        Test option, not Qumulo's: hold the answer to every write (data, punch-hole, copy-chunk, attributes) for \
        a random MIN to MAX milliseconds after it is applied, so answers to writes in flight together can come \
        back in another order than the one they were applied in.
        """,
        valueName: "MIN-MAX"))
    var delayWritesMs: MillisecondRange?

    @Option(help: "Test option: the seed of the --delay-writes-ms delays; the same seed draws the same delays.")
    var delaySeed: UInt64 = 0

    @Option(help: "Seconds a connection may go without a complete request part (idle, or a slow head) before it is closed.")
    var idleTimeout: Double = 75

    @Option(help: "Most connections one client address may hold open; more are closed as they arrive.")
    var maxConnectionsPerAddress = 256

    @Flag(help: "Log every request with its status and latency.")
    var debug = false

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard (0 ... 65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard idleTimeout > 0, idleTimeout <= 86400 else { throw ValidationError("--idle-timeout must be more than 0 and at most 86400 seconds") }
        guard maxConnectionsPerAddress > 0 else { throw ValidationError("--max-connections-per-address must be positive") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = debug ? .debug : .info
            return handler
        }
        let logger = Logger(label: "qfuse-sandbox")
        let rootURL = URL(fileURLWithPath: root)
        let password: String
        do {
            password = try adminPassword(root: rootURL)
        } catch {
            throw ValidationError("\(error)")
        }
        let host = self.host
        let sandbox: Sandbox
        do {
            sandbox = try Sandbox(
                configuration: SandboxConfiguration(
                    root: rootURL, host: host, port: port, password: password, tlsCertificate: tlsCert, tlsKey: tlsKey,
                    capacity: capacity.map { Int64($0.bytes) },
                    writeAnswerDelay: delayWritesMs.map { AnswerDelay(milliseconds: $0.range, seed: delaySeed) },
                    idleTimeout: .milliseconds(Int64(idleTimeout * 1000)), maxConnectionsPerAddress: maxConnectionsPerAddress),
                logger: logger,
                handleSignals: true,
                onReady: { port in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    Self.say("qfuse-sandbox listening on https://\(shown):\(port)")
                })
        } catch {
            Self.fail("qfuse-sandbox: cannot start: \(error)")
        }
        Self.say("qfuse-sandbox certificate SHA-256 \(sandbox.fingerprint)\(sandbox.createdCertificate ? " (new)" : "")")
        do {
            try await sandbox.run()
        } catch {
            Self.fail("qfuse-sandbox: \(error)")
        }
    }

    /// The password from the file or the environment, or one generated once and kept under the root.
    private func adminPassword(root: URL) throws -> String {
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8),
                  let line = text.split(separator: "\n", omittingEmptySubsequences: false).first, !line.isEmpty
            else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: passwordFile]) }
            return String(line)
        }
        if let password = ProcessInfo.processInfo.environment["QFUSE_SANDBOX_PASSWORD"], !password.isEmpty {
            return password
        }
        let kept = root.appendingPathComponent("admin-password")
        if let text = try? String(contentsOf: kept, encoding: .utf8), let line = text.split(separator: "\n").first {
            return String(line)
        }
        try FileManager.default.createDirectory(
            at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let generated = String((0 ..< 20).map { _ in alphabet.randomElement()! })
        guard FileManager.default.createFile(
            atPath: kept.path, contents: Data((generated + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: kept.path]) }
        Self.say("qfuse-sandbox generated an admin password in \(kept.path)")
        return generated
    }

    /// One line on stdout, unbuffered: scripts wait for these lines through a pipe.
    private static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private static func fail(_ line: String) -> Never {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        Foundation.exit(1)
    }
}

/// `MIN-MAX`, or `N` for MIN = MAX = N.
struct MillisecondRange: ExpressibleByArgument {
    var range: ClosedRange<Int>

    init?(argument: String) {
        let bounds = argument.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int($0) }
        guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, 0 <= low, low <= high else { return nil }
        range = low ... high
    }
}
