import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import QumuloAPI
import Testing

/// Snapshot calls the tests make.
extension SandboxHarness {
    func snapshot(_ source: String = "/", suffix: String? = nil, expiration: Timestamp? = nil) async throws -> SnapshotInfo {
        let sourceID = try await attributes(source).id
        let reply = try await send(.POST, "/v3/snapshots/",
                                   json: CreateSnapshotRequest(nameSuffix: suffix, expiration: expiration, sourceFileID: sourceID))
        try #require(reply.status == 200, "snapshot: \(reply.text)")
        return try reply.decode(SnapshotInfo.self)
    }

    func attributes(_ path: String, snapshot: UInt64) async throws -> SandboxHarness.Reply {
        try await send(.GET, "/v1/files/\(FileRef.path(path).encodedSegment)/info/attributes?snapshot=\(snapshot)")
    }
}

@Suite struct SandboxSnapshotTests {
    @Test func aSnapshotKeepsEveryViewAsItWas() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createDirectory, in: "/", "d")
            try await sandbox.create(.createFile, in: "/d", "f")
            try await sandbox.write("/d/f", pattern(200_000))
            try await sandbox.create(.createFile, in: "/d", "gone")
            try await sandbox.send(.PUT, "/v1/files/%2Fd%2Ff/user-metadata/generic/k",
                                   json: UserMetadataValue(value: Data("v1".utf8).base64EncodedString()))
            let stream = try await sandbox.send(.POST, "/v1/files/%2Fd%2Ff/streams/", json: StreamNameRequest(streamName: "s"))
                .decode(NamedStream.self)
            try await sandbox.send(.PUT, "/v1/files/%2Fd%2Ff/streams/\(stream.id)/data", body: .bytes(ByteBuffer(string: "old")))
            let before = try await sandbox.attributes("/d/f")
            let blobs = sandbox.root.appendingPathComponent("blobs").path
            let blobCount = try FileManager.default.contentsOfDirectory(atPath: blobs).count
            let snap = try await sandbox.snapshot(suffix: "before")
            #expect(snap.name == "\(snap.id)_before")
            #expect(try FileManager.default.contentsOfDirectory(atPath: blobs).count == blobCount, "taking a snapshot copies nothing")

            try await sandbox.write("/d/f", pattern(10, seed: 9), offset: 100)
            try await sandbox.send(.PATCH, "/v1/files/%2Fd%2Ff/info/attributes", json: SetAttributesRequest(mode: FileMode(rawValue: 0o600)))
            try await sandbox.send(.POST, "/v1/files/%2Fd%2Ff/punch-hole", json: PunchHoleRequest(offset: 0, size: 50))
            try await sandbox.send(.PUT, "/v1/files/%2Fd%2Ff/streams/\(stream.id)/data", body: .bytes(ByteBuffer(string: "new")))
            try await sandbox.send(.PUT, "/v1/files/%2Fd%2Ff/user-metadata/generic/k",
                                   json: UserMetadataValue(value: Data("v2".utf8).base64EncodedString()))
            try await sandbox.send(.DELETE, "/v1/files/%2Fd/entries/gone")
            try await sandbox.create(.createFile, in: "/d", "new")
            try await sandbox.send(.POST, "/v1/files/%2F/entries/", json: CreateEntryRequest(action: .rename, name: "moved", oldPath: "/d/f"))

            let q = "?snapshot=\(snap.id)"
            let frozen = try await sandbox.attributes("/d/f", snapshot: snap.id).decode(FileAttributes.self)
            #expect(frozen.id == before.id && frozen.mode == before.mode && frozen.size == before.size)
            #expect(frozen.modificationTime == before.modificationTime && frozen.path == "/d/f")
            #expect(try await sandbox.read("/d/f", query: q) == pattern(200_000))
            #expect(try await sandbox.send(.GET, "/v1/files/\(before.id)/streams/\(stream.id)/data\(q)").text == "old")
            let value = try await sandbox.send(.GET, "/v1/files/\(before.id)/user-metadata/generic/k\(q)").decode(UserMetadataValue.self)
            #expect(value.value == Data("v1".utf8).base64EncodedString())
            let listing = try await sandbox.send(.GET, "/v1/files/%2Fd/entries/\(q)").decode(EntriesPage.self)
            #expect(Set(listing.files.map(\.name)) == ["f", "gone"])
            let resolved = try await sandbox.send(.POST, "/v1/files/resolve\(q)", json: [before.id]).decode([ResolvedPath].self)
            #expect(resolved.first?.path == "/d/f")

            #expect(try await sandbox.attributes("/moved").id == before.id, "file ids are the same live and in snapshots")
            let live = try await sandbox.read("/moved")
            #expect(live[0 ..< 50].allSatisfy { $0 == 0 } && Array(live[100 ..< 110]) == pattern(10, seed: 9))
            #expect(try await sandbox.attributes("/d/f", snapshot: snap.id).status == 200)
            #expect(try await sandbox.send(.GET, "/v1/files/%2Fd%2Ff/info/attributes").status == 404)
        }
    }

    @Test func snapshotsCoverOnlyTheirSourceAndVanishWhenDeleted() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createDirectory, in: "/", "a")
            try await sandbox.create(.createDirectory, in: "/", "b")
            try await sandbox.create(.createFile, in: "/a", "x")
            try await sandbox.create(.createFile, in: "/b", "y")
            let snap = try await sandbox.snapshot("/a")
            #expect(try await sandbox.attributes("/a/x", snapshot: snap.id).status == 200)
            let outside = try await sandbox.attributes("/b/y", snapshot: snap.id)
            #expect(outside.error?.errorClass == ErrorClass.notCoveredBySnapshot)
            #expect(try await sandbox.send(.DELETE, "/v3/snapshots/\(snap.id)").status == 202)
            #expect(try await sandbox.attributes("/a/x", snapshot: snap.id).status == 404)
            try await waitUntil(seconds: 5) {
                try await sandbox.send(.GET, "/v3/snapshots/\(snap.id)").status == 404
            }
        }
    }

    @Test func deletingASnapshotFreesWhatOnlyItHeld() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            try await sandbox.write("/f", pattern(1 << 20))
            let keep = try await sandbox.snapshot(suffix: "keep")
            let drop = try await sandbox.snapshot(suffix: "drop")
            try await sandbox.write("/f", pattern(1 << 20, seed: 1))
            let blobs = sandbox.root.appendingPathComponent("blobs").path
            #expect(try FileManager.default.contentsOfDirectory(atPath: blobs).count == 2)
            #expect(try await sandbox.send(.GET, "/v1/snapshots/total-used-capacity").text.contains("1048576"))
            try await sandbox.send(.DELETE, "/v3/snapshots/\(drop.id)")
            let statuses = try await sandbox.send(.GET, "/v4/snapshots/status/?filter=api_snapshots_exclude_in_delete")
                .decode(SnapshotList<SnapshotStatus>.self)
            #expect(statuses.entries.map(\.id) == [keep.id])
            try await waitUntil(seconds: 5) {
                try await sandbox.send(.GET, "/v3/snapshots/\(drop.id)").status == 404
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: blobs).count == 2, "keep still holds the old data")
            #expect(try await sandbox.read("/f", query: "?snapshot=\(keep.id)") == pattern(1 << 20))
            try await sandbox.send(.DELETE, "/v3/snapshots/\(keep.id)")
            try await waitUntil(seconds: 5) { try FileManager.default.contentsOfDirectory(atPath: blobs).count == 1 }
            #expect(try await sandbox.read("/f") == pattern(1 << 20, seed: 1))
        }
    }

    @Test func expiredSnapshotsDeleteThemselves() async throws {
        try await withSandbox { sandbox in
            let soon = try await sandbox.snapshot(expiration: Timestamp(seconds: Timestamp.now().seconds + 1))
            let never = try await sandbox.snapshot()
            #expect(never.expiration == nil)
            try await waitUntil(seconds: 6) {
                try await sandbox.send(.GET, "/v3/snapshots/\(soon.id)").status == 404
            }
            #expect(try await sandbox.send(.GET, "/v3/snapshots/\(never.id)").status == 200)
        }
    }

    @Test func lockedSnapshotsResistDeletionUntilUnlockedWithTheKey() async throws {
        try await withSandbox { sandbox in
            let key = P256.Signing.PrivateKey()
            func sign(_ text: String) throws -> String {
                try key.signature(for: Data(text.utf8)).derRepresentation.base64EncodedString()
            }
            let publicKey = key.publicKey.derRepresentation.base64EncodedString()
            let forged = try await sandbox.send(.POST, "/v1/file-system/security/keys/", json: AddSecurityKeyRequest(
                name: "guard", publicKey: publicKey, verificationSignature: try sign("not the name")))
            #expect(forged.status == 400)
            let added = try await sandbox.send(.POST, "/v1/file-system/security/keys/", json: AddSecurityKeyRequest(
                name: "guard", publicKey: publicKey, verificationSignature: try sign("guard"))).decode(SecurityKey.self)
            let expiry = Timestamp(seconds: Timestamp.now().seconds + 3600)
            let snap = try await sandbox.snapshot(expiration: expiry)
            #expect(try await sandbox.send(.POST, "/v3/snapshots/\(snap.id)/lock", json: SnapshotLockRequest(lockKeyRef: "guard")).status == 200)
            let status = try await sandbox.send(.GET, "/v3/snapshots/status/\(snap.id)").decode(SnapshotStatus.self)
            #expect(status.lockKey == added.id)
            #expect(try await sandbox.send(.DELETE, "/v3/snapshots/\(snap.id)").status == 403)
            #expect(try await sandbox.send(.DELETE, "/v1/file-system/security/keys/guard").status == 409)
            let shorter = ["expiration": Timestamp(seconds: expiry.seconds - 60).rfc3339]
            #expect(try await sandbox.send(.PATCH, "/v3/snapshots/\(snap.id)", json: shorter).status == 403)
            let longer = ["expiration": Timestamp(seconds: expiry.seconds + 60).rfc3339]
            #expect(try await sandbox.send(.PATCH, "/v3/snapshots/\(snap.id)", json: longer).status == 200)
            let usages = try await sandbox.send(.GET, "/v1/file-system/security/keys/\(added.id)/usages").decode(SecurityKeyUsages.self)
            #expect(usages.usages == [SecurityKeyUsage(type: "snapshot", id: String(snap.id))])

            let challenge = try await sandbox.send(.GET, "/v3/snapshots/\(snap.id)/unlock-challenge").decode(UnlockChallenge.self)
            let wrong = try await sandbox.send(.POST, "/v3/snapshots/\(snap.id)/unlock", json: UnlockRequest(signature: try sign("other")))
            #expect(wrong.status == 400)
            let unlocked = try await sandbox.send(.POST, "/v3/snapshots/\(snap.id)/unlock",
                                                  json: UnlockRequest(signature: try sign(challenge.challenge)))
            #expect(unlocked.status == 200)
            #expect(try await sandbox.send(.DELETE, "/v3/snapshots/\(snap.id)").status == 202)
            #expect(try await sandbox.send(.DELETE, "/v1/file-system/security/keys/guard").status == 200)
        }
    }

    @Test func diffsReportTreeChangesAndChangedRegions() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createDirectory, in: "/", "d")
            for name in ["keep", "edit", "drop", "old-name"] { try await sandbox.create(.createFile, in: "/d", name) }
            try await sandbox.write("/d/edit", pattern(300_000))
            let older = try await sandbox.snapshot()
            try await sandbox.write("/d/edit", pattern(1000, seed: 3), offset: 70_000)
            try await sandbox.send(.PATCH, "/v1/files/%2Fd%2Fedit/info/attributes", json: SetAttributesRequest(size: 400_000))
            try await sandbox.send(.DELETE, "/v1/files/%2Fd/entries/drop")
            try await sandbox.create(.createFile, in: "/d", "added")
            try await sandbox.send(.POST, "/v1/files/%2Fd/entries/", json: CreateEntryRequest(action: .rename, name: "new-name", oldPath: "/d/old-name"))
            let newer = try await sandbox.snapshot()

            var changes: [SnapshotTreeChange] = []
            var next = "/v2/snapshots/\(newer.id)/changes-since/\(older.id)?limit=2"
            while !next.isEmpty {
                let page = try await sandbox.send(.GET, next).decode(DiffPage<SnapshotTreeChange>.self)
                changes += page.entries
                next = page.paging.next ?? ""
            }
            #expect(Set(changes) == [
                .init(op: .create, path: "/d/added"), .init(op: .delete, path: "/d/drop"),
                .init(op: .create, path: "/d/new-name"), .init(op: .delete, path: "/d/old-name"),
                .init(op: .modify, path: "/d/edit"), .init(op: .modify, path: "/d/"),
                .init(op: .modify, path: "/d/new-name"),
            ])
            let regions = try await sandbox.send(.GET, "/v2/snapshots/\(newer.id)/changes-since/\(older.id)/files/%2Fd%2Fedit")
                .decode(DiffPage<SnapshotFileRegion>.self)
            #expect(regions.entries == [
                .init(type: .data, offset: 65536, size: 65536),
                .init(type: .hole, offset: 300_000, size: 100_000),
            ])
            let operations = try await sandbox.send(.GET, "/v3/snapshots/\(newer.id)/changes-since/\(older.id)/files/%2Fd%2Fedit")
            #expect(operations.text.contains(#""next":null"#))
            #expect(try operations.decode(DiffPage<SnapshotFileOperation>.self).entries == [
                .init(op: .modify, offset: 65536, size: 65536), .init(op: .create, offset: 300_000, size: 100_000),
            ])
        }
    }

    @Test func legacyFormsNameTheirFieldsTheirOwnWay() async throws {
        try await withSandbox { sandbox in
            let v2 = try await sandbox.send(.POST, "/v2/snapshots/?expiration-time-to-live=2days", json: ["name": "nightly"])
            let object = try #require(try JSONSerialization.jsonObject(with: v2.body) as? [String: Any])
            let id = try #require(object["id"] as? Int)
            #expect(object["name"] as? String == "nightly" && object["directory_name"] as? String == "\(id)_nightly")
            #expect(object["source_file_id"] as? String == "2" && object["in_delete"] as? Bool == false)
            let expiration = try #require(Timestamp(rfc3339: object["expiration"] as? String ?? ""))
            #expect(abs(expiration.seconds - Timestamp.now().seconds - 2 * 86400) < 60)
            let v1 = try #require(try JSONSerialization.jsonObject(
                with: try await sandbox.send(.GET, "/v1/snapshots/\(id)").body) as? [String: Any])
            #expect(v1["source_path"] as? String == "/" && v1["source_file_id"] == nil)
            let v3 = try await sandbox.send(.GET, "/v3/snapshots/?filter=all").decode(SnapshotList<SnapshotInfo>.self)
            #expect(v3.entries.map(\.name) == ["\(id)_nightly"])
        }
    }

    /// Random live operations interleaved with snapshots: each snapshot must still read exactly as the live tree
    /// read when it was taken, however the tree changed afterwards and whichever other snapshots were deleted.
    @Test(arguments: [1, 2, 3])
    func snapshotsStayFrozenUnderRandomChanges(seed: UInt64) async throws {
        try await withSandbox { sandbox in
            var random = SplitMix(seed: seed)
            var recorded: [(SnapshotInfo, [String: String])] = []
            var files: [String] = []
            var directories = ["/"]
            for step in 0 ..< 60 {
                switch random.next() % 8 {
                case 0, 1:
                    let parent = directories[Int(random.next() % UInt64(directories.count))]
                    let name = "f\(step)"
                    try await sandbox.create(.createFile, in: parent, name)
                    files.append(parent + (parent == "/" ? "" : "/") + name)
                case 2:
                    let parent = directories[Int(random.next() % UInt64(directories.count))]
                    try await sandbox.create(.createDirectory, in: parent, "d\(step)")
                    directories.append(parent + (parent == "/" ? "" : "/") + "d\(step)")
                case 3, 4:
                    guard let file = files.randomElement(using: &random) else { continue }
                    let size = Int(random.next() % 70_000)
                    try await sandbox.write(file, pattern(size, seed: UInt8(step)), offset: Int(random.next() % 50_000))
                case 5:
                    guard let file = files.randomElement(using: &random) else { continue }
                    try await sandbox.send(.PATCH, "/v1/files/\(FileRef.path(file).encodedSegment)/info/attributes",
                                           json: SetAttributesRequest(mode: FileMode(rawValue: UInt32(random.next() % 0o777)),
                                                                      size: random.next() % 40_000))
                case 6:
                    guard let index = files.indices.randomElement(using: &random) else { continue }
                    try await sandbox.send(.DELETE, "/v1/files/\(FileRef.path(files.remove(at: index)).encodedSegment)")
                default:
                    let snap = try await sandbox.snapshot()
                    recorded.append((snap, try await fingerprint(of: sandbox, snapshot: snap.id)))
                    #expect(recorded.last!.1 == (try await fingerprint(of: sandbox, snapshot: nil)))
                    if recorded.count > 2, random.next() % 3 == 0 {
                        let (dropped, _) = recorded.remove(at: Int(random.next() % UInt64(recorded.count)))
                        try await sandbox.send(.DELETE, "/v3/snapshots/\(dropped.id)")
                    }
                }
            }
            try await Task.sleep(for: .seconds(1.5))
            for (snap, expected) in recorded {
                #expect(try await fingerprint(of: sandbox, snapshot: snap.id) == expected, "snapshot \(snap.id)")
            }
        }
    }

    /// Every object under the root as `path → type, mode, size, contents digest` in one view.
    private func fingerprint(of sandbox: SandboxHarness, snapshot: UInt64?) async throws -> [String: String] {
        let query = snapshot.map { "snapshot=\($0)&" } ?? ""
        var result: [String: String] = [:]
        var pending = ["/"]
        while let directory = pending.popLast() {
            var next = "/v1/files/\(FileRef.path(directory).encodedSegment)/entries/?\(query)limit=100"
            while !next.isEmpty {
                let page = try await sandbox.send(.GET, next).decode(EntriesPage.self)
                for file in page.files {
                    var line = "\(file.type.rawValue) \(file.mode.octal) \(file.size)"
                    if file.type == .directory {
                        pending.append(file.path)
                    } else {
                        let bytes = try await sandbox.read(file.path, query: snapshot.map { "?snapshot=\($0)" } ?? "")
                        line += " " + SHA256.hash(data: bytes).map { String($0, radix: 16) }.joined()
                    }
                    result[file.path] = line
                }
                next = page.paging.next ?? ""
            }
        }
        return result
    }
}

/// Polls an async condition until it holds or `seconds` pass.
func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    #expect(try await condition())
}
