import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import QumuloAPI
import Testing

extension SandboxHarness {
    func stats() async throws -> FileSystemStats {
        try await send(.GET, "/v1/file-system").decode(FileSystemStats.self)
    }
}

@Suite struct SandboxCapacityTests {
    static let capacity: Int64 = 1 << 20

    @Test func writesBeyondTheCapacityFailWithNoSpaceAndChangeNothing() async throws {
        try await withSandbox(capacity: Self.capacity) { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            #expect(try await sandbox.write("/f", pattern(768 << 10)).status == 200)
            let stats = try await sandbox.stats()
            #expect(stats.totalSizeBytes == 1 << 20 && stats.freeSizeBytes == 256 << 10)
            let before = try await sandbox.attributes("/f")

            let refused = try await sandbox.write("/f", pattern(512 << 10, seed: 1), offset: 768 << 10)
            #expect(refused.status == 507)
            #expect(refused.error?.errorClass == ErrorClass.noSpace)
            let after = try await sandbox.attributes("/f")
            #expect(after.size == before.size && after.dataRevision == before.dataRevision)
            #expect(after.modificationTime == before.modificationTime)
            #expect(try await sandbox.read("/f") == pattern(768 << 10))
            #expect(try await sandbox.stats().freeSizeBytes == 256 << 10)

            #expect(try await sandbox.write("/f", pattern(512 << 10, seed: 2), offset: 0).status == 200,
                    "overwriting allocated blocks takes no space")
            #expect(try await sandbox.write("/f", pattern(1 << 20, seed: 3)).status == 200,
                    "a replacement counts the blob it frees")
            #expect(try await sandbox.stats().freeSizeBytes == 0)
            try await sandbox.create(.createFile, in: "/", "g")
            #expect(try await sandbox.write("/g", [1]).status == 507)
            try await sandbox.send(.DELETE, "/v1/files/%2Ff")
            #expect(try await sandbox.stats().freeSizeBytes == 1 << 20)
            #expect(try await sandbox.write("/g", [1]).status == 200)
            #expect(try await sandbox.stats().freeSizeBytes == (1 << 20) - 4096, "one block")
        }
    }

    @Test func copiesAndNamedStreamsCountAgainstTheCapacity() async throws {
        try await withSandbox(capacity: Self.capacity) { sandbox in
            try await sandbox.create(.createFile, in: "/", "src")
            try await sandbox.create(.createFile, in: "/", "dst")
            try await sandbox.write("/src", pattern(600 << 10))
            let sourceID = try await sandbox.attributes("/src").id
            let copy = try await sandbox.send(.POST, "/v1/files/%2Fdst/copy-chunk", json: CopyChunkRequest(sourceID: sourceID))
            #expect(copy.status == 507 && copy.error?.errorClass == ErrorClass.noSpace)
            #expect(try await sandbox.attributes("/dst").size == 0)
            let part = try await sandbox.send(
                .POST, "/v1/files/%2Fdst/copy-chunk", json: CopyChunkRequest(sourceID: sourceID, length: 256 << 10))
            #expect(part.status == 200)
            #expect(try await sandbox.read("/dst") == Array(pattern(600 << 10).prefix(256 << 10)))

            let stream = try await sandbox.send(.POST, "/v1/files/%2Fdst/streams/", json: StreamNameRequest(streamName: "alt"))
                .decode(NamedStream.self)
            let streamWrite = try await sandbox.send(
                .PUT, "/v1/files/%2Fdst/streams/\(stream.id)/data", body: .bytes(ByteBuffer(bytes: pattern(200 << 10))))
            #expect(streamWrite.status == 507 && streamWrite.error?.errorClass == ErrorClass.noSpace)
            #expect(try await sandbox.send(.GET, "/v1/files/%2Fdst/streams/\(stream.id)/attributes").decode(NamedStream.self).size == 0)
            #expect(try await sandbox.stats().freeSizeBytes == (1 << 20) - (856 << 10))
        }
    }

    @Test func snapshotsHoldSpaceAndCopyOnWriteNeedsRoomForTheCopy() async throws {
        try await withSandbox(capacity: Self.capacity) { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            try await sandbox.write("/f", pattern(512 << 10))
            let snap = try await sandbox.snapshot()
            #expect(try await sandbox.stats().freeSizeBytes == 512 << 10, "a snapshot shares the file's blob")
            try await sandbox.create(.createFile, in: "/", "g")
            try await sandbox.write("/g", pattern(4096))

            let refused = try await sandbox.write("/f", pattern(4096, seed: 1), offset: 0)
            #expect(refused.status == 507, "the first write after the snapshot copies the whole file")
            #expect(try await sandbox.read("/f") == pattern(512 << 10))
            try await sandbox.send(.DELETE, "/v1/files/%2Fg")
            #expect(try await sandbox.write("/f", pattern(4096, seed: 1), offset: 0).status == 200)
            #expect(try await sandbox.stats().freeSizeBytes == 0)

            try await sandbox.send(.DELETE, "/v1/files/%2Ff")
            #expect(try await sandbox.stats().freeSizeBytes == 512 << 10, "the snapshot still holds the old contents")
            #expect(try await sandbox.send(.DELETE, "/v3/snapshots/\(snap.id)").status == 202)
            try await waitUntil(seconds: 5) { try await sandbox.stats().freeSizeBytes == 1 << 20 }
        }
    }

    @Test func holesAreFreeAndShrinkingGivesSpaceBack() async throws {
        try await withSandbox(capacity: Self.capacity) { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            let grown = try await sandbox.send(.PATCH, "/v1/files/%2Ff/info/attributes", json: SetAttributesRequest(size: 1 << 30))
            #expect(grown.status == 200)
            #expect(try await sandbox.stats().freeSizeBytes == 1 << 20)
            #expect(try await sandbox.write("/f", pattern(8192), offset: 512 << 20).status == 200)
            #expect(try await sandbox.stats().freeSizeBytes == (1 << 20) - 8192)
            let punched = try await sandbox.send(.POST, "/v1/files/%2Ff/punch-hole", json: PunchHoleRequest(offset: 512 << 20, size: 4096))
            #expect(punched.status == 200)
            #expect(try await sandbox.stats().freeSizeBytes == (1 << 20) - 4096)
            try await sandbox.send(.PATCH, "/v1/files/%2Ff/info/attributes", json: SetAttributesRequest(size: 0))
            #expect(try await sandbox.stats().freeSizeBytes == 1 << 20)
            #expect(try await sandbox.write("/f", [1], offset: Int(Int64.max)).status == 400, "an end past 2^63 is refused")
        }
    }

    @Test func usageIsRecountedWhenTheStoreOpensWithACapacity() async throws {
        let first = try await SandboxHarness.start()
        try await first.create(.createFile, in: "/", "f")
        try await first.write("/f", pattern(300 << 10))
        #expect(try await first.stats().totalSizeBytes > 1 << 30, "without a capacity the disk is reported")
        try await first.stop()
        let second = try await SandboxHarness.start(root: first.root, capacity: Self.capacity)
        do {
            let stats = try await second.stats()
            #expect(stats.totalSizeBytes == 1 << 20 && stats.freeSizeBytes == (1 << 20) - (300 << 10))
            try await second.create(.createFile, in: "/", "g")
            #expect(try await second.write("/g", pattern(800 << 10)).status == 507)
            #expect(try await second.write("/g", pattern(700 << 10)).status == 200)
        } catch {
            try await second.destroy()
            throw error
        }
        try await second.destroy()
    }
}
