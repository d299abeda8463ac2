// libFuzzer target: parseProxyHeader() on arbitrary bytes. Checks, beyond not crashing:
// - every answer consumes no more than it was given;
// - the same answer whatever the split: the parser is given the bytes so far, so a stream
//   split anywhere is a sequence of prefixes. Every prefix before the answer gets NeedMore,
//   the answer comes with the byte that decides it (Done: the header's last byte) and stays
//   the same as more bytes come, up to the whole input;
// - bounded: with kProxyV2MaxLength bytes in, the answer is never NeedMore;
// - Done's consumed is the header's own length (v1: through its first CRLF, at most 107
//   bytes; v2: 16 + its length field), and what it returns is what the header says: v1 TCP4
//   re-written from the result is the line itself, v1 TCP6 and v2 addresses are the header's
//   bytes, v2 TLVs fill the header exactly and the common name is the one among them,
//   LOCAL and UNKNOWN carry no address;
// - Invalid comes with a one-line reason.

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <vector>

#include "common/proxy_header.h"
#include "tests/fuzz/invariant.h"

using namespace pisock;
using pisock::fuzz::check;
using pisock::fuzz::fail;
using Status = ProxyParse::Status;
using Command = ProxyHeader::Command;

namespace {

const std::string_view kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

bool sameAddress(const SocketAddress &a, const SocketAddress &b)
{
    return a.length == b.length && std::memcmp(&a.storage, &b.storage, sizeof(a.storage)) == 0;
}

bool same(const ProxyParse &a, const ProxyParse &b)
{
    return a.status == b.status && a.consumed == b.consumed && a.error == b.error &&
           a.header.version == b.header.version && a.header.command == b.header.command &&
           sameAddress(a.header.source, b.header.source) &&
           sameAddress(a.header.destination, b.header.destination) &&
           a.header.commonName == b.header.commonName;
}

const sockaddr_in &in4(const SocketAddress &a)
{
    return *reinterpret_cast<const sockaddr_in *>(&a.storage);
}

const sockaddr_in6 &in6(const SocketAddress &a)
{
    return *reinterpret_cast<const sockaddr_in6 *>(&a.storage);
}

std::string text4(const SocketAddress &a)
{
    std::array<char, INET_ADDRSTRLEN> text{};
    ::inet_ntop(AF_INET, &in4(a).sin_addr, text.data(), text.size());
    return text.data();
}

// The line's four fields after "PROXY TCP6 " name the result's addresses and ports.
void checkV1Tcp6(std::string_view line, const ProxyHeader &h)
{
    std::array<std::string, 4> fields;
    std::size_t field = 0;
    for (const char c : line.substr(11, line.size() - 11 - 2)) { // between the word and CRLF
        if (c == ' ')
            check(++field < fields.size(), "v1 TCP6: more than four fields");
        else
            fields[field] += c;
    }
    check(field == 3, "v1 TCP6: fewer than four fields");
    in6_addr source{};
    in6_addr destination{};
    check(::inet_pton(AF_INET6, fields[0].c_str(), &source) == 1 &&
                  std::memcmp(&source, &in6(h.source).sin6_addr, 16) == 0,
          "v1 TCP6: source address");
    check(::inet_pton(AF_INET6, fields[1].c_str(), &destination) == 1 &&
                  std::memcmp(&destination, &in6(h.destination).sin6_addr, 16) == 0,
          "v1 TCP6: destination address");
    check(fields[2] == std::to_string(ntohs(in6(h.source).sin6_port)) &&
                  fields[3] == std::to_string(ntohs(in6(h.destination).sin6_port)),
          "v1 TCP6: ports");
}

void checkV1(std::string_view line, const ProxyHeader &h)
{
    check(line.size() <= kProxyV1MaxLength, "v1 longer than 107 bytes");
    check(line.starts_with("PROXY ") && line.ends_with("\r\n"), "v1 framing");
    check(line.find_first_of("\r\n") == line.size() - 2, "v1 ends at its first CR");
    if (h.command == Command::Local) {
        check(line.starts_with("PROXY UNKNOWN"), "v1 Local is UNKNOWN");
        return;
    }
    if (line.starts_with("PROXY TCP4 ")) {
        check(h.source.family() == AF_INET && h.destination.family() == AF_INET, "TCP4 family");
        // The syntax is strict: one way to write each value, so the result writes the line.
        const std::string again = "PROXY TCP4 " + text4(h.source) + " " + text4(h.destination) +
                                  " " + std::to_string(ntohs(in4(h.source).sin_port)) + " " +
                                  std::to_string(ntohs(in4(h.destination).sin_port)) + "\r\n";
        check(again == line, "v1 TCP4 written back differs");
        return;
    }
    check(line.starts_with("PROXY TCP6 "), "v1 Proxy is TCP4 or TCP6");
    check(h.source.family() == AF_INET6 && h.destination.family() == AF_INET6, "TCP6 family");
    checkV1Tcp6(line, h);
}

struct Tlv {
    unsigned type;
    std::string_view value;
};

// The TLVs in block, which they must fill exactly, one after the other.
std::vector<Tlv> splitTlvs(std::string_view block)
{
    std::vector<Tlv> tlvs;
    while (!block.empty()) {
        check(block.size() >= 3, "a TLV head past the end");
        const auto high = static_cast<unsigned char>(block[1]);
        const auto low = static_cast<unsigned char>(block[2]);
        const std::size_t length = static_cast<std::size_t>(high) << 8 | low;
        check(block.size() - 3 >= length, "a TLV value past the end");
        tlvs.push_back({ static_cast<unsigned char>(block[0]), block.substr(3, length) });
        block.remove_prefix(3 + length);
    }
    return tlvs;
}

// The value of the common name (sub-TLV 0x22 of an SSL TLV, 0x20, after its 5 fixed bytes)
// among the TLVs in block, if any.
std::string_view commonNameIn(std::string_view block)
{
    std::string_view commonName;
    for (const auto &tlv : splitTlvs(block)) {
        if (tlv.type != 0x20)
            continue;
        check(tlv.value.size() >= 5, "an SSL TLV without its fixed part");
        for (const auto &sub : splitTlvs(tlv.value.substr(5))) {
            if (sub.type != 0x22)
                continue;
            check(commonName.data() == nullptr, "two common names");
            commonName = sub.value;
        }
    }
    return commonName;
}

void checkV2(std::string_view in, const ProxyParse &r)
{
    check(in.size() >= 16 && in.substr(0, 12) == kSignature, "v2 signature");
    const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(in[at]); };
    check(r.consumed == 16 + (static_cast<std::size_t>(byte(14)) << 8 | byte(15)),
          "v2 consumed is not 16 + its length field");
    check(r.consumed <= kProxyV2MaxLength, "v2 longer than the maximum");
    check(byte(12) >> 4 == 2, "v2 version");
    const auto &h = r.header;
    if (h.command == Command::Local) {
        check((byte(12) & 0xF) == 0, "v2 Local is LOCAL");
        return;
    }
    check((byte(12) & 0xF) == 1, "v2 Proxy is PROXY");
    const char *block = in.data() + 16;
    if (byte(13) == 0x11) {
        check(r.consumed >= 28, "v2 TCP4 too short");
        check(h.source.family() == AF_INET && h.destination.family() == AF_INET, "v2 TCP4 family");
        check(std::memcmp(&in4(h.source).sin_addr, block, 4) == 0 &&
                      std::memcmp(&in4(h.destination).sin_addr, block + 4, 4) == 0 &&
                      std::memcmp(&in4(h.source).sin_port, block + 8, 2) == 0 &&
                      std::memcmp(&in4(h.destination).sin_port, block + 10, 2) == 0,
              "v2 TCP4 addresses differ from the header's");
    } else {
        check(byte(13) == 0x21 && r.consumed >= 52, "v2 Proxy is TCP4 or TCP6");
        check(h.source.family() == AF_INET6 && h.destination.family() == AF_INET6,
              "v2 TCP6 family");
        check(std::memcmp(&in6(h.source).sin6_addr, block, 16) == 0 &&
                      std::memcmp(&in6(h.destination).sin6_addr, block + 16, 16) == 0 &&
                      std::memcmp(&in6(h.source).sin6_port, block + 32, 2) == 0 &&
                      std::memcmp(&in6(h.destination).sin6_port, block + 34, 2) == 0,
              "v2 TCP6 addresses differ from the header's");
    }
    const std::size_t addresses = byte(13) == 0x11 ? 12 : 36;
    const auto commonName = commonNameIn(in.substr(16 + addresses, r.consumed - 16 - addresses));
    check(h.commonName.data() == commonName.data() && h.commonName.size() == commonName.size(),
          "v2 common name is not the header's");
}

void checkDone(std::string_view in, const ProxyParse &r)
{
    const auto &h = r.header;
    if (h.command == Command::Local) {
        check(h.source.family() == AF_UNSPEC && h.source.length == 0 &&
                      h.destination.family() == AF_UNSPEC && h.destination.length == 0,
              "Local carries an address");
        check(h.commonName.empty(), "Local carries a common name");
    } else {
        check(formatAddress(h.source) != "unknown", "Proxy source cannot be formatted");
    }
    if (h.version == 1) {
        check(h.commonName.empty(), "v1 carries a common name");
        checkV1(in.substr(0, r.consumed), h);
    } else {
        check(h.version == 2, "version is 1 or 2");
        checkV2(in, r);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view in(reinterpret_cast<const char *>(data), size);
    const auto whole = parseProxyHeader(in);
    check(whole.consumed <= size, "consumed past the input");
    check(size < kProxyV2MaxLength || whole.status != Status::NeedMore,
          "NeedMore with the maximum in");

    // Prefixes up to the answer, then a few beyond it: the parser is stateless, so these are
    // all the ways the same bytes can arrive.
    std::size_t answeredAt = 0;
    ProxyParse answer;
    for (std::size_t n = 0; n <= size; ++n) {
        const auto r = parseProxyHeader(in.substr(0, n));
        check(r.consumed <= n, "consumed past the prefix");
        if (answer.status == Status::NeedMore) {
            if (r.status == Status::NeedMore)
                continue;
            answer = r;
            answeredAt = n;
            check(r.status != Status::Done || r.consumed == n, "Done later than its last byte");
            continue;
        }
        check(same(r, answer), "a longer prefix changed the answer");
        if (n > answeredAt + 3)
            break;
    }
    check(answer.status == Status::NeedMore ? whole.status == Status::NeedMore
                                            : same(whole, answer),
          "the whole input and its prefixes disagree");

    if (whole.status == Status::Done)
        checkDone(in, whole);
    if (whole.status == Status::Invalid)
        check(!whole.error.empty() && whole.error.find('\n') == std::string_view::npos,
              "Invalid without a one-line reason");
    if (whole.status != Status::Done)
        check(whole.consumed == 0, "consumed without Done");
    return 0;
}
