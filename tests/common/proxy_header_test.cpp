#include "common/proxy_header.h"

#include <cstddef>
#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <string_view>

#include "tests/catch.h"
#include "tests/common/proxy_v2_util.h"

using namespace pisock;
using namespace pisock::proxytest;
using namespace std::string_literals;
using Status = ProxyParse::Status;
using Command = ProxyHeader::Command;

namespace {

// 192.0.2.1:56324 -> 198.51.100.7:7000
const std::string kTcp4Block("\xC0\x00\x02\x01\xC6\x33\x64\x07\xDC\x04\x1B\x58", 12);
// [2001:db8::1]:4000 -> [2001:db8::2]:7000
const std::string kTcp6Block = std::string("\x20\x01\x0D\xB8", 4) + std::string(11, '\0') + "\x01" +
                               std::string("\x20\x01\x0D\xB8", 4) + std::string(11, '\0') + "\x02" +
                               "\x0F\xA0\x1B\x58";

// PP2_TYPE_SSL: client flags, verify (0 = verified), sub-TLVs.
std::string sslTlv(const std::string &subTlvs)
{
    return tlv(0x20, std::string("\x07\x00\x00\x00\x00", 5) + subTlvs);
}

// CRC32c (Castagnoli), bit by bit: independent of the parser's table.
std::uint32_t crc32c(std::string_view bytes)
{
    std::uint32_t crc = 0xFFFFFFFF;
    for (const char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
    }
    return ~crc;
}

// header ends with a PP2_TYPE_CRC32C TLV holding zeros: fill it in.
std::string withCrc(std::string header)
{
    const auto crc = crc32c(header);
    for (int i = 0; i < 4; ++i)
        header[header.size() - 4 + static_cast<std::size_t>(i)] =
                static_cast<char>(crc >> (24 - 8 * i) & 0xFF);
    return header;
}

struct Verdict {
    ProxyParse result;
    std::size_t at = 0; // how many bytes it took to get an answer other than NeedMore
};

// Feeds bytes one at a time, as a slow proxy would, until the parser answers.
Verdict byteByByte(std::string_view bytes)
{
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
        const auto result = parseProxyHeader(bytes.substr(0, n));
        if (result.status != Status::NeedMore)
            return { result, n };
    }
    return { ProxyParse{}, bytes.size() };
}

// What a valid header said; the common name is copied out of the input, which the parser's
// view of it does not outlive.
struct Accepted {
    std::size_t consumed = 0;
    ProxyHeader header; // header.commonName: cleared
    std::string commonName;
};

// A valid header: Done only once its last byte is in, with the same answer byte by byte and
// all at once with the client's first bytes behind it.
Accepted accepted(const std::string &header)
{
    const auto slow = byteByByte(header);
    REQUIRE(slow.result.status == Status::Done);
    CHECK(slow.at == header.size());
    CHECK(slow.result.consumed == header.size());
    const std::string withData = header + "hello\n";
    const auto fast = parseProxyHeader(withData);
    REQUIRE(fast.status == Status::Done);
    CHECK(fast.consumed == header.size());
    CHECK(fast.header.version == slow.result.header.version);
    CHECK(fast.header.command == slow.result.header.command);
    CHECK(formatAddress(fast.header.source) == formatAddress(slow.result.header.source));
    CHECK(formatAddress(fast.header.destination) == formatAddress(slow.result.header.destination));
    CHECK(fast.header.commonName == slow.result.header.commonName);
    const auto &name = fast.header.commonName;
    if (!name.empty()) // a view into the header's own bytes
        CHECK((name.data() >= withData.data() + 16 &&
               name.data() + name.size() <= withData.data() + fast.consumed));
    Accepted result{ fast.consumed, fast.header, std::string(name) };
    result.header.commonName = {};
    return result;
}

// A bad header: Invalid as soon as byte number at is in (NeedMore before), and all at once.
std::string refusedAt(const std::string &bytes, std::size_t at)
{
    const auto slow = byteByByte(bytes);
    REQUIRE(slow.result.status == Status::Invalid);
    CHECK(slow.at == at);
    CHECK_FALSE(slow.result.error.empty());
    CHECK(slow.result.error.find('\n') == std::string_view::npos);
    const auto fast = parseProxyHeader(bytes);
    CHECK(fast.status == Status::Invalid);
    CHECK(fast.error == slow.result.error);
    return std::string(fast.error);
}

// Refused once the whole of bytes is in (the line or the header is complete).
std::string refused(const std::string &bytes)
{
    return refusedAt(bytes, bytes.size());
}

void checkNoAddress(const ProxyHeader &header)
{
    CHECK(header.command == Command::Local);
    CHECK(header.source.family() == AF_UNSPEC);
    CHECK(header.destination.family() == AF_UNSPEC);
    CHECK(header.source.length == 0);
}

} // namespace

TEST_CASE("nothing yet needs more", "[proxy]")
{
    CHECK(parseProxyHeader("").status == Status::NeedMore);
    CHECK(parseProxyHeader("P").status == Status::NeedMore);
    CHECK(parseProxyHeader("\r").status == Status::NeedMore);
}

TEST_CASE("v1 TCP4 gives the client's address", "[proxy][v1]")
{
    const auto r = accepted("PROXY TCP4 192.0.2.1 198.51.100.7 56324 7000\r\n");
    CHECK(r.header.version == 1);
    CHECK(r.header.command == Command::Proxy);
    CHECK(r.header.source.family() == AF_INET);
    CHECK(r.header.source.length == sizeof(sockaddr_in));
    CHECK(formatAddress(r.header.source) == "192.0.2.1:56324");
    CHECK(formatAddress(r.header.destination) == "198.51.100.7:7000");
    CHECK(r.commonName.empty());

    CHECK(formatAddress(accepted("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n")
                                .header.source) == "255.255.255.255:65535");
    CHECK(formatAddress(accepted("PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n").header.source) ==
          "0.0.0.0:0");
}

TEST_CASE("v1 TCP6 gives the client's address", "[proxy][v1]")
{
    const auto r = accepted("PROXY TCP6 2001:db8::1 2001:DB8::2 4000 7000\r\n");
    CHECK(r.header.command == Command::Proxy);
    CHECK(r.header.source.family() == AF_INET6);
    CHECK(r.header.source.length == sizeof(sockaddr_in6));
    CHECK(formatAddress(r.header.source) == "[2001:db8::1]:4000");
    CHECK(formatAddress(r.header.destination) == "[2001:db8::2]:7000");

    // The longest line the protocol allows, 104 bytes.
    const std::string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const std::string longest = "PROXY TCP6 " + full + " " + full + " 65535 65535\r\n";
    REQUIRE(longest.size() == 104);
    CHECK(formatAddress(accepted(longest).header.source) == "[" + full + "]:65535");

    // IPv4-mapped, as a dual-stack proxy writes it: shown (and matched) as IPv4.
    CHECK(formatAddress(accepted("PROXY TCP6 ::ffff:192.0.2.1 ::1 4000 7000\r\n").header.source) ==
          "192.0.2.1:4000");
}

TEST_CASE("v1 UNKNOWN is the proxy's own connection, whatever follows it", "[proxy][v1]")
{
    const auto r = accepted("PROXY UNKNOWN\r\n");
    CHECK(r.consumed == 15);
    CHECK(r.header.version == 1);
    checkNoAddress(r.header);

    // The longest line: 107 bytes with the CRLF.
    const std::string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const std::string longest = "PROXY UNKNOWN " + full + " " + full + " 65535 65535\r\n";
    REQUIRE(longest.size() == kProxyV1MaxLength);
    checkNoAddress(accepted(longest).header);
    checkNoAddress(accepted("PROXY UNKNOWN anything at all, even ::: or \x01\r\n").header);
}

TEST_CASE("v2 LOCAL is the proxy's own connection; its address block is skipped", "[proxy][v2]")
{
    const auto r = accepted(v2(0x20, 0x00, ""));
    CHECK(r.consumed == 16);
    CHECK(r.header.version == 2);
    checkNoAddress(r.header);

    // The length field counts, whatever the family says; the bytes are not read.
    checkNoAddress(accepted(v2(0x20, 0x11, kTcp4Block)).header);
    checkNoAddress(accepted(v2(0x20, 0x00, tlv(0x04, "pad") + "\xFF")).header);
    checkNoAddress(accepted(v2(0x20, 0x31, std::string(216, 'u'))).header);
    CHECK(accepted(v2(0x20, 0x00, std::string(kProxyV2MaxLength - 16, 'x'))).consumed ==
          kProxyV2MaxLength);
}

TEST_CASE("v2 PROXY over TCP4 and TCP6 gives the client's address", "[proxy][v2]")
{
    const auto r4 = accepted(v2(0x21, 0x11, kTcp4Block));
    CHECK(r4.consumed == 28);
    CHECK(r4.header.version == 2);
    CHECK(r4.header.command == Command::Proxy);
    CHECK(r4.header.source.family() == AF_INET);
    CHECK(formatAddress(r4.header.source) == "192.0.2.1:56324");
    CHECK(formatAddress(r4.header.destination) == "198.51.100.7:7000");
    CHECK(r4.commonName.empty());

    const auto r6 = accepted(v2(0x21, 0x21, kTcp6Block));
    CHECK(r6.consumed == 52);
    CHECK(r6.header.source.family() == AF_INET6);
    CHECK(formatAddress(r6.header.source) == "[2001:db8::1]:4000");
    CHECK(formatAddress(r6.header.destination) == "[2001:db8::2]:7000");
}

TEST_CASE("v2 TLVs are skipped and the TLS common name is found", "[proxy][v2]")
{
    const std::string others = tlv(0x01, "h2") + tlv(0x02, "pi.example") + tlv(0x04, "") +
                               tlv(0x05, std::string(128, 'i')) + tlv(0xE0, "custom");
    CHECK(accepted(v2(0x21, 0x11, kTcp4Block + others)).commonName.empty());

    const std::string ssl = sslTlv(tlv(0x21, "TLSv1.3") + tlv(0x22, "client.example") +
                                   tlv(0x23, "TLS_AES_128_GCM_SHA256"));
    const auto r = accepted(v2(0x21, 0x21, kTcp6Block + others + ssl + tlv(0x04, "")));
    CHECK(r.commonName == "client.example");
    CHECK(formatAddress(r.header.source) == "[2001:db8::1]:4000");

    // Raw bytes, as sent: the daemon escapes them for the log.
    const std::string raw("\xE6\xA0\x91\xE8\x8E\x93\n\0x", 9);
    CHECK(accepted(v2(0x21, 0x11, kTcp4Block + sslTlv(tlv(0x22, raw)))).commonName == raw);
    // An SSL TLV without sub-TLVs, or without a common name.
    CHECK(accepted(v2(0x21, 0x11, kTcp4Block + sslTlv(""))).commonName.empty());
    CHECK(accepted(v2(0x21, 0x11, kTcp4Block + sslTlv(tlv(0x21, "TLSv1.2")))).commonName.empty());
}

TEST_CASE("v2 CRC32C is checked when the proxy sends one", "[proxy][v2]")
{
    REQUIRE(crc32c("123456789") == 0xE3069283); // the CRC32c check value
    const std::string header =
            withCrc(v2(0x21, 0x11, kTcp4Block + sslTlv(tlv(0x22, "cn")) + tlv(0x03, "\0\0\0\0"s)));
    CHECK(accepted(header).commonName == "cn");

    std::string corrupt = header;
    corrupt[17] ^= 1; // an address bit
    CHECK(refused(corrupt) == "v2 header: CRC32C mismatch");
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + tlv(0x03, "\0\0\0"s))) ==
          "v2 header: CRC32C TLV is not 4 bytes");
}

TEST_CASE("v2 headers up to the limit are accepted, past it refused at once", "[proxy][v2]")
{
    const std::size_t room = kProxyV2MaxLength - 16 - 12 - 3;
    const auto r = accepted(v2(0x21, 0x11, kTcp4Block + tlv(0x04, std::string(room, 'n'))));
    CHECK(r.consumed == kProxyV2MaxLength);

    // Refused as soon as the length field is in, not after 4 KiB more.
    const std::string over = v2(0x21, 0x11, kTcp4Block + tlv(0x04, std::string(room + 1, 'n')));
    CHECK(refusedAt(over, 16) == "v2 header longer than 4096 bytes");
    std::string largest = kSignature + "\x21\x11\xFF\xFF";
    CHECK(refusedAt(largest, 16) == "v2 header longer than 4096 bytes");
}

TEST_CASE("a first byte that is no PROXY header is refused at once", "[proxy]")
{
    CHECK(refusedAt("GET / HTTP/1.1\r\n", 1) == "not a PROXY protocol header");
    CHECK(refusedAt("hello\n", 1) == "not a PROXY protocol header");
    CHECK(refusedAt("\x16\x03\x01\x02\x00"s, 1) == "not a PROXY protocol header"); // TLS
    CHECK(refusedAt("proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n", 1) ==
          "not a PROXY protocol header");
    CHECK(refusedAt(std::string(1, '\0'), 1) == "not a PROXY protocol header");
}

TEST_CASE("a broken v1 prefix or protocol is refused at the first wrong byte", "[proxy][v1]")
{
    CHECK(refusedAt("PROXX TCP4", 5) == "not a PROXY protocol header");
    CHECK(refusedAt("PROXYTCP4", 6) == "not a PROXY protocol header");
    CHECK(refusedAt("PROXY  TCP4", 7) == "v1 header: protocol is not TCP4, TCP6 or UNKNOWN");
    CHECK(refusedAt("PROXY TCP5 1.2.3.4", 10) ==
          "v1 header: protocol is not TCP4, TCP6 or UNKNOWN");
    CHECK(refusedAt("PROXY UDP4 1.2.3.4", 8) == "v1 header: protocol is not TCP4, TCP6 or UNKNOWN");
    CHECK(refusedAt("PROXY TCP4\r\n", 11) == "v1 header: protocol is not TCP4, TCP6 or UNKNOWN");
    CHECK(refusedAt("PROXY UNKNOWNS\r\n", 14) ==
          "v1 header: protocol is not TCP4, TCP6 or UNKNOWN");
}

TEST_CASE("a partial v1 line needs more; a line without its CRLF in 107 bytes is refused",
          "[proxy][v1]")
{
    const std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 7000";
    CHECK(parseProxyHeader(line).status == Status::NeedMore);
    CHECK(parseProxyHeader(line + "\r").status == Status::NeedMore);
    CHECK(parseProxyHeader("PROXY UNKNOWN ").status == Status::NeedMore);

    // 105 bytes and the CRLF: 107, accepted; one more byte: refused when it comes.
    const std::string at105 = "PROXY UNKNOWN " + std::string(105 - 14, 'x');
    CHECK(accepted(at105 + "\r\n").consumed == 107);
    CHECK(refusedAt(at105 + "x\r\n", 107) == "v1 header longer than 107 bytes");
    CHECK(refusedAt(at105 + "xxxxxxxx", 107) == "v1 header longer than 107 bytes");
    const std::string longTcp6 = "PROXY TCP6 " + std::string(96, '1');
    CHECK(refusedAt(longTcp6 + "\r\n", 107) == "v1 header longer than 107 bytes");
}

TEST_CASE("a v1 line must end with CRLF, not with CR or LF alone", "[proxy][v1]")
{
    const std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 7000";
    CHECK(refused(line + "\n") == "v1 header: LF without CR");
    CHECK(refused(line + "\r\r") == "v1 header: CR without LF");
    CHECK(refused(line + "\rX") == "v1 header: CR without LF");
    CHECK(refusedAt("PROXY UNKNOWN a\nb\r\n", 16) == "v1 header: LF without CR");
}

TEST_CASE("v1 addresses: a character that cannot belong to one is refused when it comes",
          "[proxy][v1]")
{
    CHECK(refused("PROXY TCP4 192.0.2.x") == "v1 header: unexpected character");
    CHECK(refused("PROXY TCP4 :") == "v1 header: unexpected character");
    CHECK(refused("PROXY TCP6 fe80::1%") == "v1 header: unexpected character");
    CHECK(refused("PROXY TCP6 2001:db8::g") == "v1 header: unexpected character");
    CHECK(refused("PROXY TCP4 192.0.2.1\t") == "v1 header: unexpected character");
    CHECK(refused("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 \0"s) ==
          "v1 header: unexpected character");
}

TEST_CASE("v1 addresses and ports have exactly the protocol's syntax", "[proxy][v1]")
{
    const std::string bad4 = "v1 header: bad TCP4 address or port";
    const std::string bad6 = "v1 header: bad TCP6 address or port";
    for (const char *fields : {
                 "192.0.2.01 198.51.100.7 1 2", // leading zero in an address
                 "192.0.2.1 198.51.100.7 01 2", // leading zero in a port
                 "192.0.2.1 198.51.100.7 1 00",
                 "192.0.2.256 198.51.100.7 1 2",
                 "192.0.2.1 198.51.100.7 65536 2",
                 "192.0.2.1 198.51.100.7 1 123456",
                 "192.0.2 198.51.100.7 1 2",
                 "192.0.2.1.5 198.51.100.7 1 2",
                 "192..2.1 198.51.100.7 1 2",
                 ".192.0.2 198.51.100.7 1 2",
                 "192.0.2.1. 198.51.100.7 1 2",
                 "192.0.2.1  198.51.100.7 1 2", // two spaces
                 "192.0.2.1 198.51.100.7 1 2 ", // space before the CRLF
                 " 192.0.2.1 198.51.100.7 1 2",
                 "192.0.2.1 198.51.100.7 1",
                 "192.0.2.1 198.51.100.7 1 2 3",
                 "192.0.2.1 198.51.100.7",
                 "",
         })
        CHECK(refused("PROXY TCP4 "s + fields + "\r\n") == bad4);
    for (const char *fields : {
                 "2001:db8:::1 ::1 1 2",
                 "2001:db8::1::2 ::1 1 2",
                 "1:2:3:4:5:6:7:8:9 ::1 1 2",
                 "12345::1 ::1 1 2",
                 "192.0.2.1 ::1 1 2", // an IPv4 address on a TCP6 line
                 "::1 ::1 01 2",
                 "::1 ::1 1 65536",
                 "::1  ::1 1 2",
                 "::1 ::1 1",
                 "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255.1 ::1 1 2",
         })
        CHECK(refused("PROXY TCP6 "s + fields + "\r\n") == bad6);
}

TEST_CASE("a broken v2 signature is refused at the first wrong byte", "[proxy][v2]")
{
    const std::string header = v2(0x21, 0x11, kTcp4Block);
    for (std::size_t i = 1; i < 12; ++i) {
        std::string broken = header;
        broken[i] ^= 0x40;
        CHECK(refusedAt(broken, i + 1) == "not a PROXY protocol header");
    }
}

TEST_CASE("v2: another version or an unknown command is refused at byte 13", "[proxy][v2]")
{
    for (const unsigned versionCommand : { 0x11U, 0x01U, 0x31U, 0xF1U, 0x10U })
        CHECK(refusedAt(v2(versionCommand, 0x11, kTcp4Block), 13) == "v2 header: version is not 2");
    for (const unsigned versionCommand : { 0x22U, 0x23U, 0x2FU })
        CHECK(refusedAt(v2(versionCommand, 0x11, kTcp4Block), 13) ==
              "v2 header: unknown command (neither LOCAL nor PROXY)");
}

TEST_CASE("v2: an undefined family, or PROXY for other than TCP over IP, is refused at byte 14",
          "[proxy][v2]")
{
    for (const unsigned command : { 0x20U, 0x21U }) {
        for (const unsigned family : { 0x41U, 0xF1U, 0x13U, 0x1FU })
            CHECK(refusedAt(v2(command, family, kTcp4Block), 14) ==
                  "v2 header: undefined address family or transport");
    }
    // UNSPEC, UDP, AF_UNIX and the family-only or transport-only forms: no client address
    // that the ACL and the limits could use.
    for (const unsigned family : { 0x00U, 0x01U, 0x02U, 0x10U, 0x12U, 0x20U, 0x22U, 0x31U, 0x32U })
        CHECK(refusedAt(v2(0x21, family, std::string(216, 'a')), 14) ==
              "v2 header: PROXY for other than TCP over IPv4 or IPv6");
}

TEST_CASE("v2: a length too short for the family's addresses is refused at once", "[proxy][v2]")
{
    CHECK(refusedAt(v2(0x21, 0x11, kTcp4Block.substr(0, 11)), 16) ==
          "v2 header: too short for IPv4 addresses");
    CHECK(refusedAt(v2(0x21, 0x11, ""), 16) == "v2 header: too short for IPv4 addresses");
    CHECK(refusedAt(v2(0x21, 0x21, kTcp6Block.substr(0, 35)), 16) ==
          "v2 header: too short for IPv6 addresses");
    CHECK(refusedAt(v2(0x21, 0x21, kTcp4Block), 16) == "v2 header: too short for IPv6 addresses");
}

TEST_CASE("a partial v2 header needs more, whatever its length says", "[proxy][v2]")
{
    const std::string header = v2(0x21, 0x21, kTcp6Block + sslTlv(tlv(0x22, "cn")));
    for (std::size_t n = 0; n < header.size(); ++n)
        CHECK(parseProxyHeader(std::string_view(header).substr(0, n)).status == Status::NeedMore);
    // A length that announces more than has come: the daemon's timeout ends the wait.
    CHECK(parseProxyHeader(kSignature + "\x21\x11" + be16(4000) + kTcp4Block).status ==
          Status::NeedMore);
}

TEST_CASE("v2 TLVs must lie inside the header's length", "[proxy][v2]")
{
    const std::string past = "v2 header: TLV past the header's length";
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + "\x04")) == past);
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + "\x04\x00"s)) == past);
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + "\x04\x00\x01"s)) == past);
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + tlv(0x01, "h2").substr(0, 4))) == past);
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + tlv(0x04, "") + "\x02\xFF\xFF" + "x")) == past);
    CHECK(refused(v2(0x21, 0x21, kTcp6Block + tlv(0x01, "h2") + "\x20")) == past);
    // An SSL TLV too short for its fixed part, or a sub-TLV past the end of the SSL TLV (even
    // when it would fit in the header).
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + tlv(0x20, "\x01\0\0\0"s))) ==
          "v2 header: SSL TLV shorter than 5 bytes");
    const std::string ssl = sslTlv(tlv(0x22, "client.example"));
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + ssl.substr(0, ssl.size() - 1))) == past);
    std::string shortSsl = sslTlv(tlv(0x22, "client"));
    shortSsl[2] = static_cast<char>(shortSsl[2] - 1); // the SSL TLV ends inside its sub-TLV
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + shortSsl + "x")) ==
          "v2 header: SSL sub-TLV past the end of its TLV");
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + sslTlv("\x22\x00"s))) ==
          "v2 header: SSL sub-TLV past the end of its TLV");
}

TEST_CASE("v2: two TLS common names are refused, not chosen between", "[proxy][v2]")
{
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + sslTlv(tlv(0x22, "a") + tlv(0x22, "b")))) ==
          "v2 header: more than one TLS common name");
    CHECK(refused(v2(0x21, 0x11, kTcp4Block + sslTlv(tlv(0x22, "a")) + sslTlv(tlv(0x22, "a")))) ==
          "v2 header: more than one TLS common name");
}
