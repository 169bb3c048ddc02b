@testable import FilesystemCore
import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import SystemPackage
import Testing

/// The write path of the core against a real sandbox.
@Suite struct CoreWriteTests {
    @Test func pendingWritesAreReadBackAndReachTheServerOnFlush() async throws {
        try await CoreHarness.run(configure: { $0.uploadSize = 1 << 20 }) { core in
            let root = NodeID.root
            let (entry, opened) = try await core.filesystem.create(root, name: "data.bin", mode: 0o640, flags: 0o1,
                                                                   caller: Caller(uid: 1000, gid: 100))
            let node = entry.node, handle = opened.handle
            var model = [UInt8](repeating: 0, count: 5 << 20)
            var random = SplitMix(seed: 7)
            for index in model.indices { model[index] = UInt8(truncatingIfNeeded: random.next()) }
            // Out of order, with a gap filled last and an overwrite across a chunk boundary.
            for range in [(2 << 20) ..< (5 << 20), 0 ..< (1 << 20), (1 << 20) ..< (2 << 20), 1_000_000 ..< 1_100_000] {
                let written = try await core.filesystem.write(node, handle: handle, offset: UInt64(range.lowerBound),
                                                              data: ByteBuffer(bytes: model[range]))
                #expect(written == range.count)
            }
            #expect(try await core.filesystem.attributes(of: node).attributes.size == UInt64(model.count))
            let before = try await core.filesystem.read(node, handle: handle, offset: 900_000, size: 300_000)
            #expect(Array(before.readableBytesView) == Array(model[900_000 ..< 1_200_000]))

            try await core.filesystem.flush(node, handle: handle)
            await core.filesystem.release(node, handle: handle)
            let server = try await core.client.attributes(of: .path("/data.bin")).value
            #expect(server.size == UInt64(model.count))
            #expect(server.mode.rawValue == 0o640)
            #expect(server.ownerDetails == IdentityDetails(idType: .nfsUID, idValue: "1000"))
            #expect(server.groupDetails == IdentityDetails(idType: .nfsGID, idValue: "100"))
            let stored = try await core.client.read(.path("/data.bin"), offset: 0, length: model.count)
            #expect(Array(stored.readableBytesView) == model)
            #expect(core.filesystem.writeBack.budget.used == 0)
        }
    }

    @Test(.timeLimit(.minutes(1))) func scatteredSmallWritesNeverWaitForeverOnAFullBudget() async throws {
        try await CoreHarness.run(configure: { $0.writeBuffer = 64 << 10 }) { core in
            let (entry, opened) = try await core.filesystem.create(.root, name: "scattered", mode: 0o644, flags: 0o1,
                                                                   caller: Caller(uid: 0, gid: 0))
            // 64 writes of 4 KiB, 64 KiB apart: no extent ever fills, and four times the budget in all.
            for index in 0 ..< 64 {
                _ = try await core.filesystem.write(entry.node, handle: opened.handle, offset: UInt64(index) << 16,
                                                    data: ByteBuffer(repeating: UInt8(index), count: 4096))
            }
            try await core.filesystem.flush(entry.node, handle: opened.handle)
            await core.filesystem.release(entry.node, handle: opened.handle)
            let stored = try await core.client.read(.path("/scattered"), offset: 63 << 16, length: 4096)
            #expect(stored == ByteBuffer(repeating: 63, count: 4096))
        }
    }

    @Test func aFailedUploadIsReportedToEveryHandleOnce() async throws {
        try await CoreHarness.run { core in
            let (entry, opened) = try await core.filesystem.create(.root, name: "doomed", mode: 0o644, flags: 0o1,
                                                                   caller: Caller(uid: 0, gid: 0))
            let other = try await core.filesystem.open(entry.node, flags: 0o1).handle
            _ = try await core.filesystem.write(entry.node, handle: opened.handle, offset: 0, data: ByteBuffer(string: "lost"))
            try await core.client.unlink("doomed", from: .path("/"))
            await expectErrno(.noSuchFileOrDirectory) { try await core.filesystem.flush(entry.node, handle: opened.handle) }
            try await core.filesystem.flush(entry.node, handle: opened.handle)
            await expectErrno(.noSuchFileOrDirectory) {
                _ = try await core.filesystem.write(entry.node, handle: other, offset: 4, data: ByteBuffer(string: "x"))
            }
            await core.filesystem.release(entry.node, handle: opened.handle)
            await core.filesystem.release(entry.node, handle: other)
        }
    }

    @Test func namespaceChangesKeepNamesLinksAndErrorsRight() async throws {
        try await CoreHarness.run { core in
            let fs = core.filesystem, caller = Caller(uid: 0, gid: 0)
            let directory = try await fs.makeDirectory(.root, name: "dir", mode: 0o750, caller: caller)
            #expect(directory.attributes.mode == 0o040750)
            let (file, opened) = try await fs.create(directory.node, name: "a", mode: 0o644, flags: 0o1, caller: caller)
            await fs.release(file.node, handle: opened.handle)
            let link = try await fs.link(file.node, to: .root, name: "b")
            #expect(link.attributes.linkCount == 2)
            #expect(try await fs.attributes(of: file.node).attributes.linkCount == 2)
            await expectErrno(.directoryNotEmpty) { try await fs.removeDirectory(.root, name: "dir") }
            let other = try await fs.makeNode(directory.node, name: "other", mode: 0o100600, device: 0, caller: caller)
            #expect(other.attributes.mode == 0o100600)
            await expectErrno(.fileExists) {
                try await fs.rename(.root, name: "b", to: directory.node, newName: "other", flags: .noReplace)
            }
            await expectErrno(.invalidArgument) { try await fs.rename(.root, name: "b", to: directory.node, newName: "a", flags: .exchange) }
            try await fs.rename(.root, name: "b", to: directory.node, newName: "c", flags: [])
            try await fs.unlink(directory.node, name: "a")
            #expect(try await fs.attributes(of: file.node).attributes.linkCount == 1)
            #expect(try await core.list(directory.node).map(\.name) == [".", "..", "c", "other"])
            guard case .missing = try await fs.lookup(directory.node, name: "a") else {
                Issue.record("an unlinked name is still found")
                return
            }
            let symlink = try await fs.makeSymlink(directory.node, name: "s", target: "../elsewhere", caller: caller)
            #expect(try await fs.readLink(symlink.node) == "../elsewhere")
            let fifo = try await fs.makeNode(directory.node, name: "p", mode: 0o010600, device: 0, caller: caller)
            #expect(fifo.attributes.mode == 0o010600)
            let snapshots = try await core.walk("/dir/.snapshot")
            await expectErrno(.readOnlyFileSystem) { _ = try await fs.makeDirectory(snapshots.node, name: "x", mode: 0o755, caller: caller) }
        }
    }

    @Test func aFileUnlinkedWhileOpenLivesUntilItsLastRelease() async throws {
        try await CoreHarness.run { core in
            let fs = core.filesystem
            let (entry, opened) = try await fs.create(.root, name: "scratch", mode: 0o600, flags: 0o2, caller: Caller(uid: 0, gid: 0))
            _ = try await fs.write(entry.node, handle: opened.handle, offset: 0, data: ByteBuffer(string: "kept"))
            try await fs.unlink(.root, name: "scratch")
            guard case .missing = try await fs.lookup(.root, name: "scratch") else {
                Issue.record("the unlinked name is still there")
                return
            }
            #expect(try await fs.attributes(of: entry.node).attributes.linkCount == 0, "fstat: no name is left")
            _ = try await fs.write(entry.node, handle: opened.handle, offset: 4, data: ByteBuffer(string: " still"))
            try await fs.flush(entry.node, handle: opened.handle)
            let bytes = try await fs.read(entry.node, handle: opened.handle, offset: 0, size: 100)
            #expect(String(buffer: bytes) == "kept still")
            await fs.release(entry.node, handle: opened.handle)
            let names = try await core.client.entries(of: .path("/")).reduce(into: [String]()) { $0.append($1.name) }
            #expect(!names.contains { $0.hasPrefix(".qfuse_hidden") }, "the last release removes the moved-aside file")
        }
    }

    /// POSIX: a name the cluster could never hold is ENAMETOOLONG for every call that takes one, lookups included
    /// (not ENOENT), and nothing reaches the server.
    @Test func namesOverTheLimitFailWithNameTooLong() async throws {
        try await CoreHarness.run { core in
            let fs = core.filesystem
            let long = String(repeating: "n", count: 256), longest = String(repeating: "m", count: 255)
            let caller = Caller(uid: 0, gid: 0)
            let (file, opened) = try await fs.create(.root, name: longest, mode: 0o644, flags: 0o1, caller: caller)
            await fs.release(file.node, handle: opened.handle)
            let before = core.client.metrics.requests
            await expectErrno(.fileNameTooLong) { _ = try await fs.lookup(.root, name: long) }
            await expectErrno(.fileNameTooLong) { _ = try await fs.create(.root, name: long, mode: 0o644, flags: 0o1, caller: caller) }
            await expectErrno(.fileNameTooLong) { _ = try await fs.makeDirectory(.root, name: long, mode: 0o755, caller: caller) }
            await expectErrno(.fileNameTooLong) { _ = try await fs.makeSymlink(.root, name: long, target: "x", caller: caller) }
            await expectErrno(.fileNameTooLong) { _ = try await fs.link(file.node, to: .root, name: long) }
            await expectErrno(.fileNameTooLong) { try await fs.unlink(.root, name: long) }
            await expectErrno(.fileNameTooLong) { try await fs.removeDirectory(.root, name: long) }
            await expectErrno(.fileNameTooLong) { try await fs.rename(.root, name: longest, to: .root, newName: long, flags: []) }
            await expectErrno(.fileNameTooLong) { try await fs.rename(.root, name: long, to: .root, newName: "x", flags: []) }
            // A multi-byte name is measured in bytes: 128 two-byte characters are 256 bytes.
            await expectErrno(.fileNameTooLong) { _ = try await fs.lookup(.root, name: String(repeating: "é", count: 128)) }
            #expect(core.client.metrics.requests == before, "refused before any request")
        }
    }

    /// A size the cluster refuses is a clear error (EFBIG or EINVAL), never EIO, and a size it takes is reported.
    @Test func aHugeTruncateFailsClearlyOrIsReported() async throws {
        try await CoreHarness.run { core in
            let fs = core.filesystem
            let (entry, opened) = try await fs.create(.root, name: "huge", mode: 0o644, flags: 0o2, caller: Caller(uid: 0, gid: 0))
            do {
                let reply = try await fs.setAttributes(entry.node, handle: opened.handle, AttributeChanges(size: 999_999_999_999_999))
                #expect(reply.attributes.size == 999_999_999_999_999)
            } catch let error as FilesystemError {
                #expect([.fileTooLarge, .invalidArgument].contains(error.errno), "\(error)")
            }
            await fs.release(entry.node, handle: opened.handle)
        }
    }

    @Test func truncateAndPunchHoleComeAfterPendingWrites() async throws {
        try await CoreHarness.run { core in
            let fs = core.filesystem
            let (entry, opened) = try await fs.create(.root, name: "t", mode: 0o644, flags: 0o2, caller: Caller(uid: 0, gid: 0))
            _ = try await fs.write(entry.node, handle: opened.handle, offset: 0, data: ByteBuffer(repeating: 7, count: 100))
            let truncated = try await fs.setAttributes(entry.node, handle: opened.handle, AttributeChanges(size: 50))
            #expect(truncated.attributes.size == 50)
            try await fs.allocate(entry.node, handle: opened.handle, mode: 0x03, offset: 10, length: 20)
            await expectErrno(.notSupported) { try await fs.allocate(entry.node, handle: opened.handle, mode: 0, offset: 0, length: 10) }
            let bytes = try await fs.read(entry.node, handle: opened.handle, offset: 0, size: 100)
            #expect(Array(bytes.readableBytesView) == [UInt8](repeating: 7, count: 10) + [UInt8](repeating: 0, count: 20)
                + [UInt8](repeating: 7, count: 20))
            await fs.release(entry.node, handle: opened.handle)
        }
    }

    @Test func copyFromASnapshotMovesNoDataThroughTheClient() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            _ = try await client.createFile(in: .path("/"), name: "big")
            let original = ByteBuffer(repeating: 0x5A, count: 8 << 20)
            _ = try await client.write(.path("/big"), offset: 0, original)
            let snapshot = try await client.createSnapshot(nameSuffix: "before")
            _ = try await client.replace(.path("/big"), with: ByteBuffer(string: "damaged"))

            let fs = core.filesystem
            let old = try await core.walk("/.snapshot/\(snapshot.name)/big")
            let source = try await fs.open(old.node, flags: 0).handle
            let (target, opened) = try await fs.create(.root, name: "restored", mode: 0o644, flags: 0o1, caller: Caller(uid: 0, gid: 0))
            let before = client.metrics
            var copied = 0
            while true {
                let count = try await fs.copyRange(from: old.node, handle: source, offset: UInt64(copied), to: target.node,
                                                   handle: opened.handle, offset: UInt64(copied), length: 1 << 40)
                if count == 0 { break }
                copied += count
            }
            let after = client.metrics
            #expect(copied == original.readableBytes)
            #expect(after.bytesRead - before.bytesRead < 64 << 10 && after.bytesWritten - before.bytesWritten < 64 << 10)
            await fs.release(old.node, handle: source)
            await fs.release(target.node, handle: opened.handle)
            let restored = try await client.read(.path("/restored"), offset: 0, length: original.readableBytes)
            #expect(restored == original)
        }
    }
}
