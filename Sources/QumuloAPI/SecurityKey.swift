/// A public key in the key store (`/v1/file-system/security/keys/`) that can lock snapshots.
///
/// Keys are ECDSA P-256: `public_key` is base64 of the DER SubjectPublicKeyInfo, and signatures are base64 of
/// DER ECDSA-with-SHA-256 signatures over UTF-8 text.
public struct SecurityKey: Codable, Hashable, Sendable {
    public var id: String
    public var name: String
    public var comment: String
    public var disabled: Bool
    public var publicKey: String

    public init(id: String, name: String, comment: String, disabled: Bool, publicKey: String) {
        self.id = id
        self.name = name
        self.comment = comment
        self.disabled = disabled
        self.publicKey = publicKey
    }

    enum CodingKeys: String, CodingKey {
        case id, name, comment, disabled
        case publicKey = "public_key"
    }
}

/// Adding a key: the owner proves possession by signing the key's name.
public struct AddSecurityKeyRequest: Codable, Sendable {
    public var name: String
    public var publicKey: String
    public var verificationSignature: String
    public var comment: String?

    public init(name: String, publicKey: String, verificationSignature: String, comment: String? = nil) {
        self.name = name
        self.publicKey = publicKey
        self.verificationSignature = verificationSignature
        self.comment = comment
    }

    enum CodingKeys: String, CodingKey {
        case name, comment
        case publicKey = "public_key"
        case verificationSignature = "verification_signature"
    }
}

/// `PATCH` of a key: any of these.
public struct ModifySecurityKeyRequest: Codable, Sendable {
    public var name: String?
    public var comment: String?
    public var disabled: Bool?
}

/// What a key locks, from `GET .../keys/{ref}/usages`.
public struct SecurityKeyUsage: Codable, Hashable, Sendable {
    public var type: String
    public var id: String

    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }
}

public struct SecurityKeyUsages: Codable, Sendable {
    public var usages: [SecurityKeyUsage]
    public var paging: Paging

    public init(usages: [SecurityKeyUsage], paging: Paging) {
        self.usages = usages
        self.paging = paging
    }
}

/// `POST /v3/snapshots/{id}/lock`, and its answer.
public struct SnapshotLockRequest: Codable, Sendable {
    public var lockKeyRef: String

    public init(lockKeyRef: String) {
        self.lockKeyRef = lockKeyRef
    }

    enum CodingKeys: String, CodingKey {
        case lockKeyRef = "lock_key_ref"
    }
}

/// `GET /v3/snapshots/{id}/unlock-challenge`: the text the key's owner signs to unlock.
public struct UnlockChallenge: Codable, Sendable {
    public var challenge: String

    public init(challenge: String) {
        self.challenge = challenge
    }
}

/// `POST /v3/snapshots/{id}/unlock`: base64 of the signature over the challenge.
public struct UnlockRequest: Codable, Sendable {
    public var signature: String

    public init(signature: String) {
        self.signature = signature
    }
}
