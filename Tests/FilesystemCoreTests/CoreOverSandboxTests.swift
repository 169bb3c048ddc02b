@testable import FilesystemCore
import Foundation
import Logging
import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import SystemPackage
import Testing

/// The core driven op by op against a real sandbox, as the bridge would drive it, with the client's counters
/// proving what the caches saved. Its clock moves only when a test moves it (``ManualClock``), so what a test
/// caches stays cached however slow the machine, and an expiry costs no sleep.
struct CoreHarness {
    let filesystem: QumuloFilesystem
    let client: QumuloClient
    let sandbox: InProcessSandbox
    let clock: ManualClock

    static func run(
        cacheSize: Int = 256 << 20, configure: (inout FilesystemConfiguration) -> Void = { _ in },
        _ body: (CoreHarness) async throws -> Void
    ) async throws {
        let sandbox = try await InProcessSandbox.start()
        var clientConfiguration = QumuloClientConfiguration(endpoint: try Endpoint(url: sandbox.url))
        clientConfiguration.trust = .caCertificate(path: sandbox.certificatePath)
        var logger = Logger(label: "core-test")
        logger.logLevel = .warning
        let client = QumuloClient(configuration: clientConfiguration,
                                  credentials: .password(username: "admin", password: InProcessSandbox.password),
                                  logger: logger)
        do {
            var configuration = FilesystemConfiguration(cacheSize: cacheSize)
            configuration.blockSize = 1 << 20
            configuration.readAhead = 8 << 20
            configure(&configuration)
            let clock = ManualClock()
            let filesystem = try await QumuloFilesystem(client: client, configuration: configuration, logger: logger,
                                                        clock: clock.clock)
            try await body(CoreHarness(filesystem: filesystem, client: client, sandbox: sandbox, clock: clock))
            filesystem.checkInvariants()
        } catch {
            try? await client.shutdown()
            try await sandbox.destroy()
            throw error
        }
        try await client.shutdown()
        try await sandbox.destroy()
    }

    /// Walks a path from the root with lookups, as the kernel does.
    func walk(_ path: String) async throws -> Entry {
        var node = NodeID.root
        var entry: Entry?
        for name in path.split(separator: "/") {
            guard case .found(let found) = try await filesystem.lookup(node, name: String(name)) else {
                throw FilesystemError(.noSuchFileOrDirectory, path)
            }
            entry = found
            node = found.node
        }
        return try #require(entry)
    }

    /// Every entry of a directory, through opendir/readdir(plus) in batches of `batch`, reporting the ones
    /// "received" as the bridge does.
    func list(_ node: NodeID, batch: Int = 100, plus: Bool = true) async throws -> [DirectoryEntry] {
        let handle = try await filesystem.openDirectory(node).handle
        defer { filesystem.releaseDirectory(node, handle: handle) }
        var all: [DirectoryEntry] = []
        var offset: UInt64 = 0
        while true {
            let entries = try await filesystem.readDirectory(node, handle: handle, offset: offset, limit: batch, plus: plus)
            guard let last = entries.last else { return all }
            if plus { filesystem.didReturn(entries.filter(\.countsLookup).map(\.entry.node)) }
            all += entries
            offset = last.offset
        }
    }

    func readAll(_ node: NodeID, chunk: Int = 1 << 20) async throws -> [UInt8] {
        let handle = try await filesystem.open(node, flags: 0).handle
        var bytes: [UInt8] = []
        while true {
            let part = try await filesystem.read(node, handle: handle, offset: UInt64(bytes.count), size: chunk)
            if part.readableBytes == 0 { break }
            bytes += part.readableBytesView
        }
        await filesystem.release(node, handle: handle)
        return bytes
    }

    /// Forgets every lookup the kernel would hold, as at unmount; the table must end empty.
    func forgetAll() {
        for (node, count) in filesystem.heldLookups { filesystem.forget(node, lookups: count) }
        filesystem.nodes.checkInvariants()
    }
}

@Suite struct CoreOverSandboxTests {
    @Test func browsesFilesDirectoriesAndLinks() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            _ = try await client.createDirectory(in: .path("/"), name: "docs")
            _ = try await client.createFile(in: .path("/docs"), name: "a.txt")
            _ = try await client.write(.path("/docs/a.txt"), offset: 0, ByteBuffer(string: "hello"))
            _ = try await client.createSymlink(in: .path("/docs"), name: "ln", target: "a.txt")
            let file = try await core.walk("/docs/a.txt")
            let live = try await client.attributes(of: .path("/docs/a.txt")).value
            #expect(file.attributes.inode == UInt64(live.id)! && file.attributes.size == 5)
            #expect(file.attributes.mode == 0o100644 && file.entryTimeout == 1)
            #expect(try await core.readAll(file.node) == Array("hello".utf8))
            let link = try await core.walk("/docs/ln")
            #expect(link.attributes.mode & 0o170000 == 0o120000)
            #expect(try await core.filesystem.readLink(link.node) == "a.txt")
            let docs = try await core.walk("/docs")
            guard case .missing(let negative) = try await core.filesystem.lookup(docs.node, name: "nope") else {
                Issue.record("a missing name was found")
                return
            }
            #expect(negative > 0, "negative entries are cached, briefly")
            let listed = try await core.list(docs.node)
            #expect(listed.map(\.name) == [".", "..", "a.txt", "ln"])
            #expect(!listed.map(\.name).contains(".snapshot"), ".snapshot is hidden from listings")
            core.forgetAll()
            #expect(core.filesystem.heldLookups.isEmpty && core.filesystem.unbalancedForgets == 0)
        }
    }

    @Test func oneListingAnswersReaddirStatAndLookups() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            _ = try await client.createDirectory(in: .path("/"), name: "big")
            let count = 2500
            for index in 0 ..< count { _ = try await client.createFile(in: .path("/big"), name: "f\(index)") }
            let big = try await core.walk("/big")
            let before = client.metrics.requests
            let listed = try await core.list(big.node, batch: 333)
            #expect(listed.count == count + 2)
            #expect(Set(listed.map(\.name)).count == count + 2, "no entry twice")
            let pages = (count + 999) / 1000
            #expect(client.metrics.requests - before == pages, "one call per page of entries, nothing else")
            let afterListing = client.metrics.requests
            for index in stride(from: 0, to: count, by: 97) {
                guard case .found = try await core.filesystem.lookup(big.node, name: "f\(index)") else {
                    Issue.record("f\(index) not found")
                    continue
                }
            }
            guard case .missing = try await core.filesystem.lookup(big.node, name: "absent") else {
                Issue.record("a missing name was found")
                return
            }
            #expect(client.metrics.requests == afterListing, "lookups after a listing cost no requests")
            let held = core.filesystem.heldLookups
            #expect(held.values.reduce(0, +) == UInt64(count + 1 + (count + 96) / 97))
            core.forgetAll()
            #expect(core.filesystem.unbalancedForgets == 0)
        }
    }

    @Test func opensCheckOnceAndStartReadingSmallFiles() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            _ = try await client.createDirectory(in: .path("/"), name: "d")
            _ = try await client.createFile(in: .path("/d"), name: "f")
            _ = try await client.write(.path("/d/f"), offset: 0, ByteBuffer(string: "first"))
            let directory = try await core.walk("/d")
            // The lookup just fetched the attributes: the open that follows it asks nothing more.
            let file = try await core.walk("/d/f")
            var before = client.metrics.requests
            let opened = try await core.filesystem.open(file.node, flags: 0)
            #expect(client.metrics.requests == before, "the lookup's fetch was this open's check")
            await core.filesystem.release(file.node, handle: opened.handle)
            // It counts once: after a change elsewhere, the next open checks and sees it.
            _ = try await client.replace(.path("/d/f"), with: ByteBuffer(string: "second"))
            #expect(try await core.readAll(file.node) == Array("second".utf8))

            // Attributes from a listing are not fresh enough, so the open checks them, reading the file meanwhile:
            // its read then waits for no further request.
            _ = try await client.createFile(in: .path("/d"), name: "g")
            _ = try await client.write(.path("/d/g"), offset: 0, ByteBuffer(string: "small"))
            _ = try await core.list(directory.node)
            let small = try await core.walk("/d/g")
            let misses = core.filesystem.cacheStatistics.misses
            before = client.metrics.requests
            let opened2 = try await core.filesystem.open(small.node, flags: 0)
            let bytes = try await core.filesystem.read(small.node, handle: opened2.handle, offset: 0, size: 4096)
            await core.filesystem.release(small.node, handle: opened2.handle)
            #expect(Array(bytes.readableBytesView) == Array("small".utf8))
            #expect(client.metrics.requests - before == 2, "one check and one read, side by side")
            #expect(core.filesystem.cacheStatistics.misses == misses, "the read found the block the open started")
        }
    }

    @Test func aDirectoryLookedUpNameByNameIsListedAgain() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            _ = try await client.createDirectory(in: .path("/"), name: "d")
            for index in 0 ..< 40 { _ = try await client.createFile(in: .path("/d"), name: "f\(index)") }
            let directory = try await core.walk("/d")
            let before = client.metrics.requests
            for index in 0 ..< QumuloFilesystem.busyDirectory {
                guard case .found = try await core.filesystem.lookup(directory.node, name: "f\(index)") else {
                    Issue.record("f\(index) not found")
                    return
                }
            }
            let object = FileObject(snapshot: nil, fileID: String(directory.attributes.inode))
            let deadline = ContinuousClock.now + .seconds(10)
            while core.filesystem.listingCache.value(for: object) == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            // One request per name so far, then one page of listing for the rest.
            #expect(client.metrics.requests - before == QumuloFilesystem.busyDirectory + 1)
            let listed = client.metrics.requests
            for index in QumuloFilesystem.busyDirectory ..< 40 {
                guard case .found = try await core.filesystem.lookup(directory.node, name: "f\(index)") else {
                    Issue.record("f\(index) not found")
                    return
                }
            }
            #expect(client.metrics.requests == listed, "the listing answered the names after it")
        }
    }

    @Test func readsSequentiallyAndAtRandomWithReadAhead() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            let size = 20 << 20
            let data = pattern(size)
            _ = try await client.createFile(in: .path("/"), name: "big.bin")
            _ = try await client.write(.path("/big.bin"), offset: 0, ByteBuffer(bytes: data))
            let file = try await core.walk("/big.bin")
            #expect(try await core.readAll(file.node, chunk: 128 << 10) == data)
            let statistics = core.filesystem.cacheStatistics
            #expect(statistics.prefetches > 0, "a sequential reader gets read-ahead")
            #expect(statistics.misses < 20, "read-ahead fetched most blocks before they were asked for")

            let handle = try await core.filesystem.open(file.node, flags: 0)
            #expect(handle.keepCache, "the data revision is unchanged since the last open")
            var random = SystemRandomNumberGenerator()
            for _ in 0 ..< 40 {
                let offset = Int.random(in: 0 ..< size, using: &random)
                let length = Int.random(in: 1 ... 300_000, using: &random)
                let got = try await core.filesystem.read(file.node, handle: handle.handle, offset: UInt64(offset), size: length)
                #expect(Array(got.readableBytesView) == Array(data[offset ..< min(size, offset + length)]))
            }
            #expect(try await core.filesystem.read(file.node, handle: handle.handle, offset: UInt64(size), size: 10).readableBytes == 0)
            await core.filesystem.release(file.node, handle: handle.handle)
            core.filesystem.checkInvariants()
        }
    }

    @Test func aChangedFileNeverServesItsOldBytes() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            _ = try await client.createFile(in: .path("/"), name: "f")
            _ = try await client.write(.path("/f"), offset: 0, ByteBuffer(string: "version one"))
            let file = try await core.walk("/f")
            #expect(try await core.readAll(file.node) == Array("version one".utf8))
            _ = try await client.replace(.path("/f"), with: ByteBuffer(string: "version two!"))
            let reopened = try await core.filesystem.open(file.node, flags: 0)
            #expect(!reopened.keepCache, "the kernel must drop its pages of the old version")
            await core.filesystem.release(file.node, handle: reopened.handle)
            #expect(try await core.readAll(file.node) == Array("version two!".utf8))
        }
    }

    @Test func snapshotDirectoriesShowEveryVersion() async throws {
        try await CoreHarness.run { core in
            let client = core.client
            _ = try await client.createDirectory(in: .path("/"), name: "proj")
            _ = try await client.createFile(in: .path("/proj"), name: "report.txt")
            _ = try await client.write(.path("/proj/report.txt"), offset: 0, ByteBuffer(string: "draft"))
            let projectID = try await client.attributes(of: .path("/proj")).value.id
            let first = try await client.createSnapshot(of: projectID, nameSuffix: "draft")
            _ = try await client.replace(.path("/proj/report.txt"), with: ByteBuffer(string: "final version"))
            _ = try await client.createFile(in: .path("/proj"), name: "new.txt")
            let second = try await client.createSnapshot(nameSuffix: "final")

            let project = try await core.walk("/proj")
            let snapshotDirectory = try await core.walk("/proj/.snapshot")
            #expect(snapshotDirectory.attributes.mode == 0o040555)
            let roots = try await core.list(snapshotDirectory.node)
            #expect(roots.map(\.name) == [".", "..", first.name, second.name])
            let root = try await core.walk("/.snapshot")
            #expect(try await core.list(root.node).map(\.name) == [".", "..", second.name],
                    "the root's .snapshot holds only the snapshots that cover the root")

            let old = try await core.walk("/proj/.snapshot/\(first.name)")
            #expect(old.attributes.modificationTime == first.timestamp, "a snapshot entry shows the snapshot's time")
            #expect(old.attributes.inode != project.attributes.inode, "a snapshot's files have their own inode numbers")
            #expect(old.attributeTimeout == FilesystemConfiguration.forever)
            #expect(try await core.list(old.node).map(\.name) == [".", "..", "report.txt"])
            let oldReport = try await core.walk("/proj/.snapshot/\(first.name)/report.txt")
            #expect(try await core.readAll(oldReport.node) == Array("draft".utf8))
            let liveReport = try await core.walk("/proj/report.txt")
            #expect(try await core.readAll(liveReport.node) == Array("final version".utf8))
            #expect(oldReport.attributes.inode != liveReport.attributes.inode)
            await expectErrno(.readOnlyFileSystem) { _ = try await core.filesystem.open(oldReport.node, flags: 0o1) }
            guard case .missing = try await core.filesystem.lookup(old.node, name: ".snapshot") else {
                Issue.record("a snapshot's tree has no .snapshot of its own")
                return
            }
            try await client.deleteSnapshot(id: first.id)
            core.clock.advance(by: 1.2)
            #expect(try await core.list(snapshotDirectory.node).map(\.name) == [".", "..", second.name],
                    "a deleted snapshot disappears within the listing TTL")
            core.forgetAll()
            #expect(core.filesystem.unbalancedForgets == 0)
        }
    }

    @Test func userMetadataIsUserExtendedAttributes() async throws {
        try await CoreHarness.run { core in
            _ = try await core.client.createFile(in: .path("/"), name: "f")
            try await core.client.setUserMetadata(of: .path("/f"), type: .generic, key: "color", value: Array("blue".utf8))
            let file = try await core.walk("/f")
            #expect(try await core.filesystem.extendedAttributeNames(file.node) == ["user.color"])
            #expect(try await core.filesystem.extendedAttribute(file.node, name: "user.color") == Array("blue".utf8))
            await expectErrno(.noData) { _ = try await core.filesystem.extendedAttribute(file.node, name: "user.absent") }
        }
    }
}

/// Expects `body` to fail with `errno`, whatever the message.
func expectErrno(_ errno: Errno, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected \(errno), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as FilesystemError {
        #expect(error.errno == errno, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(errno), got \(error)", sourceLocation: sourceLocation)
    }
}
