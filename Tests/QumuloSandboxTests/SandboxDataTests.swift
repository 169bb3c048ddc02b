import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import QumuloAPI
import Testing

@Suite struct SandboxDataTests {
    @Test func writesAtOffsetsZeroExtendAndReadsTakeRanges() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            try await sandbox.write("/f", pattern(1000))
            let extended = try await sandbox.write("/f", pattern(10, seed: 7), offset: 5000).decode(FileAttributes.self)
            #expect(extended.size == 5010)
            let all = try await sandbox.read("/f")
            #expect(Array(all[0 ..< 1000]) == pattern(1000))
            #expect(all[1000 ..< 5000].allSatisfy { $0 == 0 })
            #expect(Array(all[5000...]) == pattern(10, seed: 7))
            #expect(try await sandbox.read("/f", query: "?offset=990&length=20") == Array(all[990 ..< 1010]))
            #expect(try await sandbox.read("/f", query: "?offset=5005") == Array(all[5005...]))
            #expect(try await sandbox.read("/f", query: "?offset=9999&length=5").isEmpty)
            let replaced = try await sandbox.write("/f", Array("short".utf8)).decode(FileAttributes.self)
            #expect(replaced.size == 5)
            #expect(try await sandbox.read("/f") == Array("short".utf8))
        }
    }

    @Test func chunkedBodiesOfManyMegabytesArriveWhole() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "big")
            let chunks = (0 ..< 40).map { pattern(128 * 1024, seed: UInt8($0)) }
            // No length given: AsyncHTTPClient sends Transfer-Encoding: chunked, as qq does.
            let body = HTTPClientRequest.Body.stream(ChunkSequence(chunks: chunks.map { ByteBuffer(bytes: $0) }), length: .unknown)
            let reply = try await sandbox.send(.PUT, "/v1/files/%2Fbig/data", body: body)
            #expect(reply.status == 200)
            #expect(try reply.decode(FileAttributes.self).size == 40 * 128 * 1024)
            #expect(try await sandbox.read("/big") == chunks.flatMap { $0 })
        }
    }

    @Test func aBodyThatFailsHalfwayChangesNothing() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            try await sandbox.write("/f", pattern(4096))
            let before = try await sandbox.attributes("/f")
            let failing = ChunkSequence(chunks: Array(repeating: ByteBuffer(repeating: 0xEE, count: 64 * 1024), count: 8), failsAtEnd: true)
            await #expect(throws: (any Error).self) {
                _ = try await sandbox.send(.PATCH, "/v1/files/%2Ff/data?offset=0",
                                           body: .stream(failing, length: .unknown))
            }
            #expect(try await sandbox.read("/f") == pattern(4096))
            let after = try await sandbox.attributes("/f")
            #expect(after.dataRevision == before.dataRevision && after.modificationTime == before.modificationTime)
            let spool = sandbox.root.appendingPathComponent("spool").path
            try await waitUntil { try FileManager.default.contentsOfDirectory(atPath: spool).isEmpty }
        }
    }

    @Test func ifMatchGuardsEveryConditionalWrite() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            let first = try await sandbox.write("/f", Array("one".utf8))
            let etag = try #require(first.headers.first(name: "ETag"))
            let read = try await sandbox.send(.GET, "/v1/files/%2Ff/data")
            #expect(read.headers.first(name: "ETag") == etag)
            let change = SetAttributesRequest(mode: FileMode(rawValue: 0o600))
            let ok = try await sandbox.send(.PATCH, "/v1/files/%2Ff/info/attributes", json: change, headers: [("If-Match", etag)])
            #expect(ok.status == 200)
            #expect(ok.headers.first(name: "ETag") != etag)
            let stale = try await sandbox.send(.PATCH, "/v1/files/%2Ff/data?offset=0", body: .bytes(ByteBuffer(string: "two")),
                                               headers: [("If-Match", etag)])
            #expect(stale.status == 412)
            #expect(try await sandbox.read("/f") == Array("one".utf8))
        }
    }

    @Test func setAttributesTruncatesExtendsAndMapsOwners() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            try await sandbox.write("/f", pattern(10_000))
            let time = Timestamp(rfc3339: "2020-05-06T07:08:09.123456789Z")!
            let change = SetAttributesRequest(
                ownerDetails: IdentityDetails(idType: .nfsUID, idValue: "1000"),
                groupDetails: IdentityDetails(idType: .nfsGID, idValue: "100"), size: 100,
                accessTime: time, modificationTime: time, extendedAttributes: ["hidden": true])
            let changed = try await sandbox.send(.PATCH, "/v1/files/%2Ff/info/attributes", json: change)
                .decode(FileAttributes.self)
            #expect(changed.size == 100 && changed.owner == AuthID.nfsUID(1000) && changed.group == AuthID.nfsGID(100))
            #expect(changed.ownerDetails == IdentityDetails(idType: .nfsUID, idValue: "1000"))
            #expect(changed.modificationTime == time && changed.accessTime == time)
            #expect(changed.extendedAttributes?.hidden == true)
            #expect(try await sandbox.read("/f") == Array(pattern(10_000).prefix(100)))
            let grown = try await sandbox.send(.PATCH, "/v1/files/%2Ff/info/attributes", json: SetAttributesRequest(size: 3 << 20))
            #expect(try grown.decode(FileAttributes.self).size == 3 << 20)
            let bytes = try await sandbox.read("/f")
            #expect(bytes.count == 3 << 20 && bytes[100...].allSatisfy { $0 == 0 })
            let punched = try await sandbox.send(.POST, "/v1/files/%2Ff/punch-hole", json: PunchHoleRequest(offset: 10, size: 20))
            #expect(try punched.decode(FileAttributes.self).size == 3 << 20)
            let after = try await sandbox.read("/f", query: "?length=100")
            #expect(after[10 ..< 30].allSatisfy { $0 == 0 } && Array(after[30 ..< 100]) == Array(pattern(100)[30...]))
        }
    }

    @Test func copyChunkCopiesServerSideInBoundedSteps() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "src")
            try await sandbox.create(.createFile, in: "/", "dst")
            let size = 70 << 20
            let source = pattern(size)
            try await sandbox.write("/src", source)
            let sourceID = try await sandbox.attributes("/src").id
            var body: CopyChunkRequest? = CopyChunkRequest(sourceID: sourceID)
            var calls = 0
            while let request = body {
                let reply = try await sandbox.send(.POST, "/v1/files/%2Fdst/copy-chunk", json: request)
                #expect(reply.status == 200)
                #expect(reply.headers.first(name: "ETag") != nil)
                body = reply.body.isEmpty ? nil : try reply.decode(CopyChunkRequest.self)
                calls += 1
            }
            #expect(calls == 2, "64 MiB per call, then the rest")
            #expect(try await sandbox.read("/dst") == source)
        }
    }

    @Test func namedStreamsAndUserMetadataRoundTrip() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            let stream = try await sandbox.send(.POST, "/v1/files/%2Ff/streams/", json: StreamNameRequest(streamName: "alt"))
                .decode(NamedStream.self)
            try await sandbox.send(.PUT, "/v1/files/%2Ff/streams/\(stream.id)/data", body: .bytes(ByteBuffer(string: "side")))
            #expect(try await sandbox.send(.GET, "/v1/files/%2Ff/streams/\(stream.id)/data").text == "side")
            #expect(try await sandbox.read("/f").isEmpty, "the default stream is untouched")
            let duplicate = try await sandbox.send(.POST, "/v1/files/%2Ff/streams/", json: StreamNameRequest(streamName: "alt"))
            #expect(duplicate.status == 409)
            try await sandbox.send(.POST, "/v1/files/%2Ff/streams/\(stream.id)/rename", json: StreamNameRequest(streamName: "new"))
            #expect(try await sandbox.send(.GET, "/v1/files/%2Ff/streams/").decode([NamedStream].self).map(\.name) == ["new"])
            #expect(try await sandbox.send(.DELETE, "/v1/files/%2Ff/streams/\(stream.id)").status == 200)

            let value = UserMetadataValue(value: Data("blue".utf8).base64EncodedString())
            #expect(try await sandbox.send(.PUT, "/v1/files/%2Ff/user-metadata/generic/col%2For", json: value).status == 200)
            #expect(try await sandbox.send(.POST, "/v1/files/%2Ff/user-metadata/generic/col%2For", json: value).status == 409)
            try await sandbox.send(.PUT, "/v1/files/%2Ff/user-metadata/s3/k", json: value)
            let got = try await sandbox.send(.GET, "/v1/files/%2Ff/user-metadata/generic/col%2For").decode(UserMetadataValue.self)
            #expect(got == value)
            var keys: [String] = []
            var next = "/v1/files/%2Ff/user-metadata/?limit=1"
            while !next.isEmpty {
                let page = try await sandbox.send(.GET, next).decode(UserMetadataPage.self)
                keys += page.entries.map { "\($0.type.rawValue):\($0.key)" }
                next = page.paging.next ?? ""
            }
            #expect(keys == ["GENERIC:col/or", "S3:k"])
            #expect(try await sandbox.attributes("/f").userMetadataRevision == 2)
        }
    }

    @Test func dataAndIDsSurviveARestart() async throws {
        let first = try await SandboxHarness.start()
        try await first.create(.createDirectory, in: "/", "keep")
        try await first.create(.createFile, in: "/keep", "f")
        try await first.write("/keep/f", pattern(300_000))
        let before = try await first.attributes("/keep/f")
        try await first.stop()
        let second = try await SandboxHarness.start(root: first.root)
        do {
            let after = try await second.attributes("/keep/f")
            #expect(after.id == before.id && after.size == before.size && after.modificationTime == before.modificationTime)
            #expect(try await second.read("/keep/f") == pattern(300_000))
            let old = try await second.send(.GET, "/v1/session/who-am-i", headers: [("Authorization", "Bearer \(first.token)")],
                                            authenticated: false)
            #expect(old.status == 200, "sessions outlive a restart, as a cluster's do")
            let next = try await second.create(.createFile, in: "/", "new").decode(FileAttributes.self)
            #expect(Int(next.id)! > Int(before.id)!, "ids are never reused")
        } catch {
            try await second.destroy()
            throw error
        }
        try await second.destroy()
    }
}

/// A streamed request body of known chunks that ends cleanly, or fails instead of ending, like a client that
/// dies mid-upload.
struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    var chunks: [ByteBuffer]
    var failsAtEnd = false

    struct UploadAborted: Error {}

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        let failsAtEnd: Bool

        mutating func next() async throws -> ByteBuffer? {
            if let chunk = remaining.popFirst() { return chunk }
            if failsAtEnd { throw UploadAborted() }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: chunks[...], failsAtEnd: failsAtEnd) }
}

/// Polls `condition` for up to five seconds: for effects that follow a request asynchronously.
func waitUntil(_ condition: () throws -> Bool) async throws {
    for _ in 0 ..< 50 {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    #expect(try condition())
}
