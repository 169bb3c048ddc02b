import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import QumuloAPI
import QumuloSandbox
// Re-exported so every test file here sees `pattern` without importing the support module itself.
@_exported import SandboxTestSupport

/// A real sandbox on a free loopback port with a raw HTTP client that trusts its self-signed certificate.
final class SandboxHarness: Sendable {
    static let password = InProcessSandbox.password

    let client: HTTPClient
    let token: String
    private let server: InProcessSandbox

    var root: URL { server.root }
    var port: Int { server.port }

    /// Starts a sandbox on `root` (a new temporary directory when nil), holding at most `capacity` bytes of file
    /// data and holding answers to writes by `writeAnswerDelay` when given, and logs in.
    static func start(
        root: URL? = nil, capacity: Int64? = nil, writeAnswerDelay: AnswerDelay? = nil
    ) async throws -> SandboxHarness {
        let server = try await InProcessSandbox.start(root: root, capacity: capacity, writeAnswerDelay: writeAnswerDelay)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(server.certificatePath)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            let login = try await Self.send(client, base: server.url, token: nil, .POST,
                                            "/v1/session/login", json: LoginRequest(username: "admin", password: password))
            let token = try JSONDecoder().decode(LoginResponse.self, from: login.body).bearerToken
            return SandboxHarness(client: client, token: token, server: server)
        } catch {
            try await client.shutdown()
            try await server.stop()
            throw error
        }
    }

    private init(client: HTTPClient, token: String, server: InProcessSandbox) {
        self.client = client
        self.token = token
        self.server = server
    }

    /// Stops the server and the client; the root stays for a restart.
    func stop() async throws {
        try await client.shutdown()
        try await server.stop()
    }

    /// Stops and deletes the root.
    func destroy() async throws {
        try await client.shutdown()
        try await server.destroy()
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

    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil, body: HTTPClientRequest.Body? = nil,
        headers: [(String, String)] = [], authenticated: Bool = true
    ) async throws -> Reply {
        try await Self.send(client, base: server.url, token: authenticated ? token : nil,
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
        guard reply.status == 200 else { throw TestSupportError("read \(path): \(reply.status) \(reply.text)") }
        return Array(reply.body)
    }
}

/// Runs `body` against a fresh sandbox (with `capacity` and `writeAnswerDelay`, if given) and always tears it down,
/// pass or fail.
func withSandbox(
    capacity: Int64? = nil, writeAnswerDelay: AnswerDelay? = nil, _ body: (SandboxHarness) async throws -> Void
) async throws {
    let sandbox = try await SandboxHarness.start(capacity: capacity, writeAnswerDelay: writeAnswerDelay)
    do {
        try await body(sandbox)
    } catch {
        try await sandbox.destroy()
        throw error
    }
    try await sandbox.destroy()
}
