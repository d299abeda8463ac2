#include "ws_frame.h"

#include <cstring>
#include <new>

namespace pisock::ws {

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint64_t kMax16 = 0xffff;

// The longest prefix of reason, at most max bytes, that does not end inside a character.
std::string_view cutUtf8(std::string_view reason, std::size_t max) noexcept
{
    if (reason.size() <= max)
        return reason;
    std::size_t n = max;
    // Back off over continuation bytes (10xxxxxx) to the start of the cut character.
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xc0) == 0x80)
        --n;
    return reason.substr(0, n);
}

} // namespace

bool isValidCloseCode(std::uint16_t code) noexcept
{
    if (code >= 3000 && code <= 4999)
        return true;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

void applyMask(char *data, std::size_t n, const Mask &mask, std::size_t offset) noexcept
{
    // The mask as it lines up with data, twice over: one 8-byte word covers 8 bytes.
    std::uint8_t pattern[8];
    for (std::size_t i = 0; i < sizeof pattern; ++i)
        pattern[i] = mask[(offset + i) & 3];
    std::size_t i = 0;
    if (n >= 16) {
        std::uint64_t word;
        std::memcpy(&word, pattern, sizeof word);
        for (; i + 8 <= n; i += 8) {
            std::uint64_t chunk;
            std::memcpy(&chunk, data + i, sizeof chunk);
            chunk ^= word;
            std::memcpy(data + i, &chunk, sizeof chunk);
        }
    }
    for (; i < n; ++i)
        data[i] = static_cast<char>(static_cast<std::uint8_t>(data[i]) ^ pattern[i & 7]);
}

std::size_t headerSize(std::uint64_t length, bool masked) noexcept
{
    const std::size_t extended = length <= kMaxControlPayload ? 0 : length <= kMax16 ? 2 : 8;
    return kMinHeader + extended + (masked ? 4 : 0);
}

std::size_t writeHeader(char *out, Opcode op, std::uint64_t length, bool fin,
                        const Mask *mask) noexcept
{
    auto *p = reinterpret_cast<std::uint8_t *>(out);
    p[0] = static_cast<std::uint8_t>((fin ? kFin : 0) | static_cast<std::uint8_t>(op));
    const std::uint8_t maskBit = mask ? kMaskBit : 0;
    std::size_t n = 2;
    if (length <= kMaxControlPayload) {
        p[1] = static_cast<std::uint8_t>(maskBit | length);
    } else if (length <= kMax16) {
        p[1] = static_cast<std::uint8_t>(maskBit | 126);
        p[2] = static_cast<std::uint8_t>(length >> 8);
        p[3] = static_cast<std::uint8_t>(length);
        n = 4;
    } else {
        p[1] = static_cast<std::uint8_t>(maskBit | 127);
        for (int i = 0; i < 8; ++i)
            p[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        std::memcpy(p + n, mask->data(), mask->size());
        n += mask->size();
    }
    return n;
}

bool Encoder::frame(Buffer &out, Opcode op, std::initializer_list<std::string_view> parts,
                    bool fin) noexcept
{
    std::size_t length = 0;
    for (const auto part : parts)
        length += part.size();
    if (isControl(op) && (length > kMaxControlPayload || !fin))
        return false;
    Mask mask{};
    if (random_)
        mask = random_();
    const std::size_t total = headerSize(length, masks()) + length;
    if (total > out.room())
        return false;
    try {
        const auto span = out.writable(total);
        char *p = span.data();
        p += writeHeader(p, op, length, fin, masks() ? &mask : nullptr);
        std::size_t offset = 0;
        for (const auto part : parts) {
            if (part.empty())
                continue;
            std::memcpy(p, part.data(), part.size());
            if (masks())
                applyMask(p, part.size(), mask, offset);
            p += part.size();
            offset += part.size();
        }
        out.commit(total);
        return true;
    } catch (const std::bad_alloc &) {
        return false;
    }
}

bool Encoder::close(Buffer &out, std::uint16_t code, std::string_view reason) noexcept
{
    if (code == kCloseNoStatus)
        return frame(out, Opcode::Close, {});
    const char bytes[2] = { static_cast<char>(code >> 8), static_cast<char>(code & 0xff) };
    return frame(out, Opcode::Close, { { bytes, 2 }, cutUtf8(reason, kMaxCloseReason) });
}

} // namespace pisock::ws
