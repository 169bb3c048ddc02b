import Foundation
import QumuloAPI
import Testing

@Suite struct TimestampTests {
    @Test func formatsNineFractionDigitsInUTC() {
        let time = Timestamp(seconds: 1_707_074_988, nanoseconds: 136_708_478)
        #expect(time.rfc3339 == "2024-02-04T19:29:48.136708478Z")
    }

    @Test(arguments: [
        ("2024-02-04T19:29:48.136708478Z", Timestamp(seconds: 1_707_074_988, nanoseconds: 136_708_478)),
        ("2024-01-01T00:00:00Z", Timestamp(seconds: 1_704_067_200)),
        ("2024-01-01T02:00:00.5+02:00", Timestamp(seconds: 1_704_067_200, nanoseconds: 500_000_000)),
        ("1970-01-01T00:00:00.1234567891Z", Timestamp(seconds: 0, nanoseconds: 123_456_789)),
    ])
    func parsesWhatClientsSend(text: String, expected: Timestamp) {
        #expect(Timestamp(rfc3339: text) == expected)
    }

    @Test(arguments: ["", "2024-01-01", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z",
                      "2024-01-01T00:00:00Zjunk", "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
                      "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01:60"])
    func rejectsMalformedTimes(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func roundTripsNegativeNanosecondTotals() {
        let time = Timestamp(totalNanoseconds: -1)
        #expect(time == Timestamp(seconds: -1, nanoseconds: 999_999_999))
        #expect(time.totalNanoseconds == -1)
    }

    @Test func nanosecondTotalsStopAtInt64sRangeWithoutTrapping() throws {
        let last = try #require(Timestamp(rfc3339: "2262-04-11T23:47:16.854775807Z"))
        let first = try #require(Timestamp(rfc3339: "1677-09-21T00:12:43.145224192Z"))
        #expect(last.exactNanoseconds == .max)
        #expect(first.exactNanoseconds == .min)
        for text in ["2262-04-11T23:47:16.854775808Z", "9999-12-31T23:59:59Z", "1677-09-21T00:12:43.145224191Z",
                     "0000-01-01T00:00:00Z"] {
            let time = try #require(Timestamp(rfc3339: text))
            #expect(time.exactNanoseconds == nil, "\(text)")
            #expect(time.totalNanoseconds == (time.seconds < 0 ? .min : .max), "\(text) clamps")
        }
    }
}

@Suite struct ScalarTests {
    @Test func modeIsFourOctalDigits() throws {
        #expect(FileMode(rawValue: 0o644).octal == "0644")
        #expect(FileMode(rawValue: 0o4755).octal == "4755")
        #expect(FileMode(octal: "0755")?.rawValue == 0o755)
        #expect(FileMode(octal: "0888") == nil)
        #expect(FileMode(octal: "17777") == nil)
    }

    struct Holder: Codable, Equatable {
        @DecimalString var size: UInt64
        @OptionalDecimalString var offset: UInt64?
    }

    @Test func sixtyFourBitValuesTravelAsStrings() throws {
        let encoded = try JSONEncoder().encode(Holder(size: UInt64.max, offset: nil))
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"size":"18446744073709551615"}"#)
        let decoded = try JSONDecoder().decode(Holder.self, from: Data(#"{"size":7,"offset":"9"}"#.utf8))
        #expect(decoded == Holder(size: 7, offset: 9))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Holder.self, from: Data(#"{"size":"-1"}"#.utf8))
        }
    }

    @Test func nfsIdentitiesMapIntoTheAuthIDSpace() {
        #expect(AuthID.nfsUID(1000) == 12_884_902_888)
        #expect(AuthID.details(of: 12_884_902_888) == IdentityDetails(idType: .nfsUID, idValue: "1000"))
        #expect(AuthID.details(of: AuthID.nfsGID(100)) == IdentityDetails(idType: .nfsGID, idValue: "100"))
        #expect(AuthID.details(of: 500) == IdentityDetails(idType: .localUser, idValue: "admin"))
        #expect(AuthID.authID(of: IdentityDetails(idType: .nfsGID, idValue: "100")) == AuthID.nfsGID(100))
        #expect(AuthID.authID(of: IdentityDetails(idType: .smbSID, idValue: "S-1-5-32-544")) == nil)
    }
}

@Suite struct RefTests {
    @Test func pathsBecomeOneSegmentLikeTheSDK() {
        #expect(FileRef.path("/a dir/f+x?.txt").encodedSegment == "%2Fa%20dir%2Ff%2Bx%3F.txt")
        #expect(FileRef.path("/").encodedSegment == "%2F")
        #expect(FileRef.id("6981").encodedSegment == "6981")
    }

    @Test func decodedSegmentIsAPathOnlyWithALeadingSlash() {
        #expect(FileRef(encodedSegment: "%2Fa%20dir%2Ff%2Bx%3F.txt") == .path("/a dir/f+x?.txt"))
        #expect(FileRef(encodedSegment: "6981") == .id("6981"))
        #expect(FileRef(encodedSegment: "%2F") == .path("/"))
        #expect(FileRef(encodedSegment: "%2") == nil)
        #expect(FileRef(encodedSegment: "%FF%FE") == nil)
    }

    @Test func encodingRoundTripsEveryByte() {
        let name = "/" + String(decoding: (1 ... 127).map { UInt8($0) }, as: UTF8.self) + "é☃"
        #expect(FileRef(encodedSegment: FileRef.path(name).encodedSegment) == .path(name))
    }
}

@Suite struct PagingTests {
    @Test func entriesEndWithAnEmptyStringAndV3DiffsWithNull() throws {
        let entries = try JSONEncoder().encode(Paging(next: nil, end: .emptyString))
        #expect(try JSONSerialization.jsonObject(with: entries) as? [String: String] == ["next": "", "prev": ""])
        let diffs = String(decoding: try JSONEncoder().encode(Paging(next: nil, end: .null)), as: UTF8.self)
        #expect(diffs == #"{"next":null}"#)
        #expect(!Paging(next: "").hasNext)
        #expect(Paging(next: "/v1/files/2/entries/?after=x").hasNext)
    }

    @Test func attributesRoundTrip() throws {
        let time = Timestamp(seconds: 1_700_000_000, nanoseconds: 1)
        let attributes = FileAttributes(
            id: "6981", name: "a.txt", path: "/dir/a.txt", type: .file, mode: FileMode(rawValue: 0o644),
            owner: AuthID.nfsUID(1000), group: AuthID.usersGroup, size: 1 << 40, blocks: 2, datablocks: 1,
            metablocks: 1, numLinks: 1, childCount: 0, accessTime: time, modificationTime: time, changeTime: time,
            creationTime: time, dataRevision: 3)
        let json = try JSONEncoder().encode(attributes)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["size"] as? String == "1099511627776")
        #expect(object["file_number"] as? String == "6981")
        #expect(object["mode"] as? String == "0644")
        #expect(object["modification_time"] as? String == "2023-11-14T22:13:20.000000001Z")
        #expect(try JSONDecoder().decode(FileAttributes.self, from: json) == attributes)
    }
}
