import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import QumuloAPI
import Synchronization

extension QumuloClient {
    /// `GET data` of `[offset, offset + length)` into one buffer sized for the whole range, filled in place as
    /// the body arrives: the read's one copy out of the connection's buffers.
    ///
    /// A broken attempt is resumed at the first missing byte. If the file's ETag changed in between, the range is
    /// read again from its start, so the bytes never mix two versions.
    ///
    /// - Parameters:
    ///   - stream: a named stream's id, to read it instead of the file's data.
    ///   - buffer: memory to fill, from a read whose bytes are no longer needed; its pages are already mapped,
    ///     which fresh memory of this size is not (the kernel zeroes every page on first touch).
    /// - Returns: the bytes read: fewer than asked only at the end of the file.
    public func read(
        _ ref: FileRef, offset: UInt64, length: Int, snapshot: UInt64? = nil, stream: String? = nil,
        reusing buffer: consuming ByteBuffer? = nil
    ) async throws -> ByteBuffer {
        guard length > 0 else { return ByteBuffer() }
        // Consumed, not copied: a second reference to the buffer would make the write below copy it first.
        var destination = (consume buffer) ?? ByteBufferAllocator().buffer(capacity: length)
        destination.clear(minimumCapacity: length)
        let range = RangeRead(consume destination)
        let path = ref.filesPath + (stream.map { "/streams/\(PercentEncoding.encode($0))" } ?? "") + "/data"
        let sink = BodySink(begin: { headers in try range.begin(version: headers.first(name: "ETag")) },
                            consume: { chunk in try range.append(chunk, limit: length) })
        try await perform({
            let filled = UInt64(range.filled)
            var request = APIRequest(
                .GET, path + query(("offset", String(offset + filled)), ("length", String(UInt64(length) - filled)),
                                   ("snapshot", snapshot.map(String.init))),
                retry: .idempotent)
            request.sink = sink
            return request
        }) { _ in }
        return range.take()
    }

    /// `PATCH data?offset=`: writes `data` at `offset`, zero-filling any gap past the end; the size never shrinks.
    /// Idempotent, so retried; `data` is a `ByteBuffer` so a retry sends the very same bytes.
    public func write(
        _ ref: FileRef, offset: UInt64, _ data: ByteBuffer, ifMatch: String? = nil
    ) async throws -> Tagged<FileAttributes> {
        try await sendData(.PATCH, ref.filesPath + "/data" + query(("offset", String(offset))), data, ifMatch: ifMatch)
    }

    /// `PUT data`: the file's whole new contents; the file must exist.
    public func replace(_ ref: FileRef, with data: ByteBuffer, ifMatch: String? = nil) async throws -> Tagged<FileAttributes> {
        try await sendData(.PUT, ref.filesPath + "/data", data, ifMatch: ifMatch)
    }

    /// `POST punch-hole`: the range reads as zeros afterwards and takes no space; the size does not change.
    /// Zeroing twice is zeroing once, so it is retried.
    public func punchHole(
        _ ref: FileRef, offset: UInt64, size: UInt64, ifMatch: String? = nil
    ) async throws -> Tagged<FileAttributes> {
        let request = APIRequest(.POST, ref.filesPath + "/punch-hole", body: try json(PunchHoleRequest(offset: offset, size: size)),
                                 ifMatch: ifMatch, retry: .idempotent)
        return try await perform(request, decoding: FileAttributes.self)
    }

    /// The `copy-chunk` loop: a server-side copy into `target`, posted again with the server's advanced body
    /// until it answers empty, each post conditional on the ETag the previous one returned.
    ///
    /// Not retried: a lost answer leaves the target at an ETag this loop cannot know, and the next post would
    /// fail with 412 rather than copy twice.
    ///
    /// - Parameter targetETag: the target's ETag to start from, if the copy must not overwrite later changes.
    /// - Returns: the target's ETag after the copy.
    @discardableResult
    public func copy(_ source: CopyChunkRequest, into target: FileRef, targetETag: String? = nil) async throws -> String? {
        var body: CopyChunkRequest? = source
        var etag = targetETag
        while let current = body {
            let request = APIRequest(.POST, target.filesPath + "/copy-chunk", body: try json(current), ifMatch: etag, retry: .never)
            (body, etag) = try await perform(request) { response -> (CopyChunkRequest?, String?) in
                guard response.body.readableBytes > 0 else { return (nil, response.etag) }
                return (try response.decode(CopyChunkRequest.self), response.etag)
            }
        }
        return etag
    }

    /// A data PUT or PATCH with its answer, the attributes of the file or named stream written.
    func sendData<Answer: Decodable & Sendable>(
        _ method: HTTPMethod, _ path: String, _ data: ByteBuffer, ifMatch: String?, answer: Answer.Type = FileAttributes.self
    ) async throws -> Tagged<Answer> {
        let request = APIRequest(method, path, body: data, contentType: "application/octet-stream", ifMatch: ifMatch,
                                 retry: .idempotent)
        return try await perform(request, decoding: answer)
    }
}

/// The bytes of one ranged read as its attempts deliver them, on the connection's event loop, and where a resumed
/// attempt starts. The lock orders the event loop's writes before the task's reads.
private final class RangeRead: Sendable {
    private struct State {
        var buffer: ByteBuffer
        var version: String?
    }

    private let state: Mutex<State>

    init(_ buffer: consuming ByteBuffer) {
        state = Mutex(State(buffer: consume buffer))
    }

    var filled: Int { state.withLock { $0.buffer.readableBytes } }

    /// An attempt's answer begins: a resumed one must be of the version the bytes so far came from.
    func begin(version: String?) throws {
        try state.withLock { state throws in
            if state.buffer.readableBytes > 0, version != state.version {
                state.buffer.clear()
                throw QumuloClientError(code: .changedDuringRead, message: "the file changed while its read was resumed")
            }
            state.version = version
        }
    }

    func append(_ chunk: ByteBuffer, limit: Int) throws {
        try state.withLock { state throws in
            guard chunk.readableBytes <= limit - state.buffer.readableBytes else {
                throw QumuloClientError(code: .invalidResponse, message: "the server sent more than the \(limit) bytes asked for")
            }
            state.buffer.writeImmutableBuffer(chunk)
        }
    }

    func take() -> ByteBuffer {
        state.withLock { state in
            let buffer = state.buffer
            state.buffer = ByteBuffer()
            return buffer
        }
    }
}
