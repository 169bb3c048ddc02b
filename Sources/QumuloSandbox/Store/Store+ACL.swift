import Foundation
import QumuloAPI

extension Store {
    /// The ACL of an object: the one set explicitly, or the one its mode implies.
    func acl(of ref: FileRef, in view: View) async throws -> (acl: ACL, generated: Bool) {
        try await read { db in
            let inode = try Lookup.resolve(db, ref, in: view)
            if let stored = inode.acl {
                return (try JSONDecoder().decode(ACL.self, from: Data(stored.utf8)), false)
            }
            return (Self.aclFromMode(inode), true)
        }
    }

    /// Replaces the ACL. The mode stays as it was: Qumulo derives the POSIX view from the ACL.
    func setACL(of ref: FileRef, _ acl: ACL, ifMatch: String?) async throws -> ACL {
        try acl.validate()
        let text = String(decoding: try JSONEncoder().encode(acl), as: UTF8.self)
        return try await write { context in
            let old = try Lookup.resolve(context.db, ref, in: .live)
            try Self.checkPrecondition(ifMatch, etag: old.etag)
            var inode = old
            inode.acl = text
            inode.touchChange(at: context.now)
            try context.save(replacing: old, with: inode)
            return acl
        }
    }

    /// The v1 form of an ACL: trustees by auth id.
    static func v1(_ acl: ACL, generated: Bool) -> ACLv1 {
        ACLv1(generated: generated, acl: .init(
            control: acl.control, posixSpecialPermissions: acl.posixSpecialPermissions,
            aces: acl.aces.map { entry in
                let authID = entry.trustee.authID.flatMap(UInt64.init) ?? everyoneAuthID
                return ACLv1.Entry(
                    type: entry.type, flags: entry.flags, trustee: String(authID),
                    trusteeDetails: AuthID.details(of: authID), rights: entry.rights)
            }))
    }

    /// GUESSED: the auth id of Everyone; Qumulo's well-known value is not published.
    private static let everyoneAuthID: UInt64 = 2 << 32

    /// Owner, group and everyone entries carrying the mode's read, write and execute bits.
    private static func aclFromMode(_ inode: InodeRecord) -> ACL {
        let readRights = ["READ", "READ_EA", "READ_ATTR", "READ_ACL", "SYNCHRONIZE"]
        let writeRights = inode.type == .directory
            ? ["ADD_FILE", "ADD_SUBDIR", "DELETE_CHILD", "WRITE_EA", "WRITE_ATTR"]
            : ["MODIFY", "EXTEND", "WRITE_EA", "WRITE_ATTR"]
        func rights(_ bits: Int) -> [String] {
            (bits & 4 != 0 ? readRights : []) + (bits & 2 != 0 ? writeRights : []) + (bits & 1 != 0 ? ["EXECUTE"] : [])
        }
        func identity(_ authID: Int64, posixDomain: String) -> ACL.Identity {
            let details = AuthID.details(of: UInt64(bitPattern: authID))
            var identity = ACL.Identity(authID: String(UInt64(bitPattern: authID)))
            switch details.idType {
            case .nfsUID: identity.domain = posixDomain; identity.uid = UInt32(details.idValue)
            case .nfsGID: identity.domain = posixDomain; identity.gid = UInt32(details.idValue)
            default: identity.domain = "LOCAL"; identity.name = details.idValue
            }
            return identity
        }
        var special: [String] = []
        if inode.mode & 0o4000 != 0 { special.append("SET_UID") }
        if inode.mode & 0o2000 != 0 { special.append("SET_GID") }
        if inode.mode & 0o1000 != 0 { special.append("STICKY_BIT") }
        let owner = rights(inode.mode >> 6 & 7) + ["READ_ACL", "WRITE_ACL", "CHANGE_OWNER", "DELETE"]
        return ACL(control: ["PRESENT"], posixSpecialPermissions: special, aces: [
            .init(type: "ALLOWED", flags: [], trustee: identity(inode.owner, posixDomain: "POSIX_USER"),
                  rights: Array(Set(owner)).sorted()),
            .init(type: "ALLOWED", flags: [], trustee: identity(inode.grp, posixDomain: "POSIX_GROUP"),
                  rights: rights(inode.mode >> 3 & 7)),
            .init(type: "ALLOWED", flags: [], trustee: ACL.Identity(domain: "WORLD", authID: String(everyoneAuthID)),
                  rights: rights(inode.mode & 7)),
        ].filter { !$0.rights.isEmpty })
    }
}
