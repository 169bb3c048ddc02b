import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A successful answer being received: its head, and its body read under the attempt's time limit.
struct APIResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: HTTPClientResponse.Body
    /// When the attempt must be over, however steadily bytes arrive.
    let deadline: ContinuousClock.Instant
    let meter: ByteMeter

    var etag: String? { headers.first(name: "ETag") }

    /// Hands each part of the body to `consume` as it arrives, without gathering it first.
    func forEachChunk(_ consume: (ByteBuffer) throws -> Void) async throws {
        for try await chunk in body {
            meter.bytes += chunk.readableBytes
            guard ContinuousClock.now < deadline else {
                throw QumuloClientError(code: .timeout, message: "the answer did not finish within the request timeout")
            }
            try consume(chunk)
        }
    }

    /// The whole body, refused beyond `limit` bytes.
    func collect(upTo limit: Int) async throws -> ByteBuffer {
        var whole = ByteBuffer()
        try await forEachChunk { chunk in
            guard whole.readableBytes + chunk.readableBytes <= limit else {
                throw QumuloClientError(code: .invalidResponse, message: "the answer is larger than \(limit) bytes")
            }
            whole.writeImmutableBuffer(chunk)
        }
        return whole
    }

    /// The body decoded as JSON.
    func decode<Value: Decodable>(_ type: Value.Type, limit: Int) async throws -> Value {
        let whole = try await collect(upTo: limit)
        do {
            return try JSONDecoder().decode(type, from: whole)
        } catch {
            throw QumuloClientError(code: .invalidResponse, message: "undecodable \(Value.self): \(error)", cause: error)
        }
    }
}

/// Bytes received by one attempt, for its log line and the counters. One task owns it.
final class ByteMeter {
    var bytes = 0
}
