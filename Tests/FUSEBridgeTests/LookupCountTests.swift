import FilesystemCore
import Foundation
import Testing
@testable import FUSEBridge

/// Every lookup the kernel is given is forgotten again: none leaks, none is forgotten twice.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct LookupCountTests {
    @Test func everyLookupIsForgottenAfterTheCachesDrop() async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: 2000)
        try await TestMount.with(filesystem) { mount in
            _ = try await mount.run("ls", "-lR", mount.path)
            _ = try await mount.run("stat", mount.path("docs/nested/deep.txt"), mount.path("link"), mount.path("nothing"))
            _ = try await mount.run("cat", mount.path("hello.txt"), mount.path("docs/pattern.bin"))
            _ = try await mount.run("find", mount.path, "-name", "file-0199*")

            let added = filesystem.snapshot.lookupsAdded
            #expect(added >= 2000, "the READDIRPLUS entries of big/ were counted")
            #expect(filesystem.outstandingLookups > 0)

            // Drop unused dentries and inodes (not the page cache; nothing here is dirty, so no sync): the kernel
            // sends FORGET for every node it lets go. Global, so as seldom as possible.
            let deadline = ContinuousClock.now + .seconds(20)
            var lastDrop: ContinuousClock.Instant?
            while filesystem.outstandingLookups > 0, ContinuousClock.now < deadline {
                if lastDrop.map({ ContinuousClock.now - $0 >= .seconds(2) }) ?? true {
                    let drop = try await mount.run("sh", "-c", "echo 2 > /proc/sys/vm/drop_caches")
                    #expect(drop.status == 0, "\(drop)")
                    lastDrop = ContinuousClock.now
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let accounting = filesystem.snapshot
            #expect(filesystem.outstandingLookups == 0, "leaked: \(accounting.held.filter { $0.key != .root })")
            #expect(accounting.anomalies.isEmpty)
            #expect(accounting.forgets == accounting.lookupsAdded - accounting.held[.root, default: 0])
        }
    }
}
