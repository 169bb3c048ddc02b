import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import QumuloAPI

/// Turns every failure into the JSON error body Qumulo sends, and logs one line per request.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = SandboxRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let failure = Self.sandboxError(for: error)
            if failure.status.code >= 500 {
                logger.error("request failed", metadata: [
                    "http.method": "\(request.method)", "http.path": "\(request.uri.path)", "error": "\(error)",
                ])
            }
            var answer = try JSONResponse.make(failure.body, status: failure.status)
            answer.headers.append(contentsOf: failure.headers)
            response = answer
        }
        logger.debug("request", metadata: [
            "http.method": "\(request.method)", "http.path": "\(request.uri.path)",
            "http.status": "\(response.status.code)", "latency": "\(ContinuousClock.now - start)",
        ])
        return response
    }

    static func sandboxError(for error: any Error) -> SandboxError {
        switch error {
        case let error as SandboxError:
            return error
        case let error as HTTPError:
            let errorClass = switch error.status {
            case .notFound: ErrorClass.notFound
            case .methodNotAllowed: ErrorClass.methodNotAllowed
            case .contentTooLarge: ErrorClass.payloadTooLarge
            case .unauthorized: ErrorClass.unauthorized
            default: "http_error"
            }
            let message = error.body ?? (error.status == .notFound ? "no such endpoint" : error.status.reasonPhrase)
            return SandboxError(status: error.status, errorClass: errorClass, message: message, module: "http")
        case let error as DecodingError:
            return .decode("invalid request body: \(Self.describe(error))")
        case let error as HTTPParserError:
            // The body broke off mid-stream (a malformed chunk-size line, say): the client's fault, not ours.
            return .invalidRequest("malformed request body: \(error)")
        default:
            return SandboxError(status: .internalServerError, errorClass: "internal_error", message: "\(error)", module: "sandbox")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context),
             .keyNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// Requires a live session's bearer token on every call but login and version.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = SandboxRequestContext
    let store: Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/v1/session/login" || path == "/v1/version" {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw SandboxError.unauthorized()
        }
        guard try await store.isValidSession(String(header.dropFirst("Bearer ".count))) else {
            throw SandboxError.unauthorized("The bearer token is invalid or has expired; log in again.")
        }
        return try await next(request, context)
    }
}

/// JSON in and out, with Qumulo's conventions.
enum JSONResponse {
    /// Bodies of JSON requests beyond this get 413; data bodies have their own limit.
    static let maxRequestBytes = 1 << 20

    static func make(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, etag: String? = nil
    ) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var headers: HTTPFields = [.contentType: "application/json"]
        if let etag { headers[.eTag] = etag }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// An empty 200, as deletes answer.
    static func empty(etag: String? = nil) -> Response {
        var headers: HTTPFields = [:]
        if let etag { headers[.eTag] = etag }
        return Response(status: .ok, headers: headers)
    }

    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxRequestBytes)
        } catch is NIOTooManyBytesError {
            throw SandboxError.payloadTooLarge(limit: maxRequestBytes)
        }
        return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
    }
}
