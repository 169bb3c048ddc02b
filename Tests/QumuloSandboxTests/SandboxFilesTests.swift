import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import QumuloAPI
import Testing

@Suite struct SandboxSessionTests {
    @Test func everyCallButLoginAndVersionNeedsAToken() async throws {
        try await withSandbox { sandbox in
            let anonymous = try await sandbox.send(.GET, "/v1/files/%2F/info/attributes", authenticated: false)
            #expect(anonymous.status == 401)
            #expect(anonymous.error?.errorClass == ErrorClass.unauthorized)
            let forged = try await sandbox.send(.GET, "/v1/session/who-am-i", headers: [("Authorization", "Bearer 1:forged")],
                                                authenticated: false)
            #expect(forged.status == 401)
            let version = try await sandbox.send(.GET, "/v1/version", authenticated: false)
            #expect(version.status == 200)
            #expect(try version.decode(VersionInfo.self).revisionID.hasPrefix("Qumulo Core"))
            let wrong = try await sandbox.send(.POST, "/v1/session/login", json: LoginRequest(username: "admin", password: "nope"),
                                               authenticated: false)
            #expect(wrong.status == 401)
            #expect(try await sandbox.send(.GET, "/v1/session/who-am-i").decode(WhoAmI.self).name == "admin")
        }
    }

    @Test func unknownEndpointsAndBadBodiesGetJSONErrors() async throws {
        try await withSandbox { sandbox in
            let missing = try await sandbox.send(.GET, "/v1/no/such/thing")
            #expect(missing.status == 404)
            #expect(missing.error != nil)
            let malformed = try await sandbox.send(.POST, "/v1/files/%2F/entries/", body: .bytes(ByteBuffer(string: "{\"action\":")))
            #expect(malformed.status == 400)
            #expect(malformed.error?.errorClass == ErrorClass.decode)
            let huge = try await sandbox.send(.POST, "/v1/files/%2F/entries/",
                                              body: .bytes(ByteBuffer(repeating: UInt8(ascii: " "), count: 2 << 20)))
            #expect(huge.status == 413)
            let listing = try await sandbox.send(.GET, "/v1/files/%2F/entries/").decode(EntriesPage.self)
            #expect(listing.files.isEmpty, "a rejected request must not create anything")
        }
    }
}

@Suite struct SandboxNamespaceTests {
    @Test func createsEachKindOfObject() async throws {
        try await withSandbox { sandbox in
            let directory = try await sandbox.create(.createDirectory, in: "/", "dir").decode(FileAttributes.self)
            #expect(directory.type == .directory && directory.path == "/dir/" && directory.numLinks == 2)
            let file = try await sandbox.create(.createFile, in: "/dir", "f").decode(FileAttributes.self)
            #expect(file.type == .file && file.path == "/dir/f" && file.size == 0)
            try await sandbox.create(.createSymlink, in: "/dir", "ln", oldPath: "f")
            #expect(try await sandbox.read("/dir/ln") == Array("f".utf8))
            let link = try await sandbox.create(.createLink, in: "/", "hard", oldPath: "/dir/f").decode(FileAttributes.self)
            #expect(link.id == file.id && link.numLinks == 2)
            let device = try await sandbox.send(.POST, "/v1/files/%2F/entries/", json: CreateEntryRequest(
                action: .createUnixFile, name: "null", unixFileType: .characterDevice,
                majorMinorNumbers: MajorMinorNumbers(major: 1, minor: 3))).decode(FileAttributes.self)
            #expect(device.type == .characterDevice && device.majorMinorNumbers == MajorMinorNumbers(major: 1, minor: 3))
            #expect(try await sandbox.attributes("/dir").childCount == 2)
            #expect(try await sandbox.attributes("/").numLinks == 3, "the root has . .. and one subdirectory")
        }
    }

    @Test(arguments: [(".", ErrorClass.invalidName), ("..", ErrorClass.invalidName), ("a/b", ErrorClass.invalidName),
                      ("", ErrorClass.invalidName), ("a\u{0}b", ErrorClass.invalidName),
                      (String(repeating: "x", count: 256), ErrorClass.nameSize)])
    func rejectsBadNames(name: String, errorClass: String) async throws {
        try await withSandbox { sandbox in
            let reply = try await sandbox.create(.createFile, in: "/", name)
            #expect(reply.status == 400)
            #expect(reply.error?.errorClass == errorClass)
            #expect(try await sandbox.create(.createFile, in: "/", String(repeating: "y", count: 255)).status == 200)
        }
    }

    @Test func reportsMissingExistingAndWrongTypes() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            let again = try await sandbox.create(.createDirectory, in: "/", "f")
            #expect(again.status == 409 && again.error?.errorClass == ErrorClass.entryExists)
            let missing = try await sandbox.send(.GET, "/v1/files/%2Fnope%2Fdeeper/info/attributes")
            #expect(missing.status == 404 && missing.error?.errorClass == ErrorClass.noSuchEntry)
            let notDirectory = try await sandbox.send(.GET, "/v1/files/%2Ff/entries/")
            #expect(notDirectory.error?.errorClass == ErrorClass.notADirectory)
            let unknownID = try await sandbox.send(.GET, "/v1/files/999999/info/attributes")
            #expect(unknownID.status == 404)
        }
    }

    @Test func pagesFollowNextUntilItIsEmpty() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createDirectory, in: "/", "big")
            let names = (0 ..< 25).map { "entry \($0) é" }
            for name in names { try await sandbox.create(.createFile, in: "/big", name) }
            var seen: [String] = []
            var next = "/v1/files/%2Fbig/entries/?limit=7"
            var pages = 0
            while !next.isEmpty {
                let page = try await sandbox.send(.GET, next).decode(EntriesPage.self)
                #expect(page.files.count <= 7)
                #expect(page.childCount == 25)
                seen += page.files.map(\.name)
                #expect(page.files.allSatisfy { $0.path == "/big/" + $0.name })
                next = page.paging.next ?? "null"
                if !next.isEmpty { #expect(next.contains("limit=7")) }
                pages += 1
            }
            #expect(seen.sorted() == names.sorted())
            #expect(pages == 4)
            let pattern = try await sandbox.send(.GET, "/v1/files/%2Fbig/entries/?smb-pattern=ENTRY%202*").decode(EntriesPage.self)
            #expect(Set(pattern.files.map(\.name)) == ["entry 2 é", "entry 20 é", "entry 21 é", "entry 22 é", "entry 23 é", "entry 24 é"])
        }
    }

    @Test func renameMovesSubtreesAndHonoursClobber() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createDirectory, in: "/", "a")
            try await sandbox.create(.createDirectory, in: "/a", "sub")
            try await sandbox.create(.createFile, in: "/a/sub", "f")
            try await sandbox.write("/a/sub/f", Array("payload".utf8))
            try await sandbox.create(.createDirectory, in: "/", "b")
            let id = try await sandbox.attributes("/a/sub/f").id
            func rename(_ source: String, into parent: String, _ name: String, clobber: Bool = false) async throws -> SandboxHarness.Reply {
                try await sandbox.send(.POST, "/v1/files/\(FileRef.path(parent).encodedSegment)/entries/",
                                       json: CreateEntryRequest(action: .rename, name: name, oldPath: source, clobber: clobber))
            }
            let moved = try await rename("/a/sub", into: "/b", "moved")
            #expect(moved.status == 200)
            #expect(try moved.decode(FileAttributes.self).path == "/b/moved/")
            #expect(try await sandbox.attributes("/b/moved/f").id == id)
            #expect(try await sandbox.read("/b/moved/f") == Array("payload".utf8))
            #expect(try await sandbox.attributes("/a").numLinks == 2)
            #expect(try await sandbox.attributes("/b").numLinks == 3)
            let cycle = try await rename("/b", into: "/b/moved", "loop")
            #expect(cycle.error?.errorClass == ErrorClass.directoryCycle)
            try await sandbox.create(.createFile, in: "/b", "target")
            let refused = try await rename("/b/moved/f", into: "/b", "target")
            #expect(refused.status == 409 && refused.error?.errorClass == ErrorClass.entryExists)
            #expect(try await rename("/b/moved/f", into: "/b", "target", clobber: true).status == 200)
            #expect(try await sandbox.attributes("/b/target").id == id)
            try await sandbox.create(.createDirectory, in: "/", "full")
            try await sandbox.create(.createFile, in: "/full", "x")
            let notEmpty = try await rename("/b/moved", into: "/", "full", clobber: true)
            #expect(notEmpty.error?.errorClass == ErrorClass.directoryNotEmpty)
        }
    }

    @Test func deletesRespectLinksAndEmptiness() async throws {
        try await withSandbox { sandbox in
            try await sandbox.create(.createDirectory, in: "/", "d")
            try await sandbox.create(.createFile, in: "/d", "f")
            try await sandbox.write("/d/f", pattern(100_000))
            try await sandbox.create(.createLink, in: "/", "g", oldPath: "/d/f")
            let notEmpty = try await sandbox.send(.DELETE, "/v1/files/%2Fd")
            #expect(notEmpty.status == 409 && notEmpty.error?.errorClass == ErrorClass.directoryNotEmpty)
            #expect(try await sandbox.send(.DELETE, "/v1/files/%2Fd/entries/f").status == 200)
            #expect(try await sandbox.attributes("/g").numLinks == 1)
            #expect(try await sandbox.read("/g") == pattern(100_000))
            let blobs = sandbox.root.appendingPathComponent("blobs").path
            #expect(try FileManager.default.contentsOfDirectory(atPath: blobs).count == 1)
            #expect(try await sandbox.send(.DELETE, "/v1/files/%2Fg").status == 200)
            #expect(try FileManager.default.contentsOfDirectory(atPath: blobs).isEmpty, "the last link frees the data")
            #expect(try await sandbox.send(.DELETE, "/v1/files/%2Fd").status == 200)
            #expect(try await sandbox.send(.DELETE, "/v1/files/%2F").status == 403)
        }
    }
}
