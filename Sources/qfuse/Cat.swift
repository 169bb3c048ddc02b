import ArgumentParser
import CommandLineSupport
import NIOCore
import QumuloAPI
import QumuloClient

/// `qfuse cat`: streams one remote file to standard output with several ranged reads in flight, in order.
/// Exercises the client end to end, and doubles as the tool to pull a file off a cluster by hand.
struct Cat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a remote file to standard output.",
        discussion: """
            Credentials: --user (password from QUMULO_PASSWORD or a prompt), --token-file, QUMULO_TOKEN, or the \
            file `qq login` wrote for this host.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Absolute path of the file on the cluster.")
    var path: String

    @Option(help: "Ranged requests in flight at once.")
    var parallel = 4

    @Option(help: "Bytes per ranged request (e.g. 4M).")
    var blockSize = ByteCount(argument: "4M")!

    @Option(help: "Read the file as it was in this snapshot id.")
    var snapshot: UInt64?

    func validate() throws {
        guard path.hasPrefix("/") else { throw ValidationError("PATH must be absolute, e.g. /dir/file") }
        guard (1 ... 64).contains(parallel) else { throw ValidationError("--parallel must be 1 to 64") }
        guard blockSize.bytes <= 256 << 20 else { throw ValidationError("--block-size must be at most 256M") }
    }

    func run() async throws {
        let logger = connection.bootstrapLogging()
        let client: QumuloClient
        do {
            client = try connection.makeClient(logger: logger)
        } catch {
            Qfuse.fail(error)
        }
        do {
            let file = try await client.attributes(of: .path(path), snapshot: snapshot)
            guard file.type == .file else {
                throw QumuloClientError(code: .invalidArgument, message: "\(path) is not a regular file")
            }
            try await client.readSequentially(
                .id(file.id), size: file.size, blockSize: blockSize.bytes, inFlight: parallel, snapshot: snapshot
            ) { block in
                try block.withUnsafeReadableBytes(Terminal.writeToStandardOutput)
            }
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            Qfuse.fail(error)
        }
    }
}
