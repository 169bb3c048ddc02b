import Foundation
import Hummingbird
import QumuloAPI

/// The REST endpoints, one registration function per family; each handler parses, calls the store, encodes.
struct SandboxRoutes: Sendable {
    let store: Store
    let credentials: Credentials
    /// Holds the answers to writes when the configuration asks for it (a test fault).
    let writeAnswerDelay: AnswerDelayer?

    func register(on router: Router<SandboxRequestContext>) {
        registerSession(on: router)
        registerFiles(on: router)
        registerData(on: router)
        registerStreams(on: router)
        registerUserMetadata(on: router)
        registerSnapshots(on: router)
    }
}

/// Reading the parts of a request every family uses.
extension SandboxRoutes {
    /// The `{ref}` segment, still percent-encoded as routed (Hummingbird routes on the raw path): decoded here,
    /// once, so `%252F` stays the three characters `%2F`.
    func ref(_ context: SandboxRequestContext, _ name: String = "ref") throws -> FileRef {
        guard let raw = context.parameters.get(name), let ref = FileRef(encodedSegment: raw) else {
            throw SandboxError.invalidRequest("malformed file reference")
        }
        try Lookup.refuseNUL(ref.description)
        return ref
    }

    /// A percent-encoded path segment other than the ref (an entry name, a metadata key), decoded once.
    func segment(_ context: SandboxRequestContext, _ name: String) throws -> String {
        guard let raw = context.parameters.get(name), let decoded = PercentEncoding.decode(raw) else {
            throw SandboxError.invalidRequest("malformed \(name)")
        }
        try Lookup.refuseNUL(decoded)
        return decoded
    }

    func stream(_ context: SandboxRequestContext) throws -> StreamSelector {
        guard let raw = context.parameters.get("sid"), let stream = StreamSelector(segment: raw) else {
            throw SandboxError.invalidRequest("malformed stream id")
        }
        return stream
    }

    func namedStream(_ context: SandboxRequestContext) throws -> Int64 {
        guard case .named(let sid) = try stream(context) else {
            throw SandboxError.invalidRequest("stream 0 is the file's default stream, not a named one")
        }
        return sid
    }

    /// An integer query parameter, or nil when absent.
    func integer(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw SandboxError.invalidRequest("\(name)=\(text) is not a non-negative integer")
        }
        return value
    }

    /// The view the `snapshot` query parameter selects.
    func view(_ request: Request) async throws -> View {
        let snapshot = try integer(request, "snapshot").map(UInt64.init)
        return try await store.read { db in try Store.view(db, snapshot: snapshot) }
    }

    func pageLimit(_ request: Request) throws -> Int {
        let limit = try integer(request, "limit") ?? Int64(Self.defaultPageSize)
        return Int(min(max(limit, 1), Int64(Self.maxPageSize)))
    }

    /// Entries per page when the client does not say.
    static let defaultPageSize = 1000
    /// "The system may choose a smaller limit": bounds the memory one page takes.
    static let maxPageSize = 10_000

    /// The `paging.next` URI: the request's own path and query with `after` replaced, so every parameter
    /// (`limit`, `snapshot`, `smb-pattern`, ...) carries over, as the SDK needs.
    func nextPage(of request: Request, after cursor: String?) -> String? {
        guard let cursor else { return nil }
        var query = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("after=") }.map(String.init)
        query.append("after=" + PercentEncoding.encode(Self.encodeCursor(cursor)))
        return request.uri.path + "?" + query.joined(separator: "&")
    }

    /// Cursors are opaque to clients: base64url of the last name returned.
    static func encodeCursor(_ value: String) -> String {
        Data(value.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func cursor(_ request: Request) throws -> String? {
        guard let token = request.uri.queryParameters.get("after"), !token.isEmpty else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let value = String(data: data, encoding: .utf8) else {
            throw SandboxError.invalidRequest("after=\(token) is not a cursor this server issued")
        }
        return value
    }

    func ifMatch(_ request: Request) -> String? {
        request.headers[.ifMatch]
    }

    /// After a write is applied and before it is answered: the configured delay, if any.
    func holdWriteAnswer() async throws {
        try await writeAnswerDelay?.hold()
    }
}
