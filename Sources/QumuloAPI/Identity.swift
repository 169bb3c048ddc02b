/// An owner or group as the attributes name it: an auth id plus typed details.
///
/// Qumulo maps NFS ids into the auth-id space: uid `u` is `(3 << 32) + u` and gid `g` is `(4 << 32) + g`
/// (the SDK's `identity_util`). Local users and groups have small auth ids: 500 admin, 501 guest, 512 Admins,
/// 513 Users, 514 Guests.
public struct IdentityDetails: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case localUser = "LOCAL_USER"
        case localGroup = "LOCAL_GROUP"
        case nfsUID = "NFS_UID"
        case nfsGID = "NFS_GID"
        case smbSID = "SMB_SID"
        case `internal` = "INTERNAL"
        case qumuloOperator = "QUMULO_OPERATOR"
        case qumuloSupport = "QUMULO_SUPPORT"
    }

    public var idType: Kind
    public var idValue: String

    public init(idType: Kind, idValue: String) {
        self.idType = idType
        self.idValue = idValue
    }

    enum CodingKeys: String, CodingKey {
        case idType = "id_type"
        case idValue = "id_value"
    }
}

/// Auth ids: the 64-bit numbers behind `owner` and `group`.
public enum AuthID {
    public static let admin: UInt64 = 500
    public static let guest: UInt64 = 501
    public static let adminsGroup: UInt64 = 512
    public static let usersGroup: UInt64 = 513
    public static let guestsGroup: UInt64 = 514

    static let nfsUIDBase: UInt64 = 3 << 32
    static let nfsGIDBase: UInt64 = 4 << 32

    public static func nfsUID(_ uid: UInt32) -> UInt64 { nfsUIDBase + UInt64(uid) }
    public static func nfsGID(_ gid: UInt32) -> UInt64 { nfsGIDBase + UInt64(gid) }

    private static let localUsers: [UInt64: String] = [admin: "admin", guest: "guest"]
    private static let localGroups: [UInt64: String] = [adminsGroup: "Admins", usersGroup: "Users", guestsGroup: "Guests"]

    /// The typed details of an auth id, as the attributes report them.
    public static func details(of authID: UInt64) -> IdentityDetails {
        if let name = localUsers[authID] { return IdentityDetails(idType: .localUser, idValue: name) }
        if let name = localGroups[authID] { return IdentityDetails(idType: .localGroup, idValue: name) }
        if authID >= nfsUIDBase, authID - nfsUIDBase <= UInt64(UInt32.max) {
            return IdentityDetails(idType: .nfsUID, idValue: String(authID - nfsUIDBase))
        }
        if authID >= nfsGIDBase, authID - nfsGIDBase <= UInt64(UInt32.max) {
            return IdentityDetails(idType: .nfsGID, idValue: String(authID - nfsGIDBase))
        }
        return IdentityDetails(idType: .internal, idValue: String(authID))
    }

    /// The auth id that typed details name, or nil when this API cannot name it (an SMB SID, an unknown local name).
    public static func authID(of details: IdentityDetails) -> UInt64? {
        switch details.idType {
        case .nfsUID: UInt32(details.idValue).map(nfsUID)
        case .nfsGID: UInt32(details.idValue).map(nfsGID)
        case .localUser: localUsers.first { $0.value == details.idValue }?.key ?? UInt64(details.idValue)
        case .localGroup: localGroups.first { $0.value == details.idValue }?.key ?? UInt64(details.idValue)
        case .internal: UInt64(details.idValue)
        case .smbSID, .qumuloOperator, .qumuloSupport: nil
        }
    }
}
