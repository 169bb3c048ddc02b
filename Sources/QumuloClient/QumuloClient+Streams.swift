import NIOCore
import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `GET streams/`: the named streams (SMB alternate data streams); the default stream `"0"` is not listed.
    /// Read one's bytes with ``read(_:offset:length:snapshot:stream:)`` and its id.
    public func streams(of ref: FileRef, snapshot: UInt64? = nil) async throws -> [NamedStream] {
        let path = ref.filesPath + "/streams/" + query(("snapshot", snapshot.map(String.init)))
        return try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: [NamedStream].self).value
    }

    /// `POST streams/`: a new empty stream. Sent once: a retry would make a second stream or fail as existing.
    public func createStream(on ref: FileRef, name: String, ifMatch: String? = nil) async throws -> Tagged<NamedStream> {
        let request = APIRequest(.POST, ref.filesPath + "/streams/", body: try json(StreamNameRequest(streamName: name)),
                                 ifMatch: ifMatch, retry: .never)
        return try await perform(request, decoding: NamedStream.self)
    }

    /// `GET streams/{id}/attributes`.
    public func streamAttributes(of ref: FileRef, stream: String, snapshot: UInt64? = nil) async throws -> NamedStream {
        let path = streamPath(ref, stream) + "/attributes" + query(("snapshot", snapshot.map(String.init)))
        return try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: NamedStream.self).value
    }

    /// `POST streams/{id}/rename`. Sent once: after a lost answer the old name is gone.
    public func renameStream(
        on ref: FileRef, stream: String, to name: String, ifMatch: String? = nil
    ) async throws -> Tagged<NamedStream> {
        let request = APIRequest(.POST, streamPath(ref, stream) + "/rename", body: try json(StreamNameRequest(streamName: name)),
                                 ifMatch: ifMatch, retry: .never)
        return try await perform(request, decoding: NamedStream.self)
    }

    /// `DELETE streams/{id}`; stream ids are not reused, so it is retried.
    public func deleteStream(on ref: FileRef, stream: String, ifMatch: String? = nil) async throws {
        try await performIgnoringBody(APIRequest(.DELETE, streamPath(ref, stream), ifMatch: ifMatch, retry: .idempotent))
    }

    /// `PATCH streams/{id}/data?offset=`, like ``write(_:offset:_:ifMatch:)`` for a named stream.
    public func writeStream(
        on ref: FileRef, stream: String, offset: UInt64, _ data: ByteBuffer, ifMatch: String? = nil
    ) async throws -> Tagged<NamedStream> {
        try await sendData(.PATCH, streamPath(ref, stream) + "/data" + query(("offset", String(offset))), data,
                           ifMatch: ifMatch, answer: NamedStream.self)
    }

    /// `PUT streams/{id}/data`: the stream's whole new contents.
    public func replaceStream(
        on ref: FileRef, stream: String, with data: ByteBuffer, ifMatch: String? = nil
    ) async throws -> Tagged<NamedStream> {
        try await sendData(.PUT, streamPath(ref, stream) + "/data", data, ifMatch: ifMatch, answer: NamedStream.self)
    }

    private func streamPath(_ ref: FileRef, _ stream: String) -> String {
        ref.filesPath + "/streams/" + PercentEncoding.encode(stream)
    }
}
