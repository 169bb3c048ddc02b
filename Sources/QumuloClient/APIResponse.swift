import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// Where a successful answer's body goes as it arrives, on the connection's event loop.
///
/// Taking the bytes there, rather than in a task the event loop wakes for every chunk, saves a thread switch per
/// chunk and, above all, frees the TLS layer's read buffer before the connection's next read: NIOSSL reuses one
/// buffer per connection and copies it whole when a chunk of it is still held downstream (profiled: that copy
/// alone cost more CPU than the read's own copy into its block).
struct BodySink: Sendable {
    /// Sees the answer's headers before any of its body; throwing refuses the answer.
    var begin: @Sendable (HTTPHeaders) throws -> Void
    var consume: @Sendable (ByteBuffer) throws -> Void
}

/// One attempt's answer: its head, and its body unless a ``BodySink`` took it.
struct APIResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: ByteBuffer

    var etag: String? { headers.first(name: "ETag") }

    /// The body decoded as JSON.
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw QumuloClientError(code: .invalidResponse, message: "undecodable \(Value.self): \(error)", cause: error)
        }
    }
}

/// Receives one attempt's answer. AsyncHTTPClient calls a delegate on the request's event loop, one call at a
/// time; the lock is for the task that reads the byte count when the attempt ends.
final class ResponseDelegate: HTTPClientResponseDelegate {
    private struct State {
        var status: Int?
        var headers = HTTPHeaders()
        var body = ByteBuffer()
        var bytes = 0
        var streaming = false
        /// The longest body gathered, once the status tells which kind of answer it is.
        var bodyLimit = 0
    }

    /// Longest body gathered for a successful answer that has no sink (JSON).
    private let limit: Int
    /// Longest body gathered for a refusal: its error description.
    private static let refusalLimit = 1 << 20
    private let sink: BodySink?
    /// Called once the server has answered, whatever becomes of the attempt afterwards.
    private let answered: @Sendable () -> Void
    private let state = Mutex(State())

    init(sink: BodySink?, limit: Int, answered: @escaping @Sendable () -> Void) {
        self.sink = sink
        self.limit = limit
        self.answered = answered
    }

    /// Body bytes received so far, for the attempt's log line and the counters.
    var bytesReceived: Int { state.withLock { $0.bytes } }

    func didReceiveHead(task: HTTPClient.Task<APIResponse>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        answered()
        let status = Int(head.status.code)
        let success = (200 ..< 300).contains(status)
        let streaming = sink != nil && success
        state.withLock { state in
            state.status = status
            state.headers = head.headers
            state.streaming = streaming
            state.bodyLimit = success ? limit : Self.refusalLimit
        }
        do {
            if streaming { try sink?.begin(head.headers) }
            return task.eventLoop.makeSucceededVoidFuture()
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
    }

    func didReceiveBodyPart(task: HTTPClient.Task<APIResponse>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        do {
            try state.withLock { state throws in
                state.bytes += buffer.readableBytes
                if state.streaming {
                    try sink?.consume(buffer)
                    return
                }
                guard state.body.readableBytes + buffer.readableBytes <= state.bodyLimit else {
                    throw QumuloClientError(code: .invalidResponse, message: "the answer is larger than \(state.bodyLimit) bytes")
                }
                state.body.writeImmutableBuffer(buffer)
            }
            return task.eventLoop.makeSucceededVoidFuture()
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
    }

    func didFinishRequest(task: HTTPClient.Task<APIResponse>) throws -> APIResponse {
        state.withLock { APIResponse(status: $0.status ?? 0, headers: $0.headers, body: $0.body) }
    }
}
