import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientSnapshotTests {
    @Test func snapshotsListGetReadDiffAndDelete() async throws {
        try await withClient { client, _ in
            let dir = try await client.createDirectory(in: .path("/"), name: "d")
            let file = try await client.createFile(in: .id(dir.id), name: "f")
            _ = try await client.replace(.id(file.id), with: ByteBuffer(string: "before"))
            let older = try await client.createSnapshot(of: dir.id, nameSuffix: "first")
            #expect(older.name == "\(older.id)_first" && older.sourceFileID == dir.id && older.expiration == nil)

            _ = try await client.replace(.id(file.id), with: ByteBuffer(string: "after!"))
            for index in 0 ..< 5 { _ = try await client.createFile(in: .id(dir.id), name: "new \(index)") }
            let newer = try await client.createSnapshot(of: dir.id)
            #expect(Set(try await client.snapshots().map(\.id)) == [older.id, newer.id])
            #expect(try await client.snapshot(id: older.id) == older)

            let then = try await client.read(.id(file.id), offset: 0, length: 100, snapshot: older.id)
            #expect(String(buffer: then) == "before")
            #expect(try await client.attributes(of: .path("/d/f"), snapshot: older.id).size == 6)
            let listedThen = try await client.entries(of: .id(dir.id), snapshot: older.id).reduce(into: [String]()) { $0.append($1.name) }
            #expect(listedThen == ["f"])

            let changes = try await client.snapshotChanges(newer: newer.id, older: older.id, pageSize: 2)
            #expect(changes.contains(SnapshotTreeChange(op: .modify, path: "/d/f")))
            #expect(changes.filter { $0.op == .create }.count == 5)

            try await client.deleteSnapshot(id: older.id)
            #expect(try await client.snapshots().map(\.id) == [newer.id])
            let gone = await #expect(throws: QumuloClientError.self) {
                _ = try await client.read(.id(file.id), offset: 0, length: 100, snapshot: older.id)
            }
            #expect(gone?.code == .api)
        }
    }
}
