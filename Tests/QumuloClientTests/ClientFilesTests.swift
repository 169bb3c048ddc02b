import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientFilesTests {
    @Test func attributesGetAndSetWithETags() async throws {
        try await withClient { client, _ in
            let root = try await client.attributes(of: .path("/"))
            #expect(root.type == .directory && root.id == QumuloAPI.rootFileID)
            let created = try await client.createFile(in: .path("/"), name: "a file")
            #expect(created.etag != nil && created.path == "/a file")
            let change = SetAttributesRequest(mode: FileMode(rawValue: 0o600), size: 10)
            let changed = try await client.setAttributes(of: .id(created.id), change, ifMatch: created.etag)
            #expect(changed.mode.rawValue == 0o600 && changed.size == 10 && changed.etag != created.etag)
            let again = try await client.attributes(of: .path("/a file"))
            #expect(again.etag == changed.etag && again.size == 10)
        }
    }

    @Test func aStaleIfMatchIsATyped412() async throws {
        try await withClient { client, _ in
            let created = try await client.createFile(in: .path("/"), name: "f")
            _ = try await client.replace(.id(created.id), with: ByteBuffer(string: "one"))
            let error = await #expect(throws: QumuloClientError.self) {
                _ = try await client.write(.id(created.id), offset: 0, ByteBuffer(string: "two"), ifMatch: created.etag)
            }
            #expect(error?.code == .api && error?.status == 412)
            #expect(error?.method == "PATCH" && error?.path == "/v1/files/\(created.id)/data?offset=0")
            #expect(String(buffer: try await client.read(.id(created.id), offset: 0, length: 10)) == "one")
        }
    }

    @Test func namespaceOperations() async throws {
        try await withClient { client, _ in
            let dir = try await client.createDirectory(in: .path("/"), name: "d")
            #expect(dir.type == .directory)
            let file = try await client.createFile(in: .id(dir.id), name: "f")
            let link = try await client.createLink(in: .path("/"), name: "hard", to: "/d/f")
            #expect(link.id == file.id && link.numLinks == 2)
            let symlink = try await client.createSymlink(in: .path("/"), name: "s", target: "d/f")
            #expect(symlink.type == .symlink)
            #expect(String(buffer: try await client.read(.id(symlink.id), offset: 0, length: 100)) == "d/f")
            let fifo = try await client.createUnixFile(in: .path("/"), name: "p", type: .pipe)
            #expect(fifo.type == .pipe)
            let device = try await client.createUnixFile(
                in: .path("/"), name: "c", type: .characterDevice, device: MajorMinorNumbers(major: 1, minor: 3))
            #expect(device.majorMinorNumbers == MajorMinorNumbers(major: 1, minor: 3))

            let exists = await #expect(throws: QumuloClientError.self) {
                _ = try await client.createFile(in: .path("/d"), name: "f")
            }
            #expect(exists?.status == 409 && exists?.errorClass == ErrorClass.entryExists)

            let moved = try await client.rename("/d/f", to: .path("/"), name: "moved")
            #expect(moved.id == file.id)
            let clobbered = await #expect(throws: QumuloClientError.self) {
                _ = try await client.rename("/moved", to: .path("/"), name: "s", clobber: false)
            }
            #expect(clobbered?.status == 409)

            try await client.unlink("hard", from: .path("/"))
            try await client.delete(.id(file.id))
            try await client.delete(.path("/d"))
            let gone = await #expect(throws: QumuloClientError.self) { _ = try await client.attributes(of: .id(file.id)) }
            #expect(gone?.status == 404 && gone?.errorClass == ErrorClass.noSuchEntry)
            let names = try await client.entries(of: .path("/")).reduce(into: Set<String>()) { $0.insert($1.name) }
            #expect(names == ["s", "p", "c"])
        }
    }

    @Test func entriesPageThroughMoreThanOnePage() async throws {
        try await withClient { client, _ in
            let dir = try await client.createDirectory(in: .path("/"), name: "big")
            let names = (0 ..< 25).map { "file \($0)" }
            for name in names { _ = try await client.createFile(in: .id(dir.id), name: name) }
            let first = try await client.entriesPage(of: .id(dir.id), limit: 10)
            #expect(first.files.count == 10 && first.paging.hasNext && first.childCount == 25)
            let second = try await client.entriesPage(next: try #require(first.paging.next))
            #expect(second.files.count == 10)
            let requestsBefore = client.metrics.requests
            var seen: [String] = []
            for try await child in client.entries(of: .path("/big"), pageSize: 7) { seen.append(child.name) }
            #expect(seen.sorted() == names.sorted() && Set(seen).count == 25)
            #expect(client.metrics.requests - requestsBefore == 4)
        }
    }

    @Test func namedStreams() async throws {
        try await withClient { client, _ in
            let file = try await client.createFile(in: .path("/"), name: "f")
            let stream = try await client.createStream(on: .id(file.id), name: "s")
            #expect(stream.name == "s" && stream.size == 0)
            let written = try await client.writeStream(on: .id(file.id), stream: stream.id, offset: 0, ByteBuffer(string: "hello"))
            #expect(written.size == 5)
            let replaced = try await client.replaceStream(on: .id(file.id), stream: stream.id, with: ByteBuffer(string: "bye"))
            #expect(replaced.size == 3)
            let bytes = try await client.read(.id(file.id), offset: 0, length: 100, stream: stream.id)
            #expect(String(buffer: bytes) == "bye")
            let renamed = try await client.renameStream(on: .id(file.id), stream: stream.id, to: "t")
            #expect(renamed.name == "t")
            #expect(try await client.streamAttributes(of: .id(file.id), stream: stream.id).name == "t")
            #expect(try await client.streams(of: .id(file.id)).map(\.name) == ["t"])
            try await client.deleteStream(on: .id(file.id), stream: stream.id)
            #expect(try await client.streams(of: .id(file.id)).isEmpty)
        }
    }

    @Test func userMetadata() async throws {
        try await withClient { client, _ in
            let file = try await client.createFile(in: .path("/"), name: "f")
            try await client.setUserMetadata(of: .id(file.id), type: .generic, key: "colour/key", value: [0, 1, 255])
            try await client.setUserMetadata(of: .id(file.id), type: .s3, key: "k", value: Array("v".utf8))
            #expect(try await client.userMetadata(of: .id(file.id), type: .generic, key: "colour/key") == [0, 1, 255])
            let all = try await client.userMetadataEntries(of: .id(file.id))
            #expect(Set(all.map(\.key)) == ["colour/key", "k"])
            #expect(try await client.userMetadataEntries(of: .id(file.id), type: .s3).map(\.key) == ["k"])
            try await client.deleteUserMetadata(of: .id(file.id), type: .generic, key: "colour/key")
            let missing = await #expect(throws: QumuloClientError.self) {
                _ = try await client.userMetadata(of: .id(file.id), type: .generic, key: "colour/key")
            }
            #expect(missing?.status == 404)
        }
    }

    @Test func resolveStatsAndWhoAmI() async throws {
        try await withClient { client, _ in
            let dir = try await client.createDirectory(in: .path("/"), name: "d")
            let file = try await client.createFile(in: .id(dir.id), name: "f")
            let resolved = try await client.resolve(ids: [file.id, dir.id])
            #expect(resolved.map(\.path) == ["/d/f", "/d/"])
            let stats = try await client.fileSystemStats()
            #expect(stats.blockSizeBytes == 4096 && stats.totalSizeBytes >= stats.freeSizeBytes)
            #expect(try await client.whoAmI().name == "admin")
        }
    }
}
