import Hummingbird
import NIOCore
import QumuloAPI
#if canImport(Glibc)
import Glibc
#endif

extension SandboxRoutes {
    /// Largest data body one PUT or PATCH may carry; beyond it the request gets 413 and nothing changes.
    static let maxDataBodyBytes: Int64 = 16 << 30
    /// Bytes read from a blob per response chunk: large enough to keep a fast link busy, small enough to stream.
    static let readChunkBytes = 1 << 20

    func registerData(on router: Router<SandboxRequestContext>) {
        for prefix in ["/v1/files/:ref", "/v1/files/:ref/streams/:sid"] {
            let addressesStream = prefix.hasSuffix(":sid")
            @Sendable func streamOf(_ context: SandboxRequestContext) throws -> StreamSelector {
                addressesStream ? try stream(context) : .main
            }
            router.get("\(prefix)/data") { request, context in
                try await readData(request, ref: try ref(context), stream: try streamOf(context))
            }
            router.put("\(prefix)/data") { request, context in
                try await writeData(request, ref: try ref(context), stream: try streamOf(context), placement: .replace)
            }
            router.patch("\(prefix)/data") { request, context in
                let offset = try integer(request, "offset") ?? 0
                guard offset <= Store.maxFileSize else { throw SandboxError.invalidOffset(offset, count: 0) }
                return try await writeData(request, ref: try ref(context), stream: try streamOf(context), placement: .at(offset))
            }
            router.post("\(prefix)/punch-hole") { request, context in
                let body = try await JSONResponse.decode(PunchHoleRequest.self, from: request)
                guard body.offset <= UInt64(Int64.max), body.size <= UInt64(Int64.max) - body.offset else {
                    throw SandboxError.invalidRequest("offset and size must fit in 63 bits")
                }
                let attributes = try await store.punchHole(
                    try ref(context), stream: try streamOf(context), offset: Int64(body.offset), size: Int64(body.size),
                    ifMatch: ifMatch(request))
                try await holdWriteAnswer()
                return try JSONResponse.make(attributes.value, etag: attributes.etag)
            }
            router.post("\(prefix)/copy-chunk") { request, context in
                let body = try await JSONResponse.decode(CopyChunkRequest.self, from: request)
                let result = try await store.copyChunk(
                    into: try ref(context), stream: try streamOf(context), body, ifMatch: ifMatch(request))
                try await holdWriteAnswer()
                // Done is an empty body; the SDK asserts the ETag on every answer.
                guard let next = result.value else { return JSONResponse.empty(etag: result.etag) }
                return try JSONResponse.make(next, etag: result.etag)
            }
        }
    }

    private func readData(_ request: Request, ref: FileRef, stream: StreamSelector) async throws -> Response {
        let source = try await store.openData(
            ref, stream: stream, in: try await view(request), offset: try integer(request, "offset") ?? 0,
            length: try integer(request, "length"))
        let headers: HTTPFields = [.contentType: "application/octet-stream", .eTag: source.etag]
        switch source.value {
        case .bytes(let bytes):
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case let .blob(descriptor, offset, length):
            let body = ResponseBody(contentLength: Int(length)) { writer in
                defer { close(descriptor) }
                var position = offset
                let end = offset + length
                while position < end {
                    let count = Int(min(Int64(Self.readChunkBytes), end - position))
                    var buffer = ByteBufferAllocator().buffer(capacity: count)
                    var failure: Int32 = 0
                    let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
                        var read = -1
                        repeat {
                            read = pread(descriptor, bytes.baseAddress, count, off_t(position))
                        } while read < 0 && errno == EINTR
                        failure = read < 0 ? errno : 0
                        return max(0, read)
                    }
                    // A failed read must break the response, never pass for zeros inside a 200.
                    if failure != 0 { throw StorageError(operation: "read blob", code: failure) }
                    // The blob shrank under a concurrent truncate: what is gone reads as zeros, as the length promised.
                    if read == 0 { buffer.writeRepeatingByte(0, count: count) }
                    position += Int64(buffer.readableBytes)
                    try await writer.write(buffer)
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
    }

    private func writeData(
        _ request: Request, ref: FileRef, stream: StreamSelector, placement: WritePlacement
    ) async throws -> Response {
        let spool = try Spool(in: store.blobs)
        defer { spool.close() }
        for try await buffer in request.body {
            let count = spool.count + Int64(buffer.readableBytes)
            guard count <= Self.maxDataBodyBytes else {
                throw SandboxError.payloadTooLarge(limit: Int(Self.maxDataBodyBytes))
            }
            if case .at(let offset) = placement, count > Store.maxFileSize - offset {
                throw SandboxError.invalidOffset(offset, count: count)
            }
            try buffer.withUnsafeReadableBytes { try spool.append($0) }
        }
        let attributes = try await store.writeData(ref, stream: stream, spool: spool, placement: placement, ifMatch: ifMatch(request))
        try await holdWriteAnswer()
        return try JSONResponse.make(attributes.value, etag: attributes.etag)
    }
}
