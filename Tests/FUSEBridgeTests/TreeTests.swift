import Foundation
import Testing
@testable import FUSEBridge

/// The fixture tree through real tools: the read path end to end.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TreeTests {
    @Test func listsStatsAndReads() async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: 10)
        try await TestMount.with(filesystem) { mount in
            let listing = try await mount.run("ls", "-1a", mount.path)
            #expect(listing.status == 0, "\(listing)")
            #expect(listing.lines == [".", "..", "big", "docs", "faulty", "hello.txt", "link", "stuck", "tagged"])

            let stat = try await mount.run("stat", "-c", "%i %s %f %h %Y", mount.path("docs/pattern.bin"))
            #expect(stat.status == 0, "\(stat)")
            let fields = stat.text.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            #expect(fields.count == 5)
            #expect(Int(fields[0])! > 1000, "st_ino is the core's inode, not the node id")
            #expect(fields[1] == String(MemoryFilesystem.patternSize))
            #expect(fields[2] == "81a4") // S_IFREG | 0644
            #expect(fields[4] == "1700000000")

            let hello = try await mount.run("cat", mount.path("hello.txt"))
            #expect(hello.text == "hello, world\n")

            let pattern = try await mount.run("cat", mount.path("docs/pattern.bin"))
            #expect(pattern.status == 0)
            #expect(pattern.output == Data(MemoryFilesystem.pattern(MemoryFilesystem.patternSize, seed: 7)))

            let link = try await mount.run("readlink", mount.path("link"))
            #expect(link.text == "docs/pattern.bin\n")
            let throughLink = try await mount.run("cmp", mount.path("link"), mount.path("docs/pattern.bin"))
            #expect(throughLink.status == 0, "\(throughLink)")

            let found = try await mount.run("find", mount.path, "-path", mount.path("big/*"), "-prune", "-o", "-print")
            let relative = found.lines.map { $0.dropFirst(mount.path.count) }.sorted()
            #expect(relative == ["", "/big", "/docs", "/docs/nested", "/docs/nested/deep.txt", "/docs/pattern.bin",
                                 "/faulty", "/hello.txt", "/link", "/stuck", "/tagged"])

            let statfs = try await mount.run("stat", "-f", "-c", "%S %b %a %l", mount.path)
            #expect(statfs.text == "4096 1048576 524288 255\n", "\(statfs)")

            let missing = try await mount.run("stat", mount.path("no-such-file"))
            #expect(missing.status != 0)
            #expect(missing.error.contains("No such file or directory"))
        }
    }

    /// A missing name is answered with a negative entry the kernel keeps for its timeout (30 s here: a loaded
    /// machine may take over a second for three `stat`s), so asking again at once costs no lookup.
    @Test func negativeEntriesAreCached() async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: 0)
        try await TestMount.with(filesystem) { mount in
            for _ in 0 ..< 3 {
                let missing = try await mount.run("stat", mount.path("absent"))
                #expect(missing.error.contains("No such file or directory"), "\(missing)")
            }
            #expect(filesystem.snapshot.lookupsByName["absent"] == 1)
        }
    }

    @Test func mountIsListedWithTypeAndSource() async throws {
        var configuration = FUSEConfiguration()
        configuration.fileSystemName = "https://cluster.example:8000"
        try await TestMount.with(MemoryFilesystem(bigDirectorySize: 0), configuration: configuration) { mount in
            let entry = try #require(MountTable.current().mount(at: mount.path))
            #expect(entry.fileSystemType == "fuse.qfuse")
            #expect(entry.source == "https://cluster.example:8000")
            #expect(entry.major == 0)
            #expect(mount.mount.settings.enabled.contains("READDIRPLUS"))
            #expect(mount.mount.settings.maxRead == 1 << 20)
        }
    }

    @Test func readOnlyMountRefusesWrites() async throws {
        var configuration = FUSEConfiguration()
        configuration.readOnly = true
        try await TestMount.with(MemoryFilesystem(bigDirectorySize: 0), configuration: configuration) { mount in
            let touch = try await mount.run("touch", mount.path("new-file"))
            #expect(touch.status != 0)
            #expect(touch.error.contains("Read-only file system"), "\(touch)")
            #expect(MountTable.current().mount(at: mount.path) != nil)
        }
    }

    @Test func aChangeTheFilesystemRefusesFailsWithItsErrno() async throws {
        try await TestMount.with(MemoryFilesystem(bigDirectorySize: 0)) { mount in
            let mkdir = try await mount.run("mkdir", mount.path("new-directory"))
            #expect(mkdir.status != 0)
            #expect(mkdir.error.contains("Function not implemented"), "\(mkdir)")
        }
    }
}
