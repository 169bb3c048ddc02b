import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import QumuloAPI
import QumuloSandbox

/// A real sandbox on a free loopback port with a client that trusts its self-signed certificate.
final class SandboxHarness: Sendable {
    static let password = "harness-password"

    let root: URL
    let port: Int
    let client: HTTPClient
    let token: String
    private let sandbox: Sandbox
    private let server: Task<Void, any Error>

    /// Starts a sandbox on `root` (a new temporary directory when nil) and logs in.
    static func start(root: URL? = nil) async throws -> SandboxHarness {
        let root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("qfuse-sandbox-test-\(UUID())")
        let (ready, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "sandbox-test")
        logger.logLevel = .warning
        let sandbox = try Sandbox(
            configuration: SandboxConfiguration(root: root, port: 0, password: password),
            logger: logger, handleSignals: false, onReady: { continuation.yield($0) })
        let server = Task { try await sandbox.run() }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HarnessError("the sandbox did not start") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(root.appendingPathComponent("tls/cert.pem").path)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            let login = try await Self.send(client, base: "https://127.0.0.1:\(port)", token: nil, .POST,
                                            "/v1/session/login", json: LoginRequest(username: "admin", password: password))
            let token = try JSONDecoder().decode(LoginResponse.self, from: login.body).bearerToken
            return SandboxHarness(root: root, port: port, client: client, token: token, sandbox: sandbox, server: server)
        } catch {
            try await client.shutdown()
            await sandbox.shutdown()
            _ = await server.result
            throw error
        }
    }

    private init(root: URL, port: Int, client: HTTPClient, token: String, sandbox: Sandbox, server: Task<Void, any Error>) {
        self.sandbox = sandbox
        self.root = root
        self.port = port
        self.client = client
        self.token = token
        self.server = server
    }

    /// Stops the server and the client; the root stays for a restart.
    func stop() async throws {
        try await client.shutdown()
        await sandbox.shutdown()
        try await server.value
    }

    /// Stops and deletes the root.
    func destroy() async throws {
        try await stop()
        try? FileManager.default.removeItem(at: root)
    }

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: body)
        }

        var error: APIErrorBody? { try? decode(APIErrorBody.self) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func send(
        _ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil, body: HTTPClientRequest.Body? = nil,
        headers: [(String, String)] = [], authenticated: Bool = true
    ) async throws -> Reply {
        try await Self.send(client, base: "https://127.0.0.1:\(port)", token: authenticated ? token : nil,
                            method, path, json: json, body: body, headers: headers)
    }

    private static func send(
        _ client: HTTPClient, base: String, token: String?, _ method: HTTPMethod, _ path: String,
        json: (any Encodable)? = nil, body: HTTPClientRequest.Body? = nil, headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(json)))
        } else if let body {
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = body
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 30)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    // Shorthands for the calls most tests make.

    func attributes(_ path: String) async throws -> FileAttributes {
        try await send(.GET, "/v1/files/\(FileRef.path(path).encodedSegment)/info/attributes").decode(FileAttributes.self)
    }

    @discardableResult
    func create(_ action: CreateEntryRequest.Action, in parent: String, _ name: String, oldPath: String? = nil) async throws -> Reply {
        try await send(.POST, "/v1/files/\(FileRef.path(parent).encodedSegment)/entries/",
                       json: CreateEntryRequest(action: action, name: name, oldPath: oldPath))
    }

    @discardableResult
    func write(_ path: String, _ bytes: [UInt8], offset: Int? = nil) async throws -> Reply {
        let query = offset.map { "?offset=\($0)" } ?? ""
        return try await send(offset == nil ? .PUT : .PATCH, "/v1/files/\(FileRef.path(path).encodedSegment)/data\(query)",
                              body: .bytes(ByteBuffer(bytes: bytes)))
    }

    func read(_ path: String, query: String = "") async throws -> [UInt8] {
        let reply = try await send(.GET, "/v1/files/\(FileRef.path(path).encodedSegment)/data\(query)")
        guard reply.status == 200 else { throw HarnessError("read \(path): \(reply.status) \(reply.text)") }
        return Array(reply.body)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Bytes whose value at every offset is known, so a misplaced range shows.
func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0 ..< count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ Int(seed)) }
}

/// Runs `body` against a fresh sandbox and always tears it down, pass or fail.
func withSandbox(_ body: (SandboxHarness) async throws -> Void) async throws {
    let sandbox = try await SandboxHarness.start()
    do {
        try await body(sandbox)
    } catch {
        try await sandbox.destroy()
        throw error
    }
    try await sandbox.destroy()
}
