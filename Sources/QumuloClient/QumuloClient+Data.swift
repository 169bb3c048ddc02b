import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `GET data`: reads up to `destination.count` bytes at `offset` straight into the caller's memory, the one
    /// copy from the connection's buffers; the FUSE read path hands the kernel's reply buffer here.
    ///
    /// A broken attempt is resumed at the first missing byte. If the file's ETag changed in between, the range is
    /// read again from its start, so the bytes never mix two versions.
    ///
    /// - Parameter stream: a named stream's id, to read it instead of the file's data.
    /// - Returns: the bytes read: fewer than asked only at the end of the file.
    public func read(
        _ ref: FileRef, offset: UInt64, into destination: UnsafeMutableRawBufferPointer,
        snapshot: UInt64? = nil, stream: String? = nil
    ) async throws -> Int {
        try await readRange(ref, offset: offset, length: destination.count, snapshot: snapshot, stream: stream,
                            restart: {}) { chunk, position in
            chunk.withUnsafeReadableBytes { bytes in
                UnsafeMutableRawBufferPointer(rebasing: destination[position ..< position + bytes.count]).copyMemory(from: bytes)
            }
        }
    }

    /// `GET data` into a new buffer sized for the whole range, filled in place as the body arrives.
    public func read(
        _ ref: FileRef, offset: UInt64, length: Int, snapshot: UInt64? = nil, stream: String? = nil
    ) async throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        _ = try await readRange(ref, offset: offset, length: length, snapshot: snapshot, stream: stream,
                                restart: { buffer.clear() }) { chunk, _ in
            buffer.writeImmutableBuffer(chunk)
        }
        return buffer
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
        let limit = configuration.maxJSONResponseBytes
        while let current = body {
            let request = APIRequest(.POST, target.filesPath + "/copy-chunk", body: try json(current), ifMatch: etag, retry: .never)
            (body, etag) = try await perform(request) { response -> (CopyChunkRequest?, String?) in
                let answer = try await response.collect(upTo: limit)
                guard answer.readableBytes > 0 else { return (nil, response.etag) }
                return (try JSONDecoder().decode(CopyChunkRequest.self, from: answer), response.etag)
            }
        }
        return etag
    }

    /// The shared body of both reads: requests `[offset, offset + length)`, then after a broken attempt only the
    /// part still missing, and hands each chunk to `sink` with its position in the range.
    func readRange(
        _ ref: FileRef, offset: UInt64, length: Int, snapshot: UInt64?, stream: String?,
        restart: () -> Void, sink: (ByteBuffer, Int) throws -> Void
    ) async throws -> Int {
        guard length > 0 else { return 0 }
        let path = ref.filesPath + (stream.map { "/streams/\(PercentEncoding.encode($0))" } ?? "") + "/data"
        var filled = 0
        var version: String?
        return try await perform({
            APIRequest(.GET, path + query(("offset", String(offset + UInt64(filled))), ("length", String(length - filled)),
                                          ("snapshot", snapshot.map(String.init))),
                       retry: .idempotent)
        }) { response in
            if filled > 0, response.etag != version {
                filled = 0
                restart()
                throw QumuloClientError(code: .changedDuringRead, message: "the file changed while its read was resumed")
            }
            version = response.etag
            try await response.forEachChunk { chunk in
                guard chunk.readableBytes <= length - filled else {
                    throw QumuloClientError(code: .invalidResponse, message: "the server sent more than the \(length) bytes asked for")
                }
                try sink(chunk, filled)
                filled += chunk.readableBytes
            }
            return filled
        }
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
